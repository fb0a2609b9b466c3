"""The subscriptions: All, Unread and Starred, the saved searches, then the folders (collapsible,
with their unread counts) and every feed with its unread count.

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
    """One entry of the feed list: a virtual list, a saved search, a folder or a feed."""

    key: str
    """"all", "unread", "starred", "saved:<id>", "folder:<name>" or "feed:<id>"."""
    label: str
    filter: StoryFilter
    feed: Feed | None = None
    depth: int = 0
    """How deep in folders the entry sits (its indentation)."""
    folder: str | None = None
    """For a folder entry: its full name ("News/Local")."""
    saved_id: int | None = None
    """For a saved search: its id."""


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A saved search as the feed pane shows it."""

    id: int
    name: str
    query: str
    unread: int


SPECIAL = ("all", "unread", "starred")


def _folder_tree(feeds: list[Feed]) -> list[tuple[str, list[Feed]]]:
    """The folders in display order, as events: ``(name, [])`` opens a folder ("News", and
    "News/Local" inside it), ``("", its feeds)`` closes the folder opened last. A folder's
    subfolders come before its own feeds."""
    names: set[str] = set()
    by_folder: dict[str, list[Feed]] = {}
    for f in feeds:
        if f.folder:
            by_folder.setdefault(f.folder, []).append(f)
            parts = f.folder.split("/")
            names.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    children: dict[str | None, list[str]] = {}
    for name in names:
        parent = name.rsplit("/", 1)[0] if "/" in name else None
        children.setdefault(parent, []).append(name)
    out: list[tuple[str, list[Feed]]] = []

    def key(name: str) -> str:
        return name.rsplit("/", 1)[-1].lower()

    def emit(name: str) -> None:
        out.append((name, []))
        for child in sorted(children.get(name, []), key=key):
            emit(child)
        out.append(("", by_folder.get(name, [])))

    for top in sorted(children.get(None, []), key=key):
        emit(top)
    return out


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
        Binding("left", "collapse", "Close folder", show=False, id="feeds_collapse"),
        Binding("right", "expand", "Open folder", show=False, id="feeds_expand"),
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

    class FoldersChanged(Message):
        """A folder was collapsed or expanded (the screen remembers which are closed)."""

        def __init__(self, feed_list: FeedList, collapsed: set[str]) -> None:
            super().__init__()
            self.feed_list = feed_list
            """The list that sent this."""
            self.collapsed = collapsed
            """The folders now closed."""

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
        """The entries shown, in display order (a collapsed folder's are left out)."""
        self._counts: list[int] = []
        self._every: list[tuple[FeedChoice, int]] = []
        self.collapsed: set[str] = set()
        """The folders shown closed."""
        self._announced: str | None = None

    def show_feeds(
        self,
        feeds: list[Feed],
        *,
        unread: int,
        starred: int,
        keep: str | None = None,
        saved: list[SavedSearch] | None = None,
    ) -> None:
        """Replace the entries, keeping the highlight on ``keep`` (a choice key) if present."""
        keep = keep or (self.current.key if self.current else "all")
        every: list[tuple[FeedChoice, int]] = [
            (FeedChoice("all", "All", StoryFilter()), sum(f.unread for f in feeds)),
            (FeedChoice("unread", "Unread", StoryFilter(unread=True)), unread),
            (FeedChoice("starred", "Starred", StoryFilter(starred=True)), starred),
        ]
        every += [
            (
                FeedChoice(
                    f"saved:{s.id}",
                    clean_text(s.name),
                    StoryFilter(query=s.query),
                    saved_id=s.id,
                ),
                s.unread,
            )
            for s in saved or []
        ]
        totals: dict[str, int] = {}  # a folder's unread count, its subfolders' included
        for f in feeds:
            if f.folder:
                parts = f.folder.split("/")
                for i in range(len(parts)):
                    prefix = "/".join(parts[: i + 1])
                    totals[prefix] = totals.get(prefix, 0) + f.unread
        depths: list[int] = []
        for name, members in _folder_tree(feeds):
            if not name:  # the feeds of the folder that just ended
                depth = depths.pop()
                every += [(self._feed_choice(f, depth + 1), f.unread) for f in members]
                continue
            depth = name.count("/")
            depths.append(depth)
            count = totals.get(name, 0)
            label = clean_text(name.rsplit("/", 1)[-1])
            every.append(
                (
                    FeedChoice(
                        f"folder:{name}", label, StoryFilter(folder=name), depth=depth, folder=name
                    ),
                    count,
                )
            )
        every += [(self._feed_choice(f, 0), f.unread) for f in feeds if not f.folder]
        self._every = every
        self._layout(keep)

    @staticmethod
    def _feed_choice(feed: Feed, depth: int) -> FeedChoice:
        return FeedChoice(
            f"feed:{feed.id}",
            clean_text(feed.title) or feed.url,
            StoryFilter(feed_id=feed.id),
            feed,
            depth=depth,
        )

    @staticmethod
    def _inside(choice: FeedChoice, folder: str) -> bool:
        """True when the entry sits (at any depth) inside ``folder``."""
        own = (
            choice.folder
            if choice.folder is not None
            else (choice.feed.folder if choice.feed else None)
        )
        if own is None or choice.key == f"folder:{folder}":
            return False
        return own == folder or own.startswith(folder + "/")

    def _layout(self, keep: str | None) -> None:
        """The visible entries: everything but what collapsed folders hold."""
        visible = [
            (c, n) for c, n in self._every if not any(self._inside(c, f) for f in self.collapsed)
        ]
        choices = [c for c, _ in visible]
        self.choices = choices
        self._counts = [n for _, n in visible]
        self.virtual_size = Size(self.size.width, len(choices))
        index = next((i for i, c in enumerate(choices) if c.key == keep), 0)
        # Only a change of entry is news: rebuilding the list after a refresh is not.
        self._announced = choices[index].key
        self.cursor = index
        self.refresh()

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
        """Highlight the next (``step`` > 0) or previous list, wrapping around: the virtual
        lists, saved searches and feeds in folder order. Folder entries are passed over, and a
        feed inside a collapsed folder opens its folder."""
        lists = [c for c, _ in self._every if c.folder is None]
        if not lists:
            return
        current = self.current
        keys = [c.key for c in lists]
        if current is not None and current.key in keys:
            index = (keys.index(current.key) + step) % len(lists)
        elif current is not None and current.folder is not None:
            # On a folder: the first feed after it (or the last one before it).
            position = next(i for i, (c, _) in enumerate(self._every) if c.key == current.key)
            after = [c for c, _ in self._every[position + 1 :] if c.folder is None]
            before = [c for c, _ in self._every[:position] if c.folder is None]
            target = (
                (after[0] if after else lists[0])
                if step > 0
                else (before[-1] if before else lists[-1])
            )
            index = keys.index(target.key)
        else:
            index = 0
        target = lists[index]
        opened = {f for f in self.collapsed if self._inside(target, f)}
        if opened:
            self.collapsed -= opened
            self._layout(current.key if current else None)
            self.post_message(self.FoldersChanged(self, set(self.collapsed)))
        self.select_key(target.key)

    def toggle_folder(self, open_: bool | None = None) -> bool:
        """Close or open the highlighted folder (``open_`` None: toggle it). On a feed inside
        a folder, closing closes that folder. False when there is no folder here."""
        current = self.current
        if current is None:
            return False
        folder = current.folder
        if folder is None:
            if open_ is not True and current.feed is not None and current.feed.folder:
                folder, open_ = current.feed.folder, False
            else:
                return False
        before = current.key
        is_open = folder not in self.collapsed
        want_open = (not is_open) if open_ is None else open_
        if want_open != is_open:
            if want_open:
                self.collapsed.discard(folder)
            else:
                self.collapsed.add(folder)
            self._layout(before)
            if self.current is not None and self.current.key != before:
                self._layout(f"folder:{folder}")  # the feed went into its folder: go there
                self._announced = before
                self.post_message(self.Chosen(self, self.current))
            self.post_message(self.FoldersChanged(self, set(self.collapsed)))
        return True

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

    def action_collapse(self) -> None:
        self.toggle_folder(open_=False)

    def action_expand(self) -> None:
        self.toggle_folder(open_=True)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.choices))
        self._scroll_to_cursor()

    async def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_y) + event.y
        if 0 <= row < len(self.choices):
            choice = self.choices[row]
            self.cursor = row
            if choice.folder is not None and event.x <= 2 * choice.depth + 1:
                self.toggle_folder()  # a click on the folder's arrow opens or closes it
                return
            self.action_select()

    # -- rendering -------------------------------------------------------------------------

    def _row(self, index: int) -> Text:
        choice = self.choices[index]
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("  " * choice.depth)
        if choice.folder is not None:
            arrow = "▸ " if choice.folder in self.collapsed else "▾ "
            text.append(arrow + choice.label, self.get_component_rich_style("feed-list--special"))
        elif choice.saved_id is not None:
            text.append("⌕ " + choice.label, self.get_component_rich_style("feed-list--special"))
        elif choice.feed is None:
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
