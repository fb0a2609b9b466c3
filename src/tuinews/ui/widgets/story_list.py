"""The story list: a Line-API widget that only ever holds the rows it shows.

The list can hold 100,000 stories. It knows only how many there are (one ``count`` query) and
asks the store for pages of :data:`PAGE_SIZE` rows as the viewport needs them, keeping a few pages
in an LRU cache. The page after a cached page is read by keyset continuation (its cost does not
grow with the position); a jump (``G``, a click on the scrollbar) reads its page by OFFSET.
Model: Textualize/toolong ``log_lines.py``.

Each story is :data:`ROW_HEIGHT` lines, laid out by :func:`layout_row` from a
:class:`StoryRow` (the row's parts: marks, headline, source, age, and a suffix and indent for
rows that fold an event's other reports). Row ``i`` covers lines ``2i`` and ``2i + 1``.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tuinews.core.models import Story
from tuinews.core.store import Store, StoryFilter
from tuinews.core.text import clean_text

PAGE_SIZE = 100
"""Rows per store query."""
CACHED_PAGES = 8
"""Pages kept in the LRU cache."""
ROW_HEIGHT = 2
"""Lines per story: the title gets two, the source and age columns sit at the end of the second."""
MARKS_WIDTH = 3
"""The unread mark, the star and a space: each mark has its own cell, so neither hides the
other."""
AGE_WIDTH = 6
"""The age column ("5m", "23h", "Nov 03", "2019"), right-aligned."""
SOURCE_MIN_WIDTH = 28
"""Narrower than this, a row shows no source column (the title needs every cell)."""

Clock = Callable[[], datetime]
"""What the widgets ask for the current time (UTC-aware); tests freeze it."""


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def story_age(published: datetime | None, now: datetime | None = None) -> str:
    """A short age for a story ("5m", "3h", "2d", "Mar 04", "2019")."""
    if published is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - published).total_seconds()
    if seconds < 0:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)}d"
    if published.year == now.year:
        return published.strftime("%b %d")
    return str(published.year)


def source_width(width: int) -> int:
    """The source column's width in a list ``width`` cells wide (the same in every view, so
    the columns line up whatever the list shows)."""
    if width < SOURCE_MIN_WIDTH:
        return 0
    return min(20, max(8, (width - MARKS_WIDTH) // 3))


@dataclass(frozen=True, slots=True)
class StoryRow:
    """What one row of the story list shows, before it is laid out."""

    title: str
    """The headline, cleaned (untrusted text made plain)."""
    source: str = ""
    """The feed's name, for the source column."""
    age: str = ""
    """A short age ("3h"), for the age column."""
    unread: bool = False
    """Draws the unread mark (first cell) and the title in bold."""
    starred: bool = False
    """Draws the star (second cell)."""
    suffix: str = ""
    """Dim text after the headline (e.g. "+2 sources" for an event folded into one row)."""
    indent: int = 0
    """Extra cells before the marks (child rows under a folded event)."""


@dataclass(frozen=True, slots=True)
class RowStyles:
    """The styles of a row's parts (from the widget's component classes)."""

    unread: Style = Style(bold=True)
    read: Style = Style(dim=True)
    meta: Style = Style(dim=True)
    star: Style = Style(color="yellow")


def _split_title(title: str, first: int) -> tuple[str, str]:
    """Cut ``title`` after the last word that fits in ``first`` cells (mid-word only when a
    single word is longer than the line)."""
    if cell_len(title) <= first:
        return title, ""
    fits = set_cell_size(title, first)
    cut = fits.rfind(" ")
    if cut > first // 3:
        return title[:cut], title[cut + 1 :]
    return fits, title[len(fits) :]


