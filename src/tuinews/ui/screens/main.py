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
import logging
import threading
import time
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from tuinews.core.errors import FetchError, TuinewsError
from tuinews.core.models import Article, Feed, RelatedStory, Story
from tuinews.core.service import FeedResult, RefreshSummary, Service, feed_address
from tuinews.core.store import StoryFilter
from tuinews.core.text import clean_text, is_safe_url

from ..widgets.article_view import ArticleState, ArticleView
from ..widgets.feed_list import FeedChoice, FeedList
from ..widgets.footer import ReaderFooter
from ..widgets.related_sidebar import RelatedSidebar
from ..widgets.status_line import StatusLine
from ..widgets.story_list import Clock, StoryList, utc_now
from .dialogs import ConfirmDialog, InputDialog

if TYPE_CHECKING:
    from ..app import TuinewsApp

log = logging.getLogger(__name__)

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


FAILURES = {
    "add-feed": "Could not add the feed",
    "remove-feed": "Could not remove the feed",
    "export": "Export failed",
    "refresh": "The refresh stopped",
    "article": "Could not load the article",
    "related": "Could not find related stories",
    "link": "Could not open the page",
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
            "space,pagedown", "scroll_down", "Scroll", show=False, priority=True, id="scroll_down"
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
        self._search_query: str | None = None
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

    async def on_mount(self) -> None:
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

    def reload_feeds(self, keep: str | None = None) -> None:
        """Re-read the subscriptions and their counts."""
        store = self.service.store
        self.feeds.show_feeds(
            self.service.feeds(),
            unread=store.count_stories(StoryFilter(unread=True)),
            starred=store.count_stories(StoryFilter(starred=True)),
            keep=keep,
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
        self._search_query = None
        self.stories.set_filter(event.choice.filter)
        self.show_feed_error(event.choice)

    @on(FeedList.Activated)
    def enter_feed(self, event: FeedList.Activated) -> None:
        if self.stories.filter != event.choice.filter or self._search_query:
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
            self.status.position = f"{stories.cursor + 1}/{stories.count:,} · {where}"
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
            self.service.set_read(story.id, True)
            story = self.service.story(story.id)
            self.stories.mark(story.id, read=True)
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

    @on(RefreshDone)
    def finish_refresh(self, event: RefreshDone) -> None:
        self._cancel_refresh = None
        self.status.activity = ""
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

    def reload_lists(self) -> None:
        """Re-read the feed counts and the story list, keeping the cursor on its story."""
        if self._reload_timer is not None:
            self._reload_timer.stop()
            self._reload_timer = None
        self._last_reload = time.monotonic()
        self.list_reloads += 1
        self.reload_feeds()
        self.show_feed_error(self.feeds.current)
        stories = self.stories
        pin = self._pin_top and stories.cursor == 0 and self.article.story is None
        self._pin_top = pin
        stories.reload(reset=pin)
        self.update_status_position()

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

    async def action_scroll_down(self) -> None:
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
        self.service.set_read(story.id, not story.read)
        self.stories.mark(story.id, read=not story.read)
        self.reload_feeds()

    def action_refresh_feed(self) -> None:
        choice = self.feeds.current
        if choice is not None and choice.feed is not None:
            self.run_refresh([choice.feed.id])
        else:
            self.run_refresh(None)

    def action_refresh_all(self) -> None:
        self.run_refresh(None)

    def _drawer_open(self) -> bool:
        """The related sidebar floats over the article (a narrow screen) and is shown."""
        return self.has_class("narrow") and bool(self.sidebar.display)

    def close_drawer(self) -> None:
        """Hide the sidebar drawer and give the keys back to the article."""
        self.sidebar_shown = False
        self.article.focus()

    def action_cancel(self) -> None:
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
                placeholder="words to find in titles and full text",
                hint="Escape on the list goes back to the feed.",
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
        sidebar.show_reasons = not sidebar.show_reasons
        if sidebar.show_reasons and not sidebar.display:
            self.sidebar_shown = True

    def action_mark_all_read(self) -> None:
        """Mark every story of the current feed (or of every feed) read, after asking."""
        choice = self.feeds.current
        feed = choice.feed if choice is not None and self._search_query is None else None
        unread = self.service.store.count_stories(
            StoryFilter(feed_id=feed.id if feed else None, unread=True)
        )
        if not unread:
            self.notify("Nothing unread here.", timeout=2)
            return
        question = Text(f"Mark {unread:,} unread {'story' if unread == 1 else 'stories'} in ")
        question.append(clean_text(feed.title) if feed else "every feed", style="bold")
        question.append(" read?")

        def mark(yes: bool | None) -> None:
            if not yes:
                return
            changed = self.service.store.mark_feed_read(feed.id if feed else None)
            self.reload_lists()
            self.notify(f"Marked {changed:,} read.", timeout=2)

        self.app.push_screen(ConfirmDialog(question, yes_label="Mark read"), mark)

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
