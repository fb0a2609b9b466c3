"""The subscriptions: All, Unread and Starred, then every feed with its unread count.

A few hundred feeds at most, so an ``OptionList`` is the right tool here (the story list is the
one that must scale). A feed whose last refresh failed carries a mark; the error of the
highlighted feed shows under the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuinews.core.models import Feed
from tuinews.core.store import StoryFilter
from tuinews.core.text import clean_text


@dataclass(frozen=True, slots=True)
class FeedChoice:
    """One entry of the feed list: a virtual list or a feed."""

    key: str
    """"all", "unread", "starred" or "feed:<id>"."""
    label: str
    filter: StoryFilter
    feed: Feed | None = None


SPECIAL = ("all", "unread", "starred")


class FeedList(OptionList):
    """All / Unread / Starred and the subscriptions, with unread counts."""

    class Chosen(Message):
        """The highlighted entry changed: show its stories."""

        def __init__(self, feed_list: FeedList, choice: FeedChoice) -> None:
            super().__init__()
            self.feed_list = feed_list
            """The list that sent this."""
            self.choice = choice
            """The entry now highlighted."""

        @property
        def control(self) -> FeedList:
            return self.feed_list

    class Activated(Message):
        """Enter on an entry: move to its stories."""

        def __init__(self, feed_list: FeedList, choice: FeedChoice) -> None:
            super().__init__()
            self.feed_list = feed_list
            """The list that sent this."""
            self.choice = choice
            """The entry activated."""

        @property
        def control(self) -> FeedList:
            return self.feed_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self.choices: list[FeedChoice] = []
        """The entries, in display order."""
        self._announced: str | None = None

    def show_feeds(
        self, feeds: list[Feed], *, unread: int, starred: int, keep: str | None = None
    ) -> None:
        """Replace the entries, keeping the highlight on ``keep`` (a choice key) if present."""
        keep = keep or (self.current.key if self.current else "all")
        choices = [
            FeedChoice("all", "All", StoryFilter()),
            FeedChoice("unread", "Unread", StoryFilter(unread=True)),
            FeedChoice("starred", "Starred", StoryFilter(starred=True)),
        ]
        choices += [
            FeedChoice(f"feed:{f.id}", clean_text(f.title) or f.url, StoryFilter(feed_id=f.id), f)
            for f in feeds
        ]
        counts = {"all": sum(f.unread for f in feeds), "unread": unread, "starred": starred}
        options: list[Option] = []
        for choice in choices:
            prompt = Text(no_wrap=True, overflow="ellipsis")
            if choice.feed is None:
                prompt.append(choice.label, style="bold")
                count = counts[choice.key]
            else:
                feed = choice.feed
                if feed.last_error:
                    prompt.append("! ", style="bold red")
                prompt.append(choice.label)
                count = feed.unread
            if count:
                prompt.append(f" ({count})", style="dim")
            options.append(Option(prompt, id=choice.key))
        self.choices = choices
        self.set_options(options)
        index = next((i for i, c in enumerate(choices) if c.key == keep), 0)
        # Only a change of entry is news: rebuilding the list after a refresh is not.
        self._announced = choices[index].key
        self.highlighted = index

    @property
    def current(self) -> FeedChoice | None:
        """The highlighted entry."""
        if self.highlighted is None or not self.choices:
            return None
        if self.highlighted >= len(self.choices):
            return None
        return self.choices[self.highlighted]

    def select_key(self, key: str) -> bool:
        """Highlight the entry with this key; False when there is none."""
        for i, choice in enumerate(self.choices):
            if choice.key == key:
                self.highlighted = i
                return True
        return False

    def move(self, step: int) -> None:
        """Highlight the next (``step`` > 0) or previous feed, wrapping around."""
        if not self.choices:
            return
        index = ((self.highlighted or 0) + step) % len(self.choices)
        self.highlighted = index

    def _on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        current = self.current
        if current is None or current.key == self._announced:
            return
        self._announced = current.key
        self.post_message(self.Chosen(self, current))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.current is not None:
            self.post_message(self.Activated(self, self.current))