def layout_row(row: StoryRow, width: int, styles: RowStyles = RowStyles()) -> list[Text]:
    """The :data:`ROW_HEIGHT` lines of one row, each exactly ``width`` cells.

    Line 1: unread mark, star, the headline. Line 2: the rest of the headline (cut with an
    ellipsis), the suffix, then the source and age columns, right-aligned so they line up from
    row to row and view to view.
    """
    title_style = styles.unread if row.unread else styles.read
    pad = " " * row.indent
    first = Text(no_wrap=True, overflow="ellipsis")
    first.append(pad)
    first.append("●" if row.unread else " ", title_style)
    first.append("★" if row.starred else " ", styles.star)
    first.append(" ")
    lead = row.indent + MARKS_WIDTH
    head, rest = _split_title(row.title, max(1, width - lead))
    first.append(head, title_style)
    first.truncate(width, overflow="ellipsis", pad=True)

    columns = Text(no_wrap=True)
    src_width = source_width(width)  # the list's width: an indented row keeps the columns
    if src_width:
        source = (
            row.source
            if cell_len(row.source) <= src_width
            else (set_cell_size(row.source, src_width - 1) + "…")
        )
        columns.append(" " + set_cell_size(source, src_width), styles.meta)
    columns.append(" " + row.age.rjust(AGE_WIDTH)[-AGE_WIDTH:], styles.meta)
    second = Text(no_wrap=True, overflow="ellipsis")
    second.append(" " * lead)
    room = max(0, width - lead - columns.cell_len)
    # The suffix is never the part cut off: the rest of the headline makes room for it.
    suffix = Text(row.suffix, styles.meta) if row.suffix else Text()
    if suffix.cell_len > room:
        suffix.truncate(room, overflow="ellipsis")
    middle = Text(no_wrap=True, overflow="ellipsis")
    if rest:
        middle.append(rest, title_style)
        middle.truncate(max(0, room - suffix.cell_len - (1 if suffix else 0)), overflow="ellipsis")
        if suffix:
            middle.append(" ")
    middle.append_text(suffix)
    middle.truncate(room, overflow="ellipsis", pad=True)
    second.append_text(middle)
    second.append_text(columns)
    second.truncate(width, pad=True)
    return [first, second]


