"""The related-stories sidebar: items grouped as "same story elsewhere", "from this page" and
"more on this topic", each a title over a dim "age · source" line (one line, cut to the
width), a rule between items. Why an item is related (its shared key terms, "linked from this
page") shows on demand. On a narrow screen the screen shows it as a drawer over the article."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tuinews.core.models import RelatedStory
from tuinews.core.text import clean_text

from .story_list import Clock, story_age, utc_now

GROUPS = (
    ("same", "Same story elsewhere"),
    ("page", "From this page"),
    ("topic", "More on this topic"),
)


HINT = Text("Open a story to see what is related to it.", style="dim")


class RelatedSidebar(Vertical):
    """Related stories of the open story; Enter opens one."""

    COMPONENT_CLASSES = {
        "related-sidebar--heading",
        "related-sidebar--meta",
        "related-sidebar--reason",
    }

    DEFAULT_CSS = """
    RelatedSidebar > .related-sidebar--heading {
        color: $accent;
        text-style: bold;
    }
    RelatedSidebar > .related-sidebar--meta {
        color: $text-muted;
    }
    RelatedSidebar > .related-sidebar--reason {
        color: $text-muted;
        text-style: italic;
    }
    """

    show_reasons: var[bool] = var(False)
    """Show under every item why it is related."""

    class Chosen(Message):
        """The user chose a related item."""

        def __init__(self, item: RelatedStory) -> None:
            super().__init__()
            self.item = item
            """The chosen item (``story_id`` is set when it is in the cache)."""

    def __init__(
        self, *, clock: Clock = utc_now, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock
        self._related: list[RelatedStory] | None = None
        self.items: list[RelatedStory | None] = [None]
        """One entry per option (None for group headings and notes)."""
        self.story_id: int | None = None
        """The story these items relate to."""

    def compose(self) -> ComposeResult:
        yield Static(Text("Related", style="bold"), id="related-title", markup=False)
        yield OptionList(Option(HINT, disabled=True), id="related-options", markup=False)

    @property
    def options(self) -> OptionList:
        return self.query_one("#related-options", OptionList)

    @property
    def highlighted_item(self) -> RelatedStory | None:
        """The item under the sidebar's cursor, if any."""
        index = self.options.highlighted
        if index is None or not 0 <= index < len(self.items):
            return None
        return self.items[index]

    def clear(self) -> None:
        """No story open: only a hint."""
        self.story_id = None
        self._related = None
        self.items = [None]
        self.options.set_options([Option(HINT, disabled=True)])

    def show_loading(self, story_id: int) -> None:
        self.story_id = story_id
        self._related = None
        self.items = [None]
        loading = Text("finding related stories…", style="dim")
        self.options.set_options([Option(loading, disabled=True)])

    def show_items(self, story_id: int, items: list[RelatedStory]) -> None:
        """Show the related items of ``story_id`` grouped, in the groups' order."""
        self.story_id = story_id
        self._related = list(items)
        self._render_items()

    def watch_show_reasons(self) -> None:
        if self._related is not None:
            self._render_items(keep_highlight=True)

    def _render_items(self, *, keep_highlight: bool = False) -> None:
        related = self._related or []
        heading_style = self._style("heading", Style(bold=True))
        content: list[Option | None] = []
        entries: list[RelatedStory | None] = []
        for group, heading in GROUPS:
            members = [item for item in related if item.group == group]
            if not members:
                continue
            # A blank line above every heading but the first sets the groups apart.
            text = Text("\n" if entries else "")
            text.append(heading, style=heading_style)
            content.append(Option(text, disabled=True))
            entries.append(None)
            for i, item in enumerate(members):
                content.append(Option(self.item_text(item)))
                entries.append(item)
                if i < len(members) - 1:
                    content.append(None)  # a rule between the items of a group
        if not entries:
            empty = Text("nothing related in the cache", style="dim")
            content.append(Option(empty, disabled=True))
            entries.append(None)
        options = self.options
        highlighted = options.highlighted if keep_highlight else None
        self.items = entries
        options.set_options(content)
        if highlighted is not None and highlighted < len(entries):
            options.highlighted = highlighted
        elif options.has_focus:
            self.highlight_first()

    def show_error(self, story_id: int, message: str) -> None:
        self.story_id = story_id
        self._related = None
        self.items = [None]
        text = Text("related stories failed: ", style="red")
        text.append(clean_text(message))
        self.options.set_options([Option(text, disabled=True)])

    def item_text(self, item: RelatedStory) -> Text:
        """The title (wrapped), then a dim "age · source" line that never wraps: the age comes
        first and a long source is cut with an ellipsis, so neither the age nor the rule under
        the item is lost in a narrow sidebar. Then why, when reasons are shown."""
        text = Text(clean_text(item.title) or clean_text(item.url) or "(untitled)")
        meta = self.meta_line(item)
        if meta:
            text.append("\n")
            text.append(meta, style=self._style("meta", Style(dim=True)))
        if self.show_reasons and item.reason:
            text.append("\n")
            text.append(
                f"why: {clean_text(item.reason)}",
                style=self._style("reason", Style(dim=True, italic=True)),
            )
        return text

    def meta_line(self, item: RelatedStory) -> str:
        """ "9d · The Harbour Herald", cut to the sidebar's width (one line)."""
        age = (
            story_age(item.published, self._clock())
            if item.published
            else clean_text(item.published_text)
        )
        meta = [age] if age else []
        if item.source:
            meta.append(clean_text(item.source))
        if item.story_id is None:
            meta.append("not cached")
        line = " · ".join(meta)
        width = self._item_width()
        if width and cell_len(line) > width:
            line = set_cell_size(line, width - 1) + "…"
        return line

    def _item_width(self) -> int:
        """The cells an option's text gets (0 before the first layout: no cut)."""
        if not self.is_mounted:
            return 0
        options = self.options
        padding = options.get_component_styles("option-list--option").padding
        return max(0, options.scrollable_content_region.width - padding.width)

    def focus_items(self) -> None:
        """Focus the items with the first one highlighted (Enter opens it at once)."""
        self.options.focus()
        self.highlight_first()

    def highlight_first(self) -> None:
        """Highlight the first item that can be opened, unless one is highlighted already."""
        options = self.options
        if options.highlighted is not None:
            return
        for index, item in enumerate(self.items):
            if item is not None:
                options.highlighted = index
                return

    def on_descendant_focus(self) -> None:
        self.highlight_first()

    def on_resize(self) -> None:
        # The meta lines are cut to the width: lay them out again for the new one.
        if self._related is not None:
            self._render_items(keep_highlight=True)

    def _style(self, name: str, fallback: Style) -> Style:
        # Before the widget is mounted there are no CSS styles to read (tests, item_text).
        if not self.is_mounted:
            return fallback
        return self.get_component_rich_style(f"related-sidebar--{name}", partial=True)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self.items) and self.items[index] is not None:
            item = self.items[index]
            assert item is not None
            self.post_message(self.Chosen(item))
