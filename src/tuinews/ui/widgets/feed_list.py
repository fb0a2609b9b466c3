"""The subscriptions: All, Unread and Starred, then every feed with its unread count.

A Line-API widget: the entries are plain data and only the visible rows are rendered, so a
thousand subscriptions cost no more to show than ten (an ``OptionList`` lays out every option
and made start-up with 1,000 feeds a third slower). A feed whose last refresh failed carries a
mark; the error of the highlighted feed shows under the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

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


class FeedList(ScrollView, can_focus=True):
    """All / Unread / Starred and the subscriptions, with unread counts."""

    COMPONENT_CLASSES = {
        "feed-list--cursor",
        "feed-list--special",
        "feed-list--count",
        "feed-list--error",
    }

    DEFAULT_CSS = """
    FeedList {
        background: $surface;
        overflow-x: hidden;
    }
    FeedList > .feed-list--cursor {
        background: $block-cursor-blurred-background;
    }
    FeedList:focus > .feed-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    FeedList > .feed-list--special {
        text-style: bold;
    }
    FeedList > .feed-list--count {
        color: $text-muted;
    }
    FeedList > .feed-list--error {
        color: $error;
        text-style: bold;
    }
    """

    BINDINGS = [
        Binding("down", "cursor_down", "Down", show=False, id="feeds_down"),
        Binding("up", "cursor_up", "Up", show=False, id="feeds_up"),
        Binding("home", "first", "First feed", show=False, id="feeds_first"),
        Binding("end", "last", "Last feed", show=False, id="feeds_last"),
        Binding("enter", "select", "Show stories", show=False, id="feeds_open"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """The row of the highlighted entry."""

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
        """Enter (or a click) on an entry: move to its stories."""

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
        super().__init__(id=id, classes=classes)
        self.choices: list[FeedChoice] = []
        """The entries, in display order."""
        self._counts: list[int] = []
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
        special = {"all": sum(f.unread for f in feeds), "unread": unread, "starred": starred}
        self.choices = choices
        self._counts = [c.feed.unread if c.feed else special[c.key] for c in choices]
        self.virtual_size = Size(self.size.width, len(choices))
        index = next((i for i, c in enumerate(choices) if c.key == keep), 0)
        # Only a change of entry is news: rebuilding the list after a refresh is not.
        self._announced = choices[index].key
        self.cursor = index
        self.refresh(layout=True)

    @property
    def labels(self) -> list[str]:
        """Every entry as shown, plain text ("Loop News (3)")."""
        return [self._row(i).plain for i in range(len(self.choices))]

    @property
    def highlighted(self) -> int | None:
        """The row of the highlighted entry (None when empty)."""
        return self.cursor if self.choices else None

    @highlighted.setter
    def highlighted(self, index: int | None) -> None:
        self.cursor = index or 0

    @property
    def current(self) -> FeedChoice | None:
        """The highlighted entry."""
        if not self.choices or not 0 <= self.cursor < len(self.choices):
            return None
        return self.choices[self.cursor]

    def select_key(self, key: str, *, announce: bool = True) -> bool:
        """Highlight the entry with this key; False when there is none.

        Args:
            key: the entry's key.
            announce: post :class:`Chosen` (the screen then shows its stories); off when the
                caller shows them itself.
        """
        for i, choice in enumerate(self.choices):
            if choice.key == key:
                if not announce:
                    self._announced = key
                self.cursor = i
                return True
        return False

    def move(self, step: int) -> None:
        """Highlight the next (``step`` > 0) or previous feed, wrapping around."""
        if self.choices:
            self.cursor = (self.cursor + step) % len(self.choices)

    # -- cursor ----------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.choices) - 1)) if self.choices else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        current = self.current
        if current is not None and current.key != self._announced:
            self._announced = current.key
            self.post_message(self.Chosen(self, current))

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height or 1
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.choices) - 1)

    def action_select(self) -> None:
        if self.current is not None:
            self.post_message(self.Activated(self, self.current))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.choices))
        self._scroll_to_cursor()

    async def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y
        if 0 <= row < len(self.choices):
            self.cursor = row
            self.action_select()

    # -- rendering -------------------------------------------------------------------------

    def _row(self, index: int) -> Text:
        choice = self.choices[index]
        text = Text(no_wrap=True, overflow="ellipsis")
        if choice.feed is None:
            text.append(choice.label, self.get_component_rich_style("feed-list--special"))
        else:
            if choice.feed.last_error:
                text.append("! ", self.get_component_rich_style("feed-list--error"))
            text.append(choice.label)
        if self._counts[index]:
            count_style = self.get_component_rich_style("feed-list--count", partial=True)
            text.append(f" ({self._counts[index]})", count_style)
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        if index >= len(self.choices):
            return Strip.blank(width, base)
        text = self._row(index)
        text.truncate(width, overflow="ellipsis", pad=True)
        overlay = (
            self.get_component_rich_style("feed-list--cursor") if index == self.cursor else None
        )
        segments = [
            Segment(seg.text, (base + seg.style + overlay) if overlay else base + seg.style)
            if seg.style
            else Segment(seg.text, base + overlay if overlay else base)
            for seg in text.render(self.app.console)
        ]
        return Strip(segments, width).crop_extend(0, width, base + overlay if overlay else base)
