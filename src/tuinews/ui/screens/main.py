"""The main screen: feeds and stories on the left, the article in the middle, related stories on
the right, a status line at the bottom.

This screen owns the workers. Everything slow (refresh, article fetches, related stories, adding
and removing feeds, export, the first-run samples) runs in a thread worker calling the blocking
:class:`~tuinews.core.service.Service`; the worker reports back with the messages nested in this
class and never touches a widget. Quick store reads (a page of stories, counts, a flag change)
run on the UI thread: they are single indexed queries.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from tuinews.core.errors import FetchError, TuinewsError
from tuinews.core.models import Article, Feed, RelatedStory, Story
from tuinews.core.service import FeedResult, RefreshSummary, Service, feed_address
from tuinews.core.store import CleanupReport, StoryFilter
from tuinews.core.text import clean_text, is_safe_url
from tuinews.core.vault import BatchExport

from ..widgets.article_view import ArticleState, ArticleView
from ..widgets.feed_list import FeedChoice, FeedList, SavedSearch
from ..widgets.footer import ReaderFooter
from ..widgets.related_sidebar import RelatedSidebar
from ..widgets.status_line import StatusLine
from ..widgets.story_list import Clock, StoryList, utc_now
from .dialogs import ConfirmDialog, InputDialog

if TYPE_CHECKING:
    from tuinews.core.sync.engine import SyncSummary

    from ..app import TuinewsApp

log = logging.getLogger(__name__)

FeedSnapshot = tuple[list[Feed], int, int, list[SavedSearch]]
"""What the feed pane shows: the feeds, the Unread and Starred counts, the saved searches."""

POSITION_KEY = "ui.position"
LIST_WIDTH_KEY = "ui.list_width"
SIDEBAR_MIN_WIDTH = 100
"""Below this many columns the related sidebar hides unless asked for, and then floats over
the article (a drawer) instead of squeezing it."""
SHORT_HEIGHT = 30
"""Below this many lines the feed list gets a fixed share (All, Unread, Starred, four feeds)."""
LIST_STEP = 4
"""Columns one `<` / `>` takes from or gives to the story list."""
LIST_MIN_WIDTH = 24
ARTICLE_MIN_WIDTH = 30
"""The story list never grows past the point where the article has fewer columns than this."""
HISTORY_LIMIT = 50
KEEP_IN_VIEW = 200
"""Stories read in an unread list that it keeps showing (the newest ones)."""
RELOAD_INTERVAL = 0.25
"""During a refresh the lists are re-read at most this often (seconds)."""
SYNC_RELOAD_INTERVAL = 1.0
"""During a sync the lists are re-read at most this often (seconds)."""
PUSH_INTERVAL = 30.0
"""How often the app looks for local changes to send to the sync server (seconds)."""
PUSH_RETRY = 300.0
"""After a failed sync, local changes wait this long before the app tries by itself."""
COLLAPSED_KEY = "ui.collapsed_folders"
VAULT_DIR_KEY = "ui.vault_dir"
"""The notes folder the list in view was last exported to (the first time: [export] dir)."""


FAILURES = {
    "add-feed": "Could not add the feed",
    "remove-feed": "Could not remove the feed",
    "export": "Export failed",
    "refresh": "The refresh stopped",
    "article": "Could not load the article",
    "related": "Could not find related stories",
    "link": "Could not open the page",
    "sync": "The sync stopped",
}
"""What failed, in words, for each worker group."""


def failure_message(group: str, error: BaseException | None) -> str:
    """A worker's failure as the user reads it: what failed, then why (and what to do, where
    the core's message says it). Never an internal name."""
    what = FAILURES.get(group, "Something went wrong")
    if isinstance(error, TuinewsError):
        return f"{what}: {clean_text(error.message)}"
    detail = clean_text(str(error)) if error is not None else ""
    suffix = f" ({detail})" if detail else ""
    return f"{what}: an unexpected error{suffix}. The log file has the details."