class StoryList(ScrollView, can_focus=True):
    """The stories of one filter, newest first, two lines each (see :func:`layout_row`),
    with a cursor."""

    COMPONENT_CLASSES = {
        "story-list--cursor",
        "story-list--unread",
        "story-list--read",
        "story-list--meta",
        "story-list--star",
    }

    DEFAULT_CSS = """
    StoryList {
        background: $surface;
        overflow-x: hidden;
    }
    StoryList > .story-list--cursor {
        background: $block-cursor-blurred-background;
    }
    StoryList:focus > .story-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    StoryList > .story-list--unread {
        text-style: bold;
    }
    StoryList > .story-list--read {
        color: $text-muted;
    }
    StoryList > .story-list--meta {
        color: $text-muted;
    }
    StoryList > .story-list--star {
        color: $warning;
    }
    """

    BINDINGS = [
        Binding("down", "cursor_down", "Down", show=False, id="list_down"),
        Binding("up", "cursor_up", "Up", show=False, id="list_up"),
        Binding("home", "first", "First story", show=False, id="list_first"),
        Binding("end", "last", "Last story", show=False, id="list_last"),
        Binding("enter", "select", "Open", id="list_open"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """The row of the highlighted story."""

    class Highlighted(Message):
        """The cursor moved to another story."""

        def __init__(self, story_list: StoryList, story: Story | None, index: int) -> None:
            super().__init__()
            self.story_list = story_list
            """The list that sent this."""
            self.story = story
            """The highlighted story (None for an empty list)."""
            self.index = index
            """Its row number."""

        @property
        def control(self) -> StoryList:
            return self.story_list

    class Selected(Message):
        """The user chose a story (Enter or a click on the highlighted row)."""

        def __init__(self, story_list: StoryList, story: Story, index: int) -> None:
            super().__init__()
            self.story_list = story_list
            """The list that sent this."""
            self.story = story
            """The chosen story."""
            self.index = index
            """Its row number."""

        @property
        def control(self) -> StoryList:
            return self.story_list

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utc_now,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._store = store
        self._clock = clock
        self.filter = StoryFilter()
        """Which stories the list shows."""
        self.count = 0
        """How many stories the filter holds."""
        self._pages: OrderedDict[int, list[Story]] = OrderedDict()
        self._loaded = False
        self.queries = 0
        """Store queries made (for tests and the log): each is one page, never the whole list."""

    # -- data ----------------------------------------------------------------------------

    def set_filter(self, flt: StoryFilter, *, keep_story: int | None = None) -> None:
        """Show another list (a feed, Unread, Starred, a search) from its first row.

        Args:
            flt: the new filter.
            keep_story: put the cursor on this story if the new list holds it.
        """
        self.filter = flt
        self.reload(keep_story=keep_story, reset=True)

    def reload(self, *, keep_story: int | None = None, reset: bool = False) -> None:
        """Re-read the count and drop cached pages (after a refresh or a change of filter).

        Args:
            keep_story: the story the cursor should stay on (default: the current one).
            reset: start from the top unless ``keep_story`` is found.
        """
        current = None if reset else self.current_story
        target = keep_story if keep_story is not None else (current.id if current else None)
        old_cursor = 0 if reset else self.cursor
        self._pages.clear()
        self.count = self._store.count_stories(self.filter)
        self._loaded = True
        self.virtual_size = Size(self.size.width, self.count * ROW_HEIGHT)
        index = None
        if target is not None:
            index = self._store.index_of(target, self.filter)
            if index is not None and index < self.count:
                found = self.story_at(index)
                if found is None or found.id != target:
                    index = None  # the story is not in this list
        if index is None or index >= self.count:
            index = min(old_cursor, max(0, self.count - 1))
        self.cursor = index
        self.refresh()

    def _page(self, number: int) -> list[Story]:
        page = self._pages.get(number)
        if page is not None:
            self._pages.move_to_end(number)
            return page
        previous = self._pages.get(number - 1)
        self.queries += 1
        if previous and len(previous) == PAGE_SIZE and not self.filter.search:
            # Keyset continuation: as cheap at row 99,900 as at row 100.
            after = self._store.sort_position(previous[-1].id)
            page = self._store.list_stories(self.filter, limit=PAGE_SIZE, after=after)
        else:
            page = self._store.list_stories(self.filter, limit=PAGE_SIZE, offset=number * PAGE_SIZE)
        self._pages[number] = page
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)
        return page

    def story_at(self, index: int) -> Story | None:
        """The story on row ``index`` (read from the cache or one page query)."""
        if index < 0 or index >= self.count:
            return None
        page = self._page(index // PAGE_SIZE)
        offset = index % PAGE_SIZE
        return page[offset] if offset < len(page) else None

    @property
    def current_story(self) -> Story | None:
        """The story under the cursor."""
        return self.story_at(self.cursor) if self._loaded else None

    def mark(self, story_id: int, **changes: bool) -> None:
        """Change the read/starred marks of a cached row."""
        for page in self._pages.values():
            for i, row in enumerate(page):
                if row.id == story_id:
                    page[i] = dataclasses.replace(row, **changes)
                    self.refresh()
                    return

    def go_to_story(self, story_id: int) -> bool:
        """Move the cursor to a story of this list; False when the list does not hold it."""
        # index_of counts the rows before the story's position; it does not check that the
        # story passes the filter, so the row found must be the story itself.
        for attempt in range(2):
            index = self._store.index_of(story_id, self.filter)
            if index is None or index >= self.count:
                return False
            story = self.story_at(index)
            if story is not None and story.id == story_id:
                self.cursor = index
                return True
            if attempt == 0:
                # The cached pages may be stale (a story just left the Unread list).
                self._pages.clear()
                self.count = self._store.count_stories(self.filter)
                self.virtual_size = Size(self.size.width, self.count * ROW_HEIGHT)
        return False

    # -- cursor ----------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.count - 1)) if self.count else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_story, new))

    def scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height or ROW_HEIGHT
        top = int(self.scroll_y)
        first_line = self.cursor * ROW_HEIGHT
        last_line = first_line + ROW_HEIGHT - 1
        if first_line < top:
            self.scroll_to(y=first_line, animate=False, immediate=True)
        elif last_line >= top + height:
            self.scroll_to(y=last_line - height + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    @property
    def rows_per_page(self) -> int:
        """Whole rows that fit in the viewport."""
        return max(1, self.scrollable_content_region.height // ROW_HEIGHT)

    def action_page_down(self) -> None:
        self.cursor += max(1, self.rows_per_page - 1)

    def action_page_up(self) -> None:
        self.cursor -= max(1, self.rows_per_page - 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, self.count - 1)

    def action_select(self) -> None:
        story = self.current_story
        if story is not None:
            self.post_message(self.Selected(self, story, self.cursor))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.count * ROW_HEIGHT)
        self.scroll_to_cursor()

    async def on_click(self, event: events.Click) -> None:
        row = (int(self.scroll_y) + event.y) // ROW_HEIGHT
        if 0 <= row < self.count:
            if row == self.cursor or event.chain > 1:
                self.cursor = row
                self.action_select()
            else:
                self.cursor = row

    # -- rendering -------------------------------------------------------------------------

    def row_styles(self) -> RowStyles:
        """The CSS styles of the row parts (the theme's colours)."""
        return RowStyles(
            unread=self.get_component_rich_style("story-list--unread", partial=True),
            read=self.get_component_rich_style("story-list--read", partial=True),
            meta=self.get_component_rich_style("story-list--meta", partial=True),
            star=self.get_component_rich_style("story-list--star", partial=True),
        )

    def story_row(self, story: Story) -> StoryRow:
        """The parts one story's row shows."""
        return StoryRow(
            title=clean_text(story.title) or "(untitled)",
            source=clean_text(story.feed_title),
            age=story_age(story.published, self._clock()),
            unread=not story.read,
            starred=story.starred,
        )

    def row_lines(self, story: Story, width: int) -> list[Text]:
        """The :data:`ROW_HEIGHT` lines of one story's row, each ``width`` cells."""
        return layout_row(self.story_row(story), width, self.row_styles())

    def row_text(self, story: Story, width: int) -> Text:
        """One row as a single Text, its lines joined by newlines (for tests and logs)."""
        return Text("\n").join(self.row_lines(story, width))

    def plain_row(self, index: int) -> str:
        """What row ``index`` shows, as plain text, lines joined by newlines."""
        story = self.story_at(index)
        width = self.scrollable_content_region.width or 80
        return self.row_text(story, width).plain if story else ""

    @property
    def visible_indices(self) -> range:
        """The rows with at least one line on screen."""
        top = int(self.scroll_y)
        height = self.scrollable_content_region.height
        first = top // ROW_HEIGHT
        last = (top + height - 1) // ROW_HEIGHT if height else first - 1
        return range(first, min(last + 1, self.count))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line_number = int(self.scroll_y) + y
        index, line = divmod(line_number, ROW_HEIGHT)
        base = self.rich_style
        if not self._loaded or index >= self.count:
            if line_number == 0 and self._loaded and self.count == 0:
                text = Text(" no stories here", style=base + Style(dim=True))
                text.truncate(width, pad=True)
                return Strip(list(text.render(self.app.console)), width)
            return Strip.blank(width, base)
        story = self.story_at(index)
        if story is None:
            return Strip.blank(width, base)
        text = self.row_lines(story, width)[line]
        overlay = (
            self.get_component_rich_style("story-list--cursor") if index == self.cursor else None
        )
        segments = [
            # The cursor colours go on top of the marks' colours; other rows sit on the
            # widget's own background.
            Segment(seg.text, (base + seg.style + overlay) if overlay else base + seg.style)
            if seg.style
            else Segment(seg.text, base + overlay if overlay else base)
            for seg in text.render(self.app.console)
        ]
        return Strip(segments, width).crop_extend(0, width, base + overlay if overlay else base)
