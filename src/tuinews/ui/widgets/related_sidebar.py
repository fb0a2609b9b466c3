"""The related-stories sidebar: items grouped as "same story elsewhere", "linked from this
page" and "more on this topic", each with its title, source and age."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tuinews.core.models import RelatedStory
from tuinews.core.text import clean_text

from .story_list import story_age

GROUPS = (
    ("same", "Same story elsewhere"),
    ("page", "Linked from this page"),
    ("topic", "More on this topic"),
)


class RelatedSidebar(Vertical):
    """Related stories of the open story; Enter opens one."""

    class Chosen(Message):
        """The user chose a related item."""

        def __init__(self, item: RelatedStory) -> None:
            super().__init__()
            self.item = item
            """The chosen item (``story_id`` is set when it is in the cache)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.items: list[RelatedStory | None] = []
        """One entry per option (None for group headings)."""
        self.story_id: int | None = None
        """The story these items relate to."""

    def compose(self) -> ComposeResult:
        yield Static(Text("Related", style="bold"), id="related-title", markup=False)
        yield OptionList(id="related-options", markup=False)

    @property
    def options(self) -> OptionList:
        return self.query_one("#related-options", OptionList)

    def show_loading(self, story_id: int) -> None:
        self.story_id = story_id
        self.items = []
        loading = Text("finding related stories…", style="dim")
        self.options.set_options([Option(loading, disabled=True)])

    def show_items(self, story_id: int, items: list[RelatedStory]) -> None:
        """Show the related items of ``story_id`` grouped, in the groups' order."""
        self.story_id = story_id
        options: list[Option] = []
        entries: list[RelatedStory | None] = []
        for group, heading in GROUPS:
            members = [item for item in items if item.group == group]
            if not members:
                continue
            options.append(Option(Text(heading, style="bold underline"), disabled=True))
            entries.append(None)
            for item in members:
                options.append(Option(self.item_text(item)))
                entries.append(item)
        if not options:
            empty = Text("nothing related in the cache", style="dim")
            options.append(Option(empty, disabled=True))
            entries.append(None)
        self.items = entries
        self.options.set_options(options)

    def show_error(self, story_id: int, message: str) -> None:
        self.story_id = story_id
        self.items = [None]
        text = Text("related stories failed: ", style="red")
        text.append(clean_text(message))
        self.options.set_options([Option(text, disabled=True)])

    @staticmethod
    def item_text(item: RelatedStory) -> Text:
        text = Text(clean_text(item.title) or clean_text(item.url) or "(untitled)")
        meta = [clean_text(item.source)] if item.source else []
        age = story_age(item.published) if item.published else clean_text(item.published_text)
        if age:
            meta.append(age)
        if item.story_id is None:
            meta.append("not cached")
        if meta:
            text.append("\n")
            text.append(" · ".join(meta), style="dim")
        return text

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self.items) and self.items[index] is not None:
            item = self.items[index]
            assert item is not None
            self.post_message(self.Chosen(item))