class MainScreen(Screen[None]):
    """The reader."""

    BINDINGS = [
        Binding("j", "next_story", "Next", id="next_story"),
        Binding("k", "previous_story", "Previous", id="previous_story"),
        Binding("n", "next_unread", "Next unread", id="next_unread"),
        Binding("p", "previous_unread", "Prev unread", show=False, id="previous_unread"),
        Binding("tab", "next_pane", "Next pane", show=False, id="next_pane"),
        Binding("shift+tab", "previous_pane", "Previous pane", show=False, id="previous_pane"),
        # Priority: the lists would otherwise take PageDown/PageUp for themselves.
        Binding(
            "space,pagedown",
            "scroll_article_down",
            "Scroll",
            show=False,
            priority=True,
            id="scroll_down",
        ),
        Binding("b,pageup", "scroll_up", "Scroll up", show=False, priority=True, id="scroll_up"),
        Binding("g", "top", "Top", show=False, id="top"),
        Binding("G", "bottom", "Bottom", show=False, id="bottom"),
        Binding("right_square_bracket", "next_feed", "Next feed", show=False, id="next_feed"),
        Binding(
            "left_square_bracket", "previous_feed", "Prev feed", show=False, id="previous_feed"
        ),
        Binding("o", "open_browser", "Browser", show=False, id="open_browser"),
        Binding("y", "copy_link", "Copy link", show=False, id="copy_link"),
        Binding("s", "toggle_star", "Star", id="toggle_star"),
        Binding("m", "toggle_read", "Read/unread", show=False, id="toggle_read"),
        Binding("r", "refresh_feed", "Refresh", id="refresh_feed"),
        Binding("R", "refresh_all", "Refresh all", show=False, id="refresh_all"),
        Binding("e", "export", "Export", show=False, id="export"),
        Binding("slash", "search", "Search", id="search"),
        Binding("a", "add_feed", "Add feed", show=False, id="add_feed"),
        Binding("d", "remove_feed", "Remove feed", show=False, id="remove_feed"),
        Binding("A", "mark_all_read", "Mark all read", show=False, id="mark_all_read"),
        Binding("u", "undo_mark", "Undo mark all read", show=False, id="undo_mark"),
        Binding("S", "save_search", "Save search", show=False, id="save_search"),
        Binding("z", "toggle_folder", "Fold folder", show=False, id="toggle_folder"),
        Binding("F", "move_to_folder", "Move feed to folder", show=False, id="move_to_folder"),
        Binding("E", "export_list", "Export list", show=False, id="export_list"),
        Binding("backslash", "toggle_sidebar", "Sidebar", show=False, id="toggle_sidebar"),
        Binding("greater_than_sign", "widen_list", "Wider list", show=False, id="widen_list"),
        Binding("less_than_sign", "narrow_list", "Narrower list", show=False, id="narrow_list"),
        Binding("w", "why_related", "Why related", show=False, id="why_related"),
        Binding("backspace", "back", "Back", show=False, id="back"),
        Binding(
            "escape",
            "cancel",
            "Close the sidebar / stop refresh / clear search",
            show=False,
            id="cancel",
        ),
    ]

    sidebar_shown: var[bool | None] = var(None)
    """The user's choice for the sidebar (None: automatic, by width)."""
    list_width: var[int | None] = var(None)
    """The feed and story pane's width in columns, as the user set it (None: by the layout)."""

    # -- messages from the workers -------------------------------------------------------

    class RefreshProgress(Message):
        """A feed of a refresh is done. Later progress replaces earlier progress."""

        def __init__(self, done: int, total: int, failed: int, result: FeedResult) -> None:
            super().__init__()
            self.done = done
            """Feeds done so far."""
            self.total = total
            """Feeds in this refresh."""
            self.failed = failed
            """Feeds that failed so far."""
            self.result = result
            """What happened to the feed just done."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, MainScreen.RefreshProgress)

    class RefreshDone(Message):
        """A refresh (or the first-run samples) finished."""

        def __init__(self, summary: RefreshSummary, label: str) -> None:
            super().__init__()
            self.summary = summary
            """What the refresh did."""
            self.label = label
            """What was refreshed ("all feeds", a feed's title, "the samples")."""

    class SyncProgress(Message):
        """The sync moved on (issue 16). Later progress replaces earlier progress."""

        def __init__(self, phase: str, done: int, total: int) -> None:
            super().__init__()
            self.phase = phase
            """"sending", "feeds", "items" or "state"."""
            self.done = done
            """Steps of the phase done."""
            self.total = total
            """Steps of the phase (0: not known yet)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, MainScreen.SyncProgress)

    class SyncDone(Message):
        """A sync finished (``summary``) or failed (``error``); None when there is no account."""

        def __init__(self, summary: SyncSummary | None, error: str | None) -> None:
            super().__init__()
            self.summary = summary
            """What the sync did."""
            self.error = error
            """Why it failed (one line), else None."""

    class ArticleFetched(Message):
        """A story's full text arrived (or the page had none: ``article.error``)."""

        def __init__(self, story_id: int, article: Article) -> None:
            super().__init__()
            self.story_id = story_id
            """The story."""
            self.article = article
            """Its article as fetched and extracted."""

    class ImagesReady(Message):
        """A story's images were fetched (or read from the cache) and decoded."""

        def __init__(self, story_id: int, images: list[tuple[str, Any]]) -> None:
            super().__init__()
            self.story_id = story_id
            """The story."""
            self.images = images
            """(URL, decoded image) in the order of the article."""

    class ArticleFailed(Message):
        """A story's page could not be fetched."""

        def __init__(self, story_id: int, error: str) -> None:
            super().__init__()
            self.story_id = story_id
            """The story."""
            self.error = error
            """Why (user-facing, untrusted: may quote a server)."""

    class RelatedFound(Message):
        """Related stories of a story were computed."""

        def __init__(self, story_id: int, items: list[RelatedStory]) -> None:
            super().__init__()
            self.story_id = story_id
            """The story they relate to."""
            self.items = items
            """The related items, grouped by ``group``."""

    class LinkFetched(Message):
        """A related page outside the cache was fetched and kept (a "Linked pages" story)."""

        def __init__(self, from_story_id: int | None, story: Story, article: Article) -> None:
            super().__init__()
            self.from_story_id = from_story_id
            """The story that was open when the page was asked for."""
            self.story = story
            """The page, now a story of the "Linked pages" feed."""
            self.article = article
            """Its extracted text."""

    class LinkFailed(Message):
        """A related page outside the cache could not be fetched."""

        def __init__(self, url: str, error: str) -> None:
            super().__init__()
            self.url = url
            """The page's address (untrusted)."""
            self.error = error
            """Why (user-facing, untrusted)."""

    class FeedAdded(Message):
        """A subscription was added and fetched."""

        def __init__(self, feed: Feed, new: int) -> None:
            super().__init__()
            self.feed = feed
            """The new feed."""
            self.new = new
            """How many stories it brought."""

    class FeedRemoved(Message):
        """A subscription was removed."""

        def __init__(self, feed_id: int, title: str) -> None:
            super().__init__()
            self.feed_id = feed_id
            """The removed feed's id."""
            self.title = title
            """Its title (untrusted)."""

    class Exported(Message):
        """Stories were written as Markdown files."""

        def __init__(self, paths: list[Path]) -> None:
            super().__init__()
            self.paths = paths
            """The files written."""

    class ScheduledProgress(Message):
        """A feed of the background refresh is done. Later progress replaces earlier."""

        def __init__(
            self, done: int, total: int, failed: int, snapshot: FeedSnapshot | None = None
        ) -> None:
            super().__init__()
            self.done = done
            """Feeds done so far."""
            self.total = total
            """Feeds in this refresh."""
            self.failed = failed
            """Feeds that failed so far."""
            self.snapshot = snapshot
            """The feed pane's data, read by the worker (None: nothing to show yet)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, MainScreen.ScheduledProgress) and (
                message.snapshot is None or self.snapshot is not None
            )

    class ScheduledDone(Message):
        """A background (scheduled) refresh finished."""

        def __init__(
            self, feeds: int, new: int, failed: int, snapshot: FeedSnapshot | None = None
        ) -> None:
            super().__init__()
            self.snapshot = snapshot
            """The feed pane's data after it, read by the worker."""
            self.feeds = feeds
            """Feeds refreshed (0: none was due)."""
            self.new = new
            """New stories stored."""
            self.failed = failed
            """Feeds that failed."""

    class CleanupDone(Message):
        """The daily retention cleanup finished."""

        def __init__(self, report: CleanupReport) -> None:
            super().__init__()
            self.report = report
            """What it removed."""

    class ListMarked(Message):
        """Every unread story of a list was marked read (or that was undone)."""

        def __init__(self, ids: list[int], read: bool, label: str) -> None:
            super().__init__()
            self.ids = ids
            """The stories changed."""
            self.read = read
            """True: marked read; False: the undo."""
            self.label = label
            """Which list (untrusted: may be a feed's title)."""

    class ListExported(Message):
        """The stories of a list were exported to a notes folder."""

        def __init__(self, report: BatchExport, directory: Path) -> None:
            super().__init__()
            self.report = report
            """What was written and skipped."""
            self.directory = directory
            """The folder."""

    # -- set-up ----------------------------------------------------------------------------

    def __init__(
        self,
        service: Service,
        *,
        load_samples: bool = False,
        clock: Clock = utc_now,
        timezone: tzinfo | None = None,
    ) -> None:
        super().__init__(id="main")
        self.service = service
        self._load_samples = load_samples
        self._clock = clock
        self._timezone = timezone
        self._last_reload = 0.0
        self._reload_timer: Timer | None = None
        self.list_reloads = 0
        """How often the lists were re-read (the refresh throttle's tests read it)."""
        self._history: list[int] = []
        self._cancel_refresh: threading.Event | None = None
        self._cancel_sync: threading.Event | None = None
        self._sync_failed_at = -1e9
        self._search_query: str | None = None
        self._cancel_scheduled: threading.Event | None = None
        self._cancel_cleanup: threading.Event | None = None
        self._undo: tuple[list[int], str] | None = None
        self.schedule_checks = 0
        """How often the schedule was looked at (tests)."""
        self._pin_top = load_samples
        """While the samples load, a list the reader has not moved keeps its cursor on the
        first (newest) story instead of following the story that was first before."""

    @property
    def tuinews_app(self) -> TuinewsApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            with Vertical(id="feed-pane"):
                yield FeedList(id="feeds")
                yield Static(Text(""), id="feed-error", markup=False)
                yield StoryList(self.service.store, clock=self._clock, id="stories")
            yield ArticleView(timezone=self._timezone, id="article")
            yield RelatedSidebar(clock=self._clock, id="related")
        yield StatusLine(id="status")
        yield ReaderFooter(id="footer")

    @property
    def feeds(self) -> FeedList:
        return self.query_one(FeedList)

    @property
    def stories(self) -> StoryList:
        return self.query_one(StoryList)

    @property
    def article(self) -> ArticleView:
        return self.query_one(ArticleView)

    @property
    def sidebar(self) -> RelatedSidebar:
        return self.query_one(RelatedSidebar)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    # Seconds between looks at the refresh schedule (the first one too); tests shorten them.
    SCHEDULE_TICK = 30.0
    # Seconds after start-up before the daily cleanup may run.
    CLEANUP_DELAY = 60.0
    # Background work runs as a `tuinews` child process (tests of the in-thread path turn it
    # off); a scheduled refresh of fewer feeds than this runs in a thread.
    BACKGROUND_PROCESSES = True
    BACKGROUND_PROCESS_MIN_FEEDS = 20
    # Seconds between re-reads of the lists while a background refresh runs.
    BACKGROUND_RELOAD = 2.0

    async def on_mount(self) -> None:
        collapsed = self.service.store.get_setting(COLLAPSED_KEY, []) or []
        self.feeds.collapsed = {str(c) for c in collapsed if isinstance(c, str)}
        self._start_background()
        self.stories.fold_events = self.tuinews_app.config.fold_events
        width = self.service.store.get_setting(LIST_WIDTH_KEY)
        if isinstance(width, int):
            self.list_width = width
        position: dict[str, Any] = self.service.store.get_setting(POSITION_KEY, {}) or {}
        self.reload_feeds(keep=str(position.get("feed") or "all"))
        choice = self.feeds.current
        self.stories.set_filter(
            choice.filter if choice else StoryFilter(), keep_story=position.get("story")
        )
        self.show_feed_error(choice)
        self.update_hidden()
        self.stories.focus()
        self._apply_layout()
        opened = position.get("open")
        if isinstance(opened, int):
            try:
                story = self.service.story(opened)
            except TuinewsError:
                story = None
            if story is not None:
                await self.open_story(story, scroll_y=float(position.get("scroll") or 0))
        if self._load_samples:
            self.status.activity = "loading the samples…"
            self.run_refresh(None, samples=True)
        else:
            self.fold_worker()
        self.run_sync()
        # Changes made here (read, star...) reach the server soon, not only at the next r/R.
        self.set_interval(PUSH_INTERVAL, self.push_pending_changes)

    def save_position(self) -> None:
        """Remember the feed, the story and the article's scroll for the next start."""
        choice = self.feeds.current
        current = self.stories.current_story
        opened = self.article.story
        try:
            self.service.store.set_setting(
                POSITION_KEY,
                {
                    "feed": choice.key if choice else "all",
                    "story": current.id if current else None,
                    "open": opened.id if opened else None,
                    "scroll": round(self.article.scroll_y),
                },
            )
        except TuinewsError as exc:  # the cache is busy or gone: not worth an error on quit
            log.warning("could not save the position: %s", exc)

    # -- feeds and the story list ----------------------------------------------------------

    def reload_feeds(
        self, keep: str | None = None, *, snapshot: FeedSnapshot | None = None
    ) -> None:
        """Re-read the subscriptions, the saved searches and their counts (or show the ones
        a worker read: ``snapshot``)."""
        feeds, unread, starred, saved = snapshot or self.feed_snapshot()
        self.feeds.show_feeds(feeds, unread=unread, starred=starred, keep=keep, saved=saved)

    def feed_snapshot(self) -> FeedSnapshot:
        """What the feed pane shows, read from the store (any thread: its own connection)."""
        store = self.service.store
        return (
            self.service.feeds(),
            store.count_stories(StoryFilter(unread=True)),
            store.count_stories(StoryFilter(starred=True)),
            self._saved_searches(),
        )

    def show_feed_error(self, choice: FeedChoice | None) -> None:
        error = self.query_one("#feed-error", Static)
        feed = choice.feed if choice else None
        if feed is not None and feed.last_error:
            text = Text("! ", style="bold red")
            text.append(clean_text(feed.last_error))
            error.update(text)
            error.display = True
        elif feed is not None and feed.last_warning:
            text = Text("note: ", style="bold yellow")
            text.append(clean_text(feed.last_warning))
            error.update(text)
            error.display = True
        else:
            error.display = False

    @on(FeedList.Chosen)
    def show_feed(self, event: FeedList.Chosen) -> None:
        self.status.new_stories = 0  # another list, from its top
        self._search_query = None
        self.stories.set_filter(event.choice.filter)
        self.show_feed_error(event.choice)
        self.update_hidden()

    @on(FeedList.Activated)
    def enter_feed(self, event: FeedList.Activated) -> None:
        if not self.stories.shows(event.choice.filter) or self._search_query:
            self._search_query = None
            self.stories.set_filter(event.choice.filter)
        self.stories.focus()

    @on(StoryList.Highlighted)
    def update_position(self, event: StoryList.Highlighted) -> None:
        self.update_status_position()

    def update_status_position(self) -> None:
        stories = self.stories
        if self._search_query is not None:
            where = f"search “{clean_text(self._search_query)}”"
        else:
            choice = self.feeds.current
            where = choice.label if choice else "All"
        if stories.count:
            self.status.position = f"{stories.cursor + 1}/{stories.rows:,} · {where}"
        else:
            self.status.position = f"no stories · {where}"

    @on(StoryList.Selected)
    async def open_selected(self, event: StoryList.Selected) -> None:
        await self.open_story(event.story)

    # -- opening a story ---------------------------------------------------------------------

    async def open_story(
        self,
        story: Story,
        *,
        scroll_y: float = 0.0,
        remember: bool = True,
        fetched: Article | None = None,
    ) -> None:
        """Show a story: its stored article at once, else its summary while a worker fetches.

        Opening marks it read. ``remember`` puts the story on the Backspace history.
        ``fetched`` is its article when a worker just fetched it.
        """
        previous = self.article.story
        if remember and previous is not None and previous.id != story.id:
            self._history.append(previous.id)
            del self._history[:-HISTORY_LIMIT]
        self._keep_in_view(story.id)
        if not story.read:
            self.mark_opened_read(story)
            story = self.service.story(story.id)
            self.reload_feeds()
        # A pure store read first: cached_article() would extract a stored raw page on this
        # thread; that case (and the network) goes to the worker.
        if fetched is not None:
            source = "summary" if fetched.error else "network"
            fetched_state = ArticleState(story, fetched, source, fetched.error)
            await self.article.show(fetched_state, scroll_y=scroll_y)
            self.show_images(fetched_state)
        elif self.service.store.article(story.id) is not None:
            article = self.service.cached_article(story.id)
            state = ArticleState(
                story,
                article,
                "summary" if article and article.error else "cache",
                article.error if article else None,
            )
            await self.article.show(state, scroll_y=scroll_y)
            self.show_images(state)
        else:
            await self.article.show(ArticleState(story, None, "loading"), scroll_y=scroll_y)
            self.fetch_article(story.id)
        if self.sidebar.story_id != story.id:
            self.sidebar.show_loading(story.id)
        self.find_related(story.id)
        self.save_position()

    def _keep_in_view(self, story_id: int) -> None:
        """In an unread list, keep a story that is opened (and so read) until the list is
        left: it does not vanish under the reader, and `m` makes it unread in place."""
        flt = self.stories.filter
        if flt.unread and story_id not in flt.keep_ids:
            self.stories.filter = dataclasses.replace(
                flt, keep_ids=(*flt.keep_ids, story_id)[-KEEP_IN_VIEW:]
            )

    @work(thread=True, exclusive=True, group="article", exit_on_error=False)
    def fetch_article(self, story_id: int) -> None:
        """Fetch and extract a story's page (network), in a thread."""
        try:
            article = self.service.fetch_article(story_id)
        except FetchError as exc:
            self.post_message(self.ArticleFailed(story_id, exc.message))
            return
        except TuinewsError as exc:
            self.post_message(self.ArticleFailed(story_id, exc.message))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.ArticleFetched(story_id, article))

    @on(ArticleFetched)
    async def show_fetched_article(self, event: ArticleFetched) -> None:
        self.stories.mark(event.story_id, has_article=True)
        current = self.article.state
        if current is None or current.story.id != event.story_id:
            return
        article = event.article
        source = "summary" if article.error else "network"
        state = ArticleState(current.story, article, source, article.error)
        await self.article.show(state, scroll_y=self.article.scroll_y)
        self.show_images(state)
        # A page may link to stories that are in the cache: recompute with its links.
        self.find_related(event.story_id)

    def show_images(self, state: ArticleState) -> None:
        """Fetch (or read from the cache) and show the article's images, in the background;
        nothing when ``[reader] images = false`` or the story has no full text."""
        config = getattr(self.app, "config", None)
        if config is None or not config.images or state.article is None or state.error:
            return
        self.load_images(state.story.id)

    @work(thread=True, exclusive=True, group="images", exit_on_error=False)
    def load_images(self, story_id: int) -> None:
        """The article's images: fetched and kept with the article, decoded, in a thread."""
        from tuinews.ui.widgets.article_images import decode_images

        images = self.service.article_images(story_id)
        if not images or get_current_worker().is_cancelled:
            return
        decoded = decode_images(images)
        if decoded and not get_current_worker().is_cancelled:
            self.post_message(self.ImagesReady(story_id, decoded))

    @on(ImagesReady)
    async def mount_article_images(self, event: ImagesReady) -> None:
        from tuinews.ui.widgets.article_images import mount_images

        current = self.article.state
        if current is None or current.story.id != event.story_id:
            return
        await mount_images(self.article.body, event.images)

    @on(ArticleFailed)
    async def show_fetch_error(self, event: ArticleFailed) -> None:
        current = self.article.state
        if current is None or current.story.id != event.story_id:
            return
        await self.article.show(
            ArticleState(current.story, None, "summary", event.error),
            scroll_y=self.article.scroll_y,
        )

    @work(thread=True, exclusive=True, group="related", exit_on_error=False)
    def find_related(self, story_id: int) -> None:
        """Compute the related stories of a story, in a thread."""
        items = self.service.related(story_id)
        if not get_current_worker().is_cancelled:
            self.post_message(self.RelatedFound(story_id, items))

    @on(RelatedFound)
    def show_related(self, event: RelatedFound) -> None:
        opened = self.article.story
        if opened is not None and opened.id == event.story_id:
            self.sidebar.show_items(event.story_id, event.items)

    @on(RelatedSidebar.Chosen)
    async def open_related(self, event: RelatedSidebar.Chosen) -> None:
        item = event.item
        if self._drawer_open():
            self.close_drawer()  # the reader chose: show them the article
        if item.story_id is not None:
            try:
                story = self.service.story(item.story_id)
            except TuinewsError as exc:
                self.notify(exc.message, severity="error", markup=False)
                return
            self.stories.go_to_story(story.id)
            await self.open_story(story)
        elif item.url and is_safe_url(item.url):
            self.status.activity = f"opening {clean_text(item.url)}…"
            opened = self.article.story
            self.open_link_worker(item.url, clean_text(item.title), opened.id if opened else None)
        else:
            self.notify("This item has no address to open.", severity="warning")

    @work(thread=True, exclusive=True, group="link", exit_on_error=False)
    def open_link_worker(self, url: str, title: str, from_story_id: int | None) -> None:
        """Fetch, extract and keep a related page that is not in the cache, in a thread."""
        try:
            story, article = self.service.open_link(url, title)
        except TuinewsError as exc:
            self.post_message(self.LinkFailed(url, exc.message))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.LinkFetched(from_story_id, story, article))

    @on(LinkFetched)
    async def show_fetched_link(self, event: LinkFetched) -> None:
        self.status.activity = ""
        self.reload_feeds()  # the "Linked pages" feed may be new
        self.stories.reload()
        self.fold_worker()  # the page may report an event already in the list
        opened = self.article.story
        if opened is not None and opened.id != event.from_story_id:
            # The reader moved on meanwhile: do not pull them back.
            self.notify(f"Saved to Linked pages: {clean_text(event.story.title)}", markup=False)
            return
        self.stories.go_to_story(event.story.id)
        await self.open_story(event.story, fetched=event.article)

    @on(LinkFailed)
    def show_link_error(self, event: LinkFailed) -> None:
        self.status.activity = ""
        self.notify(
            f"Could not open {clean_text(event.url)}: {clean_text(event.error)}",
            severity="error",
            markup=False,
        )

    @on(ArticleView.LinkOpened)
    def open_article_link(self, event: ArticleView.LinkOpened) -> None:
        self.open_url(event.url)

    def open_url(self, url: str | None) -> None:
        if url and is_safe_url(url):
            self.app.open_url(clean_text(url))
            self.notify(f"Opening {clean_text(url)}", markup=False)
        else:
            self.notify(
                f"Not opening a non-http(s) link: {clean_text(url or '(none)')}",
                severity="warning",
                markup=False,
            )

    # -- refresh -----------------------------------------------------------------------------

    def run_refresh(self, feed_ids: list[int] | None, *, samples: bool = False) -> None:
        if self._cancel_refresh is not None:
            self._cancel_refresh.set()
        if self._cancel_scheduled is not None:
            self._cancel_scheduled.set()  # the reader's own refresh goes first
        cancel = threading.Event()
        self._cancel_refresh = cancel
        if samples:
            label = "the samples"
        elif feed_ids is None:
            label = "all feeds"
        else:
            choice = self.feeds.current
            label = choice.label if choice and choice.feed else "the feed"
        self.status.activity = f"refreshing {label}…"
        self.refresh_worker(feed_ids, cancel, samples, label)

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def refresh_worker(
        self,
        feed_ids: list[int] | None,
        cancel: threading.Event,
        samples: bool,
        label: str,
    ) -> None:
        """Refresh feeds (or load the samples) in a thread, reporting each feed."""
        failed = 0

        def progress(done: int, total: int, result: FeedResult) -> None:
            nonlocal failed
            if result.outcome == "failed":
                failed += 1
            self.post_message(self.RefreshProgress(done, total, failed, result))

        if samples:
            summary = self.service.load_samples(progress=progress, cancel=cancel)
        else:
            summary = self.service.refresh(feed_ids, progress=progress, cancel=cancel)
        self.post_message(self.RefreshDone(summary, label))

    @on(RefreshProgress)
    def show_refresh_progress(self, event: RefreshProgress) -> None:
        text = f"refreshing {event.done}/{event.total} feeds"
        if event.failed:
            text += f", {event.failed} failed"
        self.status.activity = text
        self.reload_lists_soon()

    def reload_lists_soon(self) -> None:
        """Re-read the lists now, or once :data:`RELOAD_INTERVAL` after the last re-read.

        A refresh of hundreds of feeds reports each one; re-reading the counts and the list
        for every report would keep the UI thread busy.
        """
        if self._reload_timer is not None:
            return  # a re-read is already due
        wait = self._last_reload + RELOAD_INTERVAL - time.monotonic()
        if wait <= 0:
            self.reload_lists()
        else:
            self._reload_timer = self.set_timer(wait, self.reload_lists)

    # -- one row per event (issue 13) -------------------------------------------------------

    class EventsFolded(Message):
        """A folding pass put other feeds' reports of an event into its row."""

        def __init__(self, looked_at: int) -> None:
            super().__init__()
            self.looked_at = looked_at
            """How many stories the pass looked at."""

    @work(thread=True, exclusive=True, group="fold", exit_on_error=False)
    def fold_worker(self) -> None:
        """Fold the stories not looked at yet into events, in a thread, pass by pass."""
        from tuinews.core.folding import fold_pass

        if not self.tuinews_app.config.fold_events:
            return
        worker = get_current_worker()
        total = 0
        while not worker.is_cancelled:
            looked_at = fold_pass(self.service.store)
            if not looked_at:
                break
            total += looked_at
            # A big first pass (an upgraded cache) is pure Python: leave the UI thread the
            # interpreter between batches.
            time.sleep(0.02)
        if total and not worker.is_cancelled:
            self.post_message(self.EventsFolded(total))

    @on(EventsFolded)
    def show_folded_events(self, event: EventsFolded) -> None:
        self.stories.reload()
        self.update_status_position()

    def mark_opened_read(self, story: Story) -> None:
        """Opening a story marks it read, and with ``fold_read_together`` every other report
        of its event too (one row per event: reading one report reads the event)."""
        self.mark_event_read(story, True)

    def mark_event_read(self, story: Story, read: bool) -> None:
        """Mark a story read or unread: with folding and ``fold_read_together``, every report
        of its event with it."""
        config = self.tuinews_app.config
        if config.fold_events and config.fold_read_together:
            ids = self.service.set_read_event(story.id, read)
        else:
            self.service.set_read(story.id, read)
            ids = [story.id]
        for story_id in ids:
            self.stories.mark(story_id, read=read)

    @on(RefreshDone)
    def finish_refresh(self, event: RefreshDone) -> None:
        self._cancel_refresh = None
        self.status.activity = ""
        self.fold_worker()
        self.reload_lists()
        self._pin_top = False
        summary = event.summary
        text = (
            f"Refreshed {escape(clean_text(event.label))}: {summary.new_stories} new"
            f" {'story' if summary.new_stories == 1 else 'stories'}"
        )
        failed = summary.failed
        if failed:
            names = ", ".join(escape(clean_text(r.title or r.url)) for r in failed[:3])
            text += f", {len(failed)} failed ({names}{', …' if len(failed) > 3 else ''})"
        self.notify(text, severity="warning" if failed else "information")

    def reload_lists(
        self, *, keep_view: bool = False, snapshot: FeedSnapshot | None = None
    ) -> None:
        """Re-read the feed counts and the story list, keeping the cursor on its story (and,
        with ``keep_view``, that story on its screen row). ``snapshot``: the feed pane's data
        as a worker read it (so the UI thread only shows it)."""
        if self._reload_timer is not None:
            self._reload_timer.stop()
            self._reload_timer = None
        self._last_reload = time.monotonic()
        self.list_reloads += 1
        self.reload_feeds(snapshot=snapshot)
        self.show_feed_error(self.feeds.current)
        stories = self.stories
        pin = self._pin_top and stories.cursor == 0 and self.article.story is None
        self._pin_top = pin
        stories.reload(reset=pin, keep_view=keep_view and not pin)
        self.update_status_position()
        self.update_hidden()

    # -- sync with the account's server (issue 16) -------------------------------------------

    def push_pending_changes(self) -> None:
        """Sync when changes wait in the outbox (none without an account); after a failed
        sync, not before :data:`PUSH_RETRY` seconds."""
        if self._cancel_sync is not None:
            return
        if time.monotonic() - self._sync_failed_at < PUSH_RETRY:
            return
        from tuinews.core.sync.engine import pending_changes

        try:
            pending = pending_changes(self.service.store)
        except (TuinewsError, sqlite3.Error):  # a busy cache: the next tick tries again
            log.exception("cannot count the sync outbox")
            return
        if pending:
            self.run_sync()

    def run_sync(self) -> None:
        """Sync in the background (nothing happens without an account)."""
        if self._cancel_sync is not None:
            return  # one at a time; the running one sends what is queued by now too
        self._cancel_sync = threading.Event()
        self.sync_worker(self._cancel_sync)

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def sync_worker(self, cancel: threading.Event) -> None:
        """One sync in a thread, reporting its phases; failures become a status line."""
        if self.service.account() is None:
            self.post_message(self.SyncDone(None, None))
            return

        def progress(phase: str, done: int, total: int) -> None:
            self.post_message(self.SyncProgress(phase, done, total))

        self.post_message(self.SyncProgress("connecting", 0, 0))
        try:
            # In a child process: the sync's parsing and writes never hold the event loop.
            summary = self.service.sync_in_child(progress=progress, cancel=cancel)
        except TuinewsError as exc:
            self.post_message(self.SyncDone(None, exc.message))
            return
        self.post_message(self.SyncDone(summary, None))

    @on(SyncProgress)
    def show_sync_progress(self, event: SyncProgress) -> None:
        count = f" {event.done}/{event.total}" if event.total else ""
        self.status.sync = f"sync: {event.phase}{count}…"
        # New stories show as they come, but the lists are re-read at most once a second
        # here: each re-read races the sync's commits for the cache, and a read that lands on
        # a commit waits for it (the spikes of bench/RESULTS.md's frame gaps).
        due = time.monotonic() - self._last_reload >= SYNC_RELOAD_INTERVAL
        if event.phase in ("items", "feeds") and event.done and due:
            self.reload_lists_soon()

    @on(SyncDone)
    def finish_sync(self, event: SyncDone) -> None:
        self._cancel_sync = None
        if event.error is not None:
            self._sync_failed_at = time.monotonic()
            self.status.sync = f"sync failed: {clean_text(event.error)}"
            self.reload_lists()
            return
        summary = event.summary
        if summary is None:
            self.status.sync = ""
            return
        when = datetime.now(UTC).astimezone(self._timezone).strftime("%H:%M")
        self.status.sync = f"synced {when}: {summary.new_stories} new"
        if summary.warnings:
            self.status.sync += f", {len(summary.warnings)} skipped"
        self.reload_lists()

    # -- worker failures -------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place turns a failed worker into a notification, in words."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        log.error("worker %s failed: %r", event.worker.name, error)
        group = event.worker.group
        if group in ("add-feed", "export", "link", "refresh"):
            self.status.activity = ""  # their "adding…" / "exporting…" note is over
        if group == "refresh":
            self._cancel_refresh = None
            self.reload_lists()
        elif group == "sync":
            self._cancel_sync = None
            why = error.message if isinstance(error, TuinewsError) else str(error)
            self.status.sync = f"sync failed: {clean_text(why)}"
        self.notify(failure_message(group, error), severity="error", markup=False)

    # -- actions -----------------------------------------------------------------------------

    def _focused_on_article(self) -> bool:
        focused = self.focused
        if focused is None:
            return False
        return focused is self.article or self.article in focused.ancestors

    async def action_next_story(self) -> None:
        await self._step(1)

    async def action_previous_story(self) -> None:
        await self._step(-1)

    async def _step(self, step: int) -> None:
        stories = self.stories
        before = stories.cursor
        stories.cursor += step
        # While reading, j/k turn the page to the next story.
        if self._focused_on_article() and stories.cursor != before:
            story = stories.current_story
            if story is not None:
                await self.open_story(story)

    async def action_next_unread(self) -> None:
        await self._jump_unread(forward=True)

    async def action_previous_unread(self) -> None:
        await self._jump_unread(forward=False)

    async def _jump_unread(self, *, forward: bool) -> None:
        """Open the next (older) or previous (newer) unread story, in any feed."""
        anchor = self.article.story
        if anchor is None:
            # Nothing open yet: the highlighted story counts, if it is itself unread.
            anchor = self.stories.current_story
            if anchor is not None and not anchor.read and forward:
                await self.open_story(anchor)
                return
        story_id = self.service.store.next_unread(anchor.id if anchor else None, forward=forward)
        if story_id is None:
            self.notify("No more unread stories." if forward else "No newer unread stories.")
            return
        story = self.service.story(story_id)
        if not self.stories.go_to_story(story_id):
            # Not in this list: show its feed.
            self._search_query = None
            self.feeds.select_key(f"feed:{story.feed_id}", announce=False)
            choice = self.feeds.current
            self.stories.set_filter(
                choice.filter if choice else StoryFilter(feed_id=story.feed_id),
                keep_story=story_id,
            )
            self.show_feed_error(choice)
        await self.open_story(story)

    def _panes(self) -> list[Any]:
        panes: list[Any] = [self.feeds, self.stories, self.article]
        if self.sidebar.display:
            panes.append(self.sidebar.options)
        return panes

    def _cycle_panes(self, step: int) -> None:
        panes = self._panes()
        focused = self.focused
        index = 0
        for i, pane in enumerate(panes):
            if focused is pane or (focused is not None and pane in focused.ancestors):
                index = i
                break
        else:
            index = -1 if step > 0 else 0
        panes[(index + step) % len(panes)].focus()

    def action_next_pane(self) -> None:
        self._cycle_panes(1)

    def action_previous_pane(self) -> None:
        self._cycle_panes(-1)

    async def action_scroll_article_down(self) -> None:
        """Page down in the article; at its end, open the next unread story."""
        if self.article.story is None:
            story = self.stories.current_story
            if story is not None:
                await self.open_story(story)
            return
        if self.article.at_end:
            await self._jump_unread(forward=True)
        else:
            self.article.scroll_page_down(animate=False)

    def action_scroll_up(self) -> None:
        self.article.scroll_page_up(animate=False)

    def action_top(self) -> None:
        if self._focused_on_article():
            self.article.scroll_home(animate=False)
        else:
            self.stories.action_first()
            # At the top, the new stories are in view: their count has done its job.
            self.status.new_stories = 0

    def action_bottom(self) -> None:
        if self._focused_on_article():
            self.article.scroll_end(animate=False)
        else:
            self.stories.action_last()

    def action_next_feed(self) -> None:
        self.feeds.move(1)

    def action_previous_feed(self) -> None:
        self.feeds.move(-1)

    def _target_story(self) -> Story | None:
        """The story an action applies to: the open one while reading, else the cursor's."""
        if self._focused_on_article() and self.article.story is not None:
            return self.service.story(self.article.story.id)
        story = self.stories.current_story
        return self.service.story(story.id) if story else None

    def _shown_story(self) -> Story | None:
        """The story whose article is on screen, else the one under the list's cursor (what
        `o`, `y` and `e` act on: the reader means the article they are looking at)."""
        if self.article.story is not None:
            return self.service.story(self.article.story.id)
        story = self.stories.current_story
        return self.service.story(story.id) if story else None

    def action_open_browser(self) -> None:
        story = self._shown_story()
        if story is None:
            return
        self.open_url(story.link)

    def action_copy_link(self) -> None:
        story = self._shown_story()
        if story is None or not story.link:
            self.notify("This story has no link.", severity="warning")
            return
        self.app.copy_to_clipboard(clean_text(story.link))
        self.notify(f"Copied {clean_text(story.link)}", markup=False)

    def action_toggle_star(self) -> None:
        story = self._target_story()
        if story is None:
            return
        self.service.set_starred(story.id, not story.starred)
        self.stories.mark(story.id, starred=not story.starred)
        self.reload_feeds()
        self.notify("Starred." if not story.starred else "Unstarred.", timeout=2)

    def action_toggle_read(self) -> None:
        story = self._target_story()
        if story is None:
            return
        self.mark_event_read(story, not story.read)
        self.reload_feeds()

    def action_refresh_feed(self) -> None:
        choice = self.feeds.current
        if choice is not None and choice.feed is not None:
            if choice.feed.id in self.service.account_feed_ids():
                self.run_sync()  # the server's feeds come from the server
            else:
                self.run_refresh([choice.feed.id])
        else:
            self.run_refresh(None)
            self.run_sync()

    def action_refresh_all(self) -> None:
        self.run_refresh(None)
        self.run_sync()

    def _drawer_open(self) -> bool:
        """The related sidebar floats over the article (a narrow screen) and is shown."""
        return self.has_class("narrow") and bool(self.sidebar.display)

    def close_drawer(self) -> None:
        """Hide the sidebar drawer and give the keys back to the article."""
        self.sidebar_shown = False
        self.article.focus()

    def action_cancel(self) -> None:
        if self._cancel_scheduled is not None:
            self._cancel_scheduled.set()
        if self._drawer_open():
            self.close_drawer()
        elif self._cancel_refresh is not None:
            self._cancel_refresh.set()
            self.status.activity = "stopping the refresh…"
        elif self._search_query is not None:
            self._search_query = None
            choice = self.feeds.current
            # Back to the feed with the cursor on the story being read (else the one the
            # cursor was on in the results), not on the first row.
            opened = self.article.story or self.stories.current_story
            self.stories.set_filter(
                choice.filter if choice else StoryFilter(),
                keep_story=opened.id if opened else None,
            )
            self.update_status_position()

    def action_search(self) -> None:
        def search(query: str | None) -> None:
            if not query:
                return
            try:
                self.service.store.parse_search(query)
            except TuinewsError as exc:
                self.notify(exc.message, severity="error", markup=False)
                return
            self._search_query = query
            self.stories.set_filter(StoryFilter(search=query))
            self.stories.focus()
            self.update_status_position()
            if not self.stories.count:
                self.notify(f"Nothing in the cache matches {clean_text(query)!r}.", markup=False)

        self.app.push_screen(
            InputDialog(
                "Search the cache",
                value=self._search_query or "",
                placeholder="words, or: feed:NAME folder:NAME is:unread is:starred after:DATE",
                hint='FTS5 syntax works ("a phrase", OR, NOT, title:word). S saves the search'
                " as a feed; Escape on the list goes back.",
                ok_label="Search",
                dialog_id="search-dialog",
            ),
            search,
        )

    def action_add_feed(self) -> None:
        def add(url: str | None) -> None:
            if not url:
                return
            try:
                address = feed_address(url)
            except TuinewsError as exc:
                self.notify(exc.message, severity="error", markup=False)
                return
            self.status.activity = f"adding {clean_text(address)}…"
            self.add_feed_worker(address)

        self.app.push_screen(
            InputDialog(
                "Add a feed",
                placeholder="https://example.com/feed.xml or a site's address",
                hint="A web page that links to its feed works too.",
                ok_label="Add",
                dialog_id="add-feed-dialog",
            ),
            add,
        )

    @work(thread=True, exclusive=True, group="add-feed", exit_on_error=False)
    def add_feed_worker(self, url: str) -> None:
        """Subscribe (fetch, autodiscover, store) in a thread."""
        feed, new = self.service.add_feed(url)
        self.post_message(self.FeedAdded(feed, new))

    @on(FeedAdded)
    def show_added_feed(self, event: FeedAdded) -> None:
        self.status.activity = ""
        self.reload_feeds(keep=f"feed:{event.feed.id}")
        choice = self.feeds.current
        if choice is not None:
            self.stories.set_filter(choice.filter)
            self.show_feed_error(choice)
        self.notify(f"Added {clean_text(event.feed.title)} ({event.new} stories)", markup=False)

    def action_remove_feed(self) -> None:
        choice = self.feeds.current
        if choice is not None and choice.saved_id is not None:
            self._remove_saved_search(choice)
            return
        if choice is None or choice.feed is None:
            self.notify("Choose a feed in the list first.", severity="warning")
            return
        feed = choice.feed
        question = Text("Remove the feed ")
        question.append(clean_text(feed.title), style="bold")
        question.append(f" and its {feed.unread} unread stories?")

        def remove(yes: bool | None) -> None:
            if yes:
                self.remove_feed_worker(feed.id, feed.title)

        self.app.push_screen(ConfirmDialog(question, yes_label="Remove"), remove)

    @work(thread=True, exclusive=True, group="remove-feed", exit_on_error=False)
    def remove_feed_worker(self, feed_id: int, title: str) -> None:
        """Unsubscribe in a thread (deleting many stories can take a moment)."""
        self.service.remove_feed(feed_id)
        self.post_message(self.FeedRemoved(feed_id, title))

    @on(FeedRemoved)
    async def show_removed_feed(self, event: FeedRemoved) -> None:
        self.reload_feeds(keep="all")
        self.stories.set_filter(StoryFilter())
        self.show_feed_error(self.feeds.current)
        opened = self.article.story
        if opened is not None and opened.feed_id == event.feed_id:
            await self.article.clear()
            self.sidebar.clear()
        self._history = [i for i in self._history if self._exists(i)]
        self.notify(f"Removed {clean_text(event.title)}", markup=False)

    def _exists(self, story_id: int) -> bool:
        try:
            self.service.story(story_id)
        except TuinewsError:
            return False
        return True

    def action_export(self) -> None:
        story = self._shown_story()
        if story is None:
            self.notify("No story to export.", severity="warning")
            return
        config = self.tuinews_app.config
        folder = config.export_dir

        def export(path: str | None) -> None:
            if not path:
                return
            destination = Path(path).expanduser()
            self.status.activity = "exporting…"
            self.export_worker([story.id], destination)

        self.app.push_screen(
            InputDialog(
                "Export as Markdown to",
                value=str(folder),
                hint=(
                    "A folder (the file is named after the story) or a path ending in .md."
                    f" The default folder is [export] dir in {config.config_file}."
                ),
                ok_label="Export",
                dialog_id="export-dialog",
            ),
            export,
        )

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export_worker(self, story_ids: list[int], destination: Path) -> None:
        """Write Markdown files in a thread (may fetch the full text first)."""
        paths = self.service.export(story_ids, destination)
        self.post_message(self.Exported(paths))

    @on(Exported)
    def show_exported(self, event: Exported) -> None:
        self.status.activity = ""
        names = ", ".join(str(p) for p in event.paths)
        self.notify(f"Exported to {names}", markup=False)

    def action_toggle_sidebar(self) -> None:
        shown = not self.sidebar.display
        self.sidebar_shown = shown
        if self.has_class("narrow"):
            # The drawer over the article: it takes the keys while open, gives them back after.
            if shown:
                self.sidebar.focus_items()
            elif self._focus_in(self.sidebar):
                self.article.focus()

    def _focus_in(self, widget: Any) -> bool:
        focused = self.focused
        return focused is not None and (focused is widget or widget in focused.ancestors)

    def action_widen_list(self) -> None:
        self._resize_list(LIST_STEP)

    def action_narrow_list(self) -> None:
        self._resize_list(-LIST_STEP)

    def _resize_list(self, step: int) -> None:
        pane = self.query_one("#feed-pane")
        widest = max(LIST_MIN_WIDTH, self.size.width - ARTICLE_MIN_WIDTH)
        width = max(LIST_MIN_WIDTH, min(widest, pane.outer_size.width + step))
        self.list_width = width
        try:
            self.service.store.set_setting(LIST_WIDTH_KEY, width)
        except TuinewsError as exc:
            log.warning("could not save the list width: %s", exc)

    def watch_list_width(self, width: int | None) -> None:
        if self.is_mounted:
            self._apply_layout()

    def action_why_related(self) -> None:
        """Show (or hide) under each related item why it is related."""
        sidebar = self.sidebar
        if not sidebar.display:
            # Asking why shows the hidden sidebar, with its reasons.
            sidebar.show_reasons = True
            self.sidebar_shown = True
            return
        sidebar.show_reasons = not sidebar.show_reasons

    def _list_label(self) -> str:
        if self._search_query is not None:
            return f"the search “{clean_text(self._search_query)}”"
        choice = self.feeds.current
        if choice is None or choice.key == "all":
            return "every feed"
        return clean_text(choice.label)

    def action_mark_all_read(self) -> None:
        """Mark every unread story of the list in view (a feed, a folder, All, a search, a
        saved search) read, after asking; ``u`` undoes it."""
        flt = self.stories.filter
        unread = self.service.store.count_stories(replace(flt, unread=True))
        if not unread:
            self.notify("Nothing unread here.", timeout=2)
            return
        label = self._list_label()
        question = Text(f"Mark {unread:,} unread {'story' if unread == 1 else 'stories'} in ")
        question.append(label, style="bold")
        question.append(" read? (u undoes it)")

        def mark(yes: bool | None) -> None:
            if not yes:
                return
            if unread <= 2000:  # quick: at once, so the list changes under the reader's eyes
                ids = self.service.mark_list_read(flt)
                self.post_message(self.ListMarked(ids, True, label))
            else:
                self.status.activity = f"marking {unread:,} stories read…"
                self.mark_list_worker(flt, label)

        self.app.push_screen(ConfirmDialog(question, yes_label="Mark read"), mark)

    @work(thread=True, exclusive=True, group="mark", exit_on_error=False)
    def mark_list_worker(self, flt: StoryFilter, label: str) -> None:
        """Mark a big list read in a thread (chunks through Store.set_read)."""
        ids = self.service.mark_list_read(flt)
        self.post_message(self.ListMarked(ids, True, label))

    @work(thread=True, exclusive=True, group="mark", exit_on_error=False)
    def unmark_list_worker(self, ids: list[int], label: str) -> None:
        """Undo a mark-all-read in a thread."""
        self.service.set_read_many(ids, False)
        self.post_message(self.ListMarked(ids, False, label))

    def action_undo_mark(self) -> None:
        if self._undo is None:
            self.notify("Nothing to undo.", timeout=2)
            return
        ids, label = self._undo
        self._undo = None
        if len(ids) <= 2000:
            self.service.set_read_many(ids, False)
            self.post_message(self.ListMarked(ids, False, label))
        else:
            self.status.activity = f"marking {len(ids):,} stories unread again…"
            self.unmark_list_worker(ids, label)

    @on(ListMarked)
    def show_list_marked(self, event: ListMarked) -> None:
        self.status.activity = ""
        self.reload_lists()
        count = f"{len(event.ids):,} {'story' if len(event.ids) == 1 else 'stories'}"
        if event.read:
            self._undo = (event.ids, event.label)
            self.notify(f"Marked {count} read in {event.label}. u undoes it.", markup=False)
        else:
            self.notify(f"Undone: {count} unread again.", timeout=3, markup=False)

    async def action_back(self) -> None:
        if not self._history:
            self.notify("Nothing to go back to.", timeout=2)
            return
        story_id = self._history.pop()
        try:
            story = self.service.story(story_id)
        except TuinewsError:
            return
        self.stories.go_to_story(story_id)
        await self.open_story(story, remember=False)

    # -- layout --------------------------------------------------------------------------

    def watch_sidebar_shown(self, shown: bool | None) -> None:
        self._apply_layout()

    def on_resize(self) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        """Classes for the screen's size (the layout itself lives in app.tcss)."""
        wide = self.size.width >= SIDEBAR_MIN_WIDTH
        self.set_class(not wide, "narrow")
        self.set_class(self.size.height < SHORT_HEIGHT, "short")
        shown = wide if self.sidebar_shown is None else self.sidebar_shown
        self.set_class(not shown, "no-sidebar")
        footer = self.query_one(ReaderFooter)
        footer.narrow = not wide
        footer.refresh(recompose=True)  # the set of keys also depends on the exact width
        pane = self.query_one("#feed-pane")
        if self.list_width is None:
            pane.styles.width = None  # the stylesheet's share of the screen
        else:
            widest = max(LIST_MIN_WIDTH, self.size.width - ARTICLE_MIN_WIDTH)
            pane.styles.width = max(LIST_MIN_WIDTH, min(widest, self.list_width))

    # -- issue 15: background schedule, daily cleanup, folders, saved searches, list export --

    @property
    def _config(self) -> Any:
        return getattr(self.app, "config", None)

    def _start_background(self) -> None:
        """The refresh schedule's timer and the daily cleanup (both off in the config if the
        reader wants them off)."""
        config = self._config
        if config is None:
            return
        if config.auto_refresh:
            self.set_interval(self.SCHEDULE_TICK, self.check_schedule, name="schedule")
        if config.auto_cleanup and (config.keep_days or config.keep_per_feed):
            self.set_timer(self.CLEANUP_DELAY, self.start_cleanup, name="cleanup")

    def check_schedule(self) -> None:
        """Refresh the feeds that are due, in the background, unless a refresh is running."""
        self.schedule_checks += 1
        if self._cancel_refresh is not None or self._cancel_scheduled is not None:
            return
        cancel = threading.Event()
        self._cancel_scheduled = cancel
        self.scheduled_refresh_worker(cancel, self._config.refresh_interval)

    def _child_process_ok(self) -> bool:
        """Background work can run as a ``tuinews`` child process on this cache."""
        config = self._config
        return bool(
            self.BACKGROUND_PROCESSES
            and config is not None
            and self.service.store.path.resolve() == config.db_path.resolve()
        )

    @work(thread=True, exclusive=True, group="scheduled-refresh", exit_on_error=False)
    def scheduled_refresh_worker(self, cancel: threading.Event, interval: int) -> None:
        """Refresh the due feeds in the background: many of them in a ``tuinews refresh``
        child process (its Python work never competes with the UI's), a few in this thread."""
        ids = self.service.due_feed_ids(interval)
        if not ids:
            self.post_message(self.ScheduledDone(0, 0, 0))
            return
        # fetchall, not fetchone: a statement left unfinished would keep this connection's
        # read snapshot open, and the count below would not see the refresh's stories.
        before = self.service.store.conn.execute("SELECT coalesce(max(id), 0) FROM stories")
        first_new = int(before.fetchall()[0][0])
        failed = 0
        last_snapshot = time.monotonic()

        def report(done: int, total: int) -> None:
            """Progress; every few seconds with the feed pane's data read here."""
            nonlocal last_snapshot
            snapshot = None
            if time.monotonic() - last_snapshot >= self.BACKGROUND_RELOAD:
                last_snapshot = time.monotonic()
                snapshot = self.feed_snapshot()
            self.post_message(self.ScheduledProgress(done, total, failed, snapshot))

        if len(ids) >= self.BACKGROUND_PROCESS_MIN_FEEDS and self._child_process_ok():
            from tuinews.core.background import run_tuinews

            progress_line = re.compile(r"^\[(\d+)/(\d+)\] .*?: (FAILED)?")

            def on_line(line: str) -> None:
                nonlocal failed
                match = progress_line.match(line)
                if match is None:
                    return
                failed += bool(match.group(3))
                report(int(match.group(1)), int(match.group(2)))

            config = self._config
            run_tuinews(
                ["refresh", *map(str, ids)],
                data_dir=config.db_path.parent,
                config_file=config.config_file,
                on_line=on_line,
                cancel=cancel,
            )
        else:

            def progress(done: int, total: int, result: FeedResult) -> None:
                nonlocal failed
                failed += result.outcome == "failed"
                report(done, total)

            self.service.refresh(ids, progress=progress, cancel=cancel)
        new = self.service.store.conn.execute(
            "SELECT count(*) FROM stories WHERE id > ?", (first_new,)
        ).fetchall()[0][0]
        self.post_message(self.ScheduledDone(len(ids), int(new), failed, self.feed_snapshot()))

    @on(ScheduledProgress)
    def show_scheduled_progress(self, event: ScheduledProgress) -> None:
        # New stories appear while it runs, every BACKGROUND_RELOAD seconds.
        if event.snapshot is not None:
            self.reload_lists(keep_view=True, snapshot=event.snapshot)

    @on(ScheduledDone)
    def finish_scheduled_refresh(self, event: ScheduledDone) -> None:
        self._cancel_scheduled = None
        if not event.feeds:
            return
        log.info(
            "scheduled refresh: %d feeds, %d new, %d failed", event.feeds, event.new, event.failed
        )
        if event.new:
            self.status.new_stories += event.new
        self.reload_lists(keep_view=True, snapshot=event.snapshot)

    def start_cleanup(self) -> None:
        """The retention, at most once a day, in the background (it never converts an old
        cache to incremental vacuum: that takes a full VACUUM, left to `tuinews cleanup`)."""
        config = self._config
        if config is None or not self.service.store.cleanup_due():
            return
        cancel = threading.Event()
        self._cancel_cleanup = cancel
        self.cleanup_worker(cancel, config.keep_days, config.keep_per_feed, config.full_text_days)

    @work(thread=True, exclusive=True, group="cleanup", exit_on_error=False)
    def cleanup_worker(
        self, cancel: threading.Event, keep_days: int, keep_per_feed: int, full_text_days: int
    ) -> None:
        """Delete old stories in a ``tuinews cleanup`` child process (chunked transactions:
        the UI's own writes wait at most one chunk)."""
        if self._child_process_ok():
            from tuinews.core.background import run_tuinews

            config = self._config
            code, out = run_tuinews(
                [
                    "cleanup",
                    "--json",
                    "--no-full-vacuum",
                    f"--keep-days={keep_days}",
                    f"--keep-per-feed={keep_per_feed}",
                    f"--full-text-days={full_text_days}",
                ],
                data_dir=config.db_path.parent,
                config_file=config.config_file,
                cancel=cancel,
            )
            lines = out.strip().splitlines()
            if code != 0 or not lines:
                raise TuinewsError(f"the cleanup stopped (exit {code})")
            report = CleanupReport(**json.loads(lines[-1]))
        else:
            report = self.service.cleanup(
                keep_days=keep_days,
                keep_per_feed=keep_per_feed,
                full_text_days=full_text_days,
                cancel=cancel,
            )
        self.post_message(self.CleanupDone(report))

    @on(CleanupDone)
    def finish_cleanup(self, event: CleanupDone) -> None:
        self._cancel_cleanup = None
        report = event.report
        log.info("cleanup: %s", report)
        if not report.stories_deleted and not report.full_texts_dropped:
            return
        self.reload_lists(keep_view=True)
        freed = max(0, report.bytes_before - report.bytes_after) / (1024 * 1024)
        self.notify(
            f"Cleanup: {report.stories_deleted:,} old stories deleted, the full text of "
            f"{report.full_texts_dropped:,} more dropped ({freed:.1f} MiB freed).",
            timeout=6,
        )

    def stop_background(self) -> None:
        """Stop the background refresh and cleanup between their steps (on quit)."""
        for event in (self._cancel_scheduled, self._cancel_cleanup):
            if event is not None:
                event.set()

    def update_hidden(self) -> None:
        """How many stories of this list the kill-file hides, in the status line."""
        store = self.service.store
        self.status.hidden = store.count_hidden(self.stories.filter) if store.hides_stories else 0

    def _saved_searches(self) -> list[SavedSearch]:
        store = self.service.store
        out = []
        for saved_id, name, query in store.saved_searches():
            try:
                unread = store.count_stories(StoryFilter(query=query, unread=True))
            except TuinewsError as exc:
                log.warning("saved search %r: %s", name, exc)
                unread = 0
            out.append(SavedSearch(saved_id, name, query, unread))
        return out

    def action_save_search(self) -> None:
        """Save the search in view as a virtual feed of the feed pane."""
        query = self._search_query
        if query is None:
            self.notify("Search first (/), then S saves the search.", severity="warning")
            return

        def save(name: str | None) -> None:
            if not name:
                return
            try:
                saved_id = self.service.store.save_search(name, query)
            except TuinewsError as exc:
                self.notify(exc.message, severity="error", markup=False)
                return
            self._search_query = None
            self.reload_feeds(keep=f"saved:{saved_id}")
            choice = self.feeds.current
            if choice is not None:
                self.stories.set_filter(choice.filter)
            self.update_status_position()
            self.notify(f"Saved the search as {clean_text(name)}.", markup=False)

        self.app.push_screen(
            InputDialog(
                "Save this search as",
                value=clean_text(query)[:60],
                hint="It shows under Starred, newest first, with its unread count.",
                ok_label="Save",
                dialog_id="save-search-dialog",
            ),
            save,
        )

    def _remove_saved_search(self, choice: FeedChoice) -> None:
        question = Text("Delete the saved search ")
        question.append(choice.label, style="bold")
        question.append("? (its stories stay)")

        def remove(yes: bool | None) -> None:
            if yes and choice.saved_id is not None:
                name = self.service.store.delete_saved_search(choice.saved_id)
                self.reload_feeds(keep="all")
                self.stories.set_filter(StoryFilter())
                self.notify(f"Deleted the saved search {clean_text(name)}.", markup=False)

        self.app.push_screen(ConfirmDialog(question, yes_label="Delete"), remove)

    def action_toggle_folder(self) -> None:
        if not self.feeds.toggle_folder():
            self.notify("Choose a folder in the feed list first.", severity="warning", timeout=2)

    def action_move_to_folder(self) -> None:
        """Put the highlighted feed in a folder (an empty name: in none)."""
        choice = self.feeds.current
        if choice is None or choice.feed is None:
            self.notify("Choose a feed in the list first.", severity="warning")
            return
        feed = choice.feed

        def move(name: str | None) -> None:
            if name is None:
                return
            none = name.strip() in ("-", "none")
            self.service.store.set_feed_folder(feed.id, None if none else name)
            self.reload_feeds(keep=f"feed:{feed.id}")
            where = self.service.store.feed(feed.id).folder
            self.notify(
                f"{clean_text(feed.title)}: {'in ' + clean_text(where) if where else 'in no folder'}",
                markup=False,
            )

        folders = ", ".join(self.service.store.folders()[:8])
        self.app.push_screen(
            InputDialog(
                f"Folder of {clean_text(feed.title)}",
                value=feed.folder or "",
                hint=("Folders: " + folders + ". " if folders else "")
                + "News/Local nests; - takes it out of its folder.",
                ok_label="Move",
                dialog_id="folder-dialog",
            ),
            move,
        )

    @on(FeedList.FoldersChanged)
    def remember_folders(self, event: FeedList.FoldersChanged) -> None:
        try:
            self.service.store.set_setting(COLLAPSED_KEY, sorted(event.collapsed))
        except TuinewsError as exc:
            log.warning("could not save the folders: %s", exc)

    def action_export_list(self) -> None:
        """Export every story of the list in view into a notes folder."""
        flt = self.stories.filter
        count = self.stories.count
        if not count:
            self.notify("No stories here to export.", severity="warning")
            return
        config = self._config
        default_dir = self.service.store.get_setting(VAULT_DIR_KEY) or (
            str(config.export_dir) if config is not None else str(Path.cwd())
        )
        label = self._list_label()

        def export(path: str | None) -> None:
            if not path:
                return
            folder = Path(path).expanduser()
            self.service.store.set_setting(VAULT_DIR_KEY, str(folder))
            self.status.activity = f"exporting {count:,} stories…"
            self.export_list_worker(flt, folder)

        self.app.push_screen(
            InputDialog(
                f"Export {count:,} {'story' if count == 1 else 'stories'} of {label} to",
                value=default_dir,
                hint="A notes folder: one Markdown file per story; a second export rewrites"
                " only what changed.",
                ok_label="Export",
                dialog_id="export-list-dialog",
            ),
            export,
        )

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export_list_worker(self, flt: StoryFilter, folder: Path) -> None:
        """Write the list's notes in a thread (fetching full text that is missing)."""
        ids = self.service.store.story_ids(flt)
        report = self.service.export_batch(ids, folder)
        self.post_message(self.ListExported(report, folder))

    @on(ListExported)
    def show_list_exported(self, event: ListExported) -> None:
        self.status.activity = ""
        severity: SeverityLevel = (
            "warning" if event.report.failed or event.report.kept else "information"
        )
        self.notify(
            f"Exported to {event.directory}: {event.report.summary()}",
            severity=severity,
            markup=False,
        )
