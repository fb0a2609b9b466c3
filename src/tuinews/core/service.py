"""The one facade the app and the CLI talk to.

It owns the store, the fetcher and the extraction pool, and does the slow work: refreshing feeds
(async fetches, parsing on both cores for big refreshes, one transaction per feed), fetching and
extracting articles, adding feeds with autodiscovery, OPML, export and related stories. Every
method is blocking and thread-safe; the app calls them from worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .blobs import pack_page
from .errors import (
    ExtractError,
    FetchError,
    NotFoundError,
    ParseError,
    SyncError,
    TuinewsError,
)
from .export import export_filename, export_markdown, write_export
from .fetch import AsyncClient, Fetcher, FetchLimits, FetchResult, retry_at
from .models import (
    Article,
    ExtractedArticle,
    Feed,
    ParsedEntry,
    ParsedFeed,
    RelatedStory,
    Story,
)
from .pipes import ExtractWorkers, ParseWorkers
from .store import CleanupReport, FeedUpdate, Store, StoryFilter
from .text import clean_text, drop_leading_title, shown_title
from .vault import BatchExport, vault_markdown
from .writer import BatchWriter

if TYPE_CHECKING:
    from .extract import ExtractorPool
    from .sync.account import Account
    from .sync.engine import SyncProgress, SyncSummary

# The parsers (lxml, feedparser-rs) and the extraction module are imported where they are used:
# a refresh of many feeds parses in worker processes, and the refresh's own process then never
# loads them (7 MB of its peak RSS at 1,000 feeds, bench/RESULTS.md).

log = logging.getLogger(__name__)
T = TypeVar("T")

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_IMAGES = 12
"""Images of one article fetched for the article pane (the rest stay links)."""
MAX_IMAGE_BYTES = 5 * 1024 * 1024
_PREFETCH_LINGER = 0.4
"""Seconds a prefetch's commit waits for more pages (see ``_fetch_articles_async``)."""
# Pages opened from a related link that were not in the cache are kept as stories of this
# pseudo-feed, so they read offline later like everything else.
LINKED_PAGES_URL = "tuinews:linked-pages"
LINKED_PAGES_TITLE = "Linked pages"


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What a refresh did with one feed."""

    feed_id: int
    title: str
    url: str
    outcome: str
    """"new" (stored, maybe 0 new stories), "unchanged" (304), "failed" or "skipped"."""
    new: int = 0
    error: str | None = None


@dataclass(slots=True)
class RefreshSummary:
    """The outcome of one refresh."""

    results: list[FeedResult] = field(default_factory=list)
    articles_fetched: int = 0
    articles_failed: int = 0
    seconds: float = 0.0

    @property
    def new_stories(self) -> int:
        return sum(r.new for r in self.results)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failed(self) -> list[FeedResult]:
        return [r for r in self.results if r.outcome == "failed"]


ProgressCallback = Callable[[int, int, FeedResult], None]
PARSE_WORKERS_MIN_FEEDS = 1
PARSE_WORKERS_MIN_BYTES = 16 * 1024 * 1024
"""Feed bytes a refresh must expect to parse to start parsing workers (``_refresh_async``):
about 0.3 s of parsing in-process (20 ms a MB). Below it a worker saved no CPU and little or no
time, and cost 24 MB (bench/RESULTS.md: 50 feeds of 130 KB, 6.5 MB, 0.49 s of CPU in-process
against 0.53 s with a worker, 55 against 79 MiB)."""
PREFETCH_LIMIT = 200
"""Pages a refresh prefetches at most, newest first (``[reader] prefetch_limit``)."""
ArticleProgress = Callable[[int, int], None]


def _is_email_only(text: str | None) -> bool:
    return bool(text) and "@" in (text or "") and " " not in (text or "").strip()


class Service:
    """The facade over store, fetcher and extraction.

    Args:
        db_path: the SQLite cache file.
        limits: network limits.
        extract_workers: processes for extraction (0: one per core).
        extract_timeout: seconds one page may take to extract.
        fetcher: a custom fetcher (tests).
        prefetch_limit: pages one refresh prefetches at most (new stories first, then the
            newest stories still without full text).
    """

    def __init__(
        self,
        db_path: Path | str,
        *,
        limits: FetchLimits | None = None,
        extract_workers: int = 0,
        extract_timeout: float = 20.0,
        fetcher: Fetcher | None = None,
        prefetch_limit: int = PREFETCH_LIMIT,
    ) -> None:
        self.store = Store(db_path)
        # The sync account's file and lock live beside the cache.
        self.data_dir = Path(db_path).parent
        self.fetcher = fetcher or Fetcher(limits)
        self._extract_workers = extract_workers or max(1, min(2, multiprocessing.cpu_count()))
        self._extract_timeout = extract_timeout
        self._pool: ExtractorPool | None = None
        self._pool_lock = threading.Lock()
        # A refresh parses in worker processes (one fewer than the cores, at most 3) once
        # the feed bytes it expects to parse reach this many (those fetched so far, and the
        # feeds still to come at the same rate); a smaller refresh parses in its own thread,
        # where a worker's start-up (about 70 ms of another core, and pickling each feed both
        # ways) would cost more than it saves. The bytes decide, not the feed count
        # (bench/RESULTS.md).
        self.parse_workers_min_bytes = PARSE_WORKERS_MIN_BYTES
        self.parse_workers_min_feeds = PARSE_WORKERS_MIN_FEEDS
        # At most this many pages are prefetched per refresh (config: reader.prefetch_limit).
        self.prefetch_limit = prefetch_limit
        self.parse_workers_started = 0  # worker processes started by the last refresh (tests)
        cores = multiprocessing.cpu_count()
        self.parse_workers = max(0, min(3, cores - 1))

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def extractor(self) -> ExtractorPool:
        """The extraction process pool, started on first use."""
        with self._pool_lock:
            if self._pool is None:
                from .extract import ExtractorPool  # noqa: PLC0415 - lazy, see the imports

                self._pool = ExtractorPool(
                    max_workers=self._extract_workers, timeout=self._extract_timeout
                )
            return self._pool

    def close(self) -> None:
        """Stop the worker processes and close the network client and the cache."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
        self.fetcher.close()
        self.store.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading the cache ---------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        return self.store.feeds()

    def story(self, story_id: int) -> Story:
        return self.store.story(story_id)

    def list_stories(
        self, flt: StoryFilter = StoryFilter(), *, limit: int = 100, offset: int = 0
    ) -> list[Story]:
        return self.store.list_stories(flt, limit=limit, offset=offset)

    def count_stories(self, flt: StoryFilter = StoryFilter()) -> int:
        return self.store.count_stories(flt)

    def search(self, query: str, *, limit: int = 100) -> list[Story]:
        return self.store.stories_by_ids(self.store.search_ids(query, limit=limit))

    def set_read(self, story_id: int, read: bool = True) -> None:
        self.store.set_read([story_id], read)

    def set_starred(self, story_id: int, starred: bool) -> None:
        self.store.set_starred(story_id, starred)

    # -- feeds ---------------------------------------------------------------------------

    def find_feed(self, key: str) -> Feed:
        return self.store.find_feed(key)

    def remove_feed(self, feed_id: int) -> None:
        self.store.remove_feed(feed_id)

    def add_feed(self, url: str, *, prefetch: bool = False) -> tuple[Feed, int]:
        """Subscribe to a feed URL, or to the feed a web page announces (autodiscovery).

        Fetches and stores the feed at once. Returns the feed and how many stories it brought.

        Raises:
            FetchError: the address cannot be fetched.
            ParseError: neither a feed nor a page that links to one.
        """
        url = feed_address(url)
        from . import feeds as feedmod  # noqa: PLC0415 - lazy, see the imports

        result = self.fetcher.fetch(url, accept=FEED_ACCEPT)
        try:
            parsed = feedmod.parse_feed(
                result.content, url=result.url, content_type=result.content_type
            )
            feed_url = result.permanent_url or url
        except ParseError as first_error:
            parsed, result, feed_url = self._discover(result, first_error)
        feed = self.store.add_feed(feed_url, parsed.title, prefetch=prefetch)
        update = self.store.store_feed(
            feed.id,
            parsed,
            etag=result.etag,
            last_modified=result.last_modified,
            max_age=result.max_age,
        )
        return self.store.feed(feed.id), update.new

    def _discover(
        self, page: FetchResult, first_error: ParseError
    ) -> tuple[ParsedFeed, FetchResult, str]:
        from . import feeds as feedmod  # noqa: PLC0415 - lazy, see the imports
        from .extract import decode_html  # noqa: PLC0415 - lazy, see the imports

        html = decode_html(page.content, page.content_type)
        candidates = feedmod.discover_feed_urls(html, page.url)
        if not candidates:
            raise ParseError(
                f"no feed at {page.url}: {first_error.message}; the page links to no feed"
            )
        errors: list[str] = []
        for candidate in candidates[:5]:
            try:
                result = self.fetcher.fetch(candidate, accept=FEED_ACCEPT)
                parsed = feedmod.parse_feed(
                    result.content, url=result.url, content_type=result.content_type
                )
                return parsed, result, result.permanent_url or candidate
            except TuinewsError as exc:
                errors.append(f"{candidate}: {exc}")
        raise ParseError("the page's feed links did not work: " + "; ".join(errors))

    # -- refresh -------------------------------------------------------------------------

    def refresh(
        self,
        feed_ids: Sequence[int] | None = None,
        *,
        prefetch: bool | None = None,
        progress: ProgressCallback | None = None,
        article_progress: ArticleProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> RefreshSummary:
        """Fetch feeds (all when ``feed_ids`` is None) and store their new stories.

        Feeds answering 304 cost no parsing and no writes. Each feed is stored in its own
        transaction. A feed that fails keeps its stories and gets its error recorded. Feeds
        marked gone (404/410) or asked to wait (Retry-After) are skipped unless named.

        Args:
            feed_ids: which feeds; None for all.
            prefetch: fetch the full text of new stories (None: each feed's own setting).
            progress: called as ``progress(done, total, result)`` after each feed, from the
                thread that runs the refresh.
            article_progress: called as ``(done, total)`` while prefetching articles.
            cancel: set it to stop between feeds.
        """
        started = time.monotonic()
        all_feeds = self.store.feeds()
        named = feed_ids is not None
        if feed_ids is not None:
            wanted = set(feed_ids)
            feeds = [f for f in all_feeds if f.id in wanted]
        else:
            feeds = all_feeds
        # The pseudo-feed of pages opened from related links has nothing to fetch; the sync
        # server's feeds come from the server (a sync), not from their sites.
        synced = self.account_feed_ids()
        feeds = [f for f in feeds if f.url != LINKED_PAGES_URL and f.id not in synced]
        summary = RefreshSummary()
        new_ids: list[int] = []
        summary.results, new_ids = asyncio.run(
            self._refresh_async(feeds, named, prefetch, progress, cancel)
        )
        todo = self._prefetch_todo(feeds, prefetch, new_ids)
        if todo and not (cancel and cancel.is_set()):
            done, failed = self.fetch_articles(todo, progress=article_progress, cancel=cancel)
            summary.articles_fetched, summary.articles_failed = done, failed
        summary.seconds = time.monotonic() - started
        return summary

    def _prefetch_todo(
        self, feeds: Sequence[Feed], prefetch: bool | None, new_ids: Sequence[int]
    ) -> list[int]:
        """The stories a refresh prefetches: this refresh's new ones first, then every other
        story of the prefetching feeds that has no full text yet, newest first, at most
        ``prefetch_limit`` in all (a feed subscribed without prefetch and refreshed later with
        it gets its stories too)."""
        ids = [f.id for f in feeds if prefetch or (prefetch is None and f.prefetch)]
        if not ids or self.prefetch_limit <= 0:
            return []
        todo = list(dict.fromkeys(new_ids))[: self.prefetch_limit]
        if len(todo) < self.prefetch_limit:
            seen = set(todo)
            older = self.store.story_ids_to_prefetch(ids, limit=self.prefetch_limit)
            todo += [i for i in older if i not in seen][: self.prefetch_limit - len(todo)]
        return todo

    async def _refresh_async(
        self,
        feeds: list[Feed],
        named: bool,
        prefetch: bool | None,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> tuple[list[FeedResult], list[int]]:
        # Bounds the feeds in flight (being fetched, parsed, or waiting for the writer), and
        # their tasks, which are only created as slots free up: without it every fetched body
        # piles up in memory at once. It is also the number of concurrent fetches: measured at
        # 1,000 feeds, allowing twice as many feeds in flight as fetches was no faster and held
        # 10 MB more (bench/RESULTS.md).
        in_flight = asyncio.Semaphore(self.fetcher.limits.concurrency)
        # One writer thread: SQLite has one writer at a time anyway, the thread keeps its own
        # connection, and the feeds that are ready together commit together.
        writer = BatchWriter(self.store)
        results: list[FeedResult] = []
        new_ids: list[int] = []
        now = datetime.now(UTC)
        parsers: ParseWorkers | None = None
        self.parse_workers_started = 0
        may_use_workers = self.parse_workers > 0 and len(feeds) >= self.parse_workers_min_feeds
        answered = 0  # feeds whose fetch has ended (a body, a 304 or an error)
        fetched = 0  # bytes of the feed bodies fetched so far

        def count_answer(body: bytes | None) -> None:
            nonlocal answered, fetched
            answered += 1
            fetched += len(body or b"")

        def workers_pay() -> bool:
            """Whether the bytes to parse, as fetched so far and expected of the feeds still to
            come at the same rate, are worth a worker's start-up (see PARSE_WORKERS_MIN_BYTES)."""
            expected = fetched + fetched / max(answered, 1) * (len(feeds) - answered)
            return expected >= self.parse_workers_min_bytes

        async def parse(result: FetchResult) -> ParsedFeed:
            nonlocal parsers
            if parsers is None and may_use_workers and workers_pay():
                parsers = ParseWorkers(self.parse_workers)
            if parsers is not None:
                # Once started, the workers parse every feed: the refresh's own process then
                # never loads the parsers (lxml, feedparser-rs: 7 MB of its memory).
                return await parsers.parse(result.content, result.url, result.content_type)
            from .pipeworker import parse_for_cache  # noqa: PLC0415 - lazy, see the imports

            return parse_for_cache(result.content, result.url, result.content_type)

        async def write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
            """Run a store write on the one writer thread; returns once it is committed."""
            return await asyncio.wrap_future(writer.submit(fn, *args, **kwargs))

        async def one(feed: Feed, client: AsyncClient) -> FeedResult:
            if cancel is not None and cancel.is_set():
                return FeedResult(feed.id, feed.title, feed.url, "skipped", error="cancelled")
            if not named and feed.gone:
                return FeedResult(
                    feed.id, feed.title, feed.url, "skipped", error=feed.last_error or "gone"
                )
            if not named and feed.retry_after and feed.retry_after > now:
                wait = f"the server asked to wait until {feed.retry_after:%H:%M} UTC"
                return FeedResult(feed.id, feed.title, feed.url, "skipped", error=wait)
            try:
                result = await self.fetcher.fetch_async(
                    client,
                    feed.url,
                    etag=feed.etag,
                    last_modified=feed.last_modified,
                    accept=FEED_ACCEPT,
                )
            except FetchError as exc:
                count_answer(None)
                await write(
                    self.store.record_feed_status,
                    feed.id,
                    status=exc.status,
                    error=exc.message,
                    retry_after=retry_at(exc.retry_after),
                    gone=exc.gone,
                )
                return FeedResult(feed.id, feed.title, feed.url, "failed", error=exc.message)
            count_answer(result.content)
            if result.not_modified:
                await write(
                    self.store.record_feed_status,
                    feed.id,
                    status=304,
                    error=None,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    new_url=result.permanent_url,
                    server_interval=result.max_age,
                )
                return FeedResult(feed.id, feed.title, feed.url, "unchanged")
            status, etag, modified = result.status, result.etag, result.last_modified
            max_age = result.max_age
            new_url = result.permanent_url
            try:
                parsed = await parse(result)
            except ParseError as exc:
                await write(
                    self.store.record_feed_status, feed.id, status=status, error=exc.message
                )
                return FeedResult(feed.id, feed.title, feed.url, "failed", error=exc.message)
            finally:
                del result  # the body: not kept while the parsed feed waits for the writer
            update: FeedUpdate = await write(
                self.store.store_feed,
                feed.id,
                parsed,
                status=status,
                etag=etag,
                last_modified=modified,
                new_url=new_url,
                max_age=max_age,
            )
            if prefetch or (prefetch is None and feed.prefetch):
                new_ids.extend(update.new_story_ids)
            return FeedResult(feed.id, parsed.title or feed.title, feed.url, "new", update.new)

        async def guarded(feed: Feed, client: AsyncClient) -> FeedResult:
            try:
                return await one(feed, client)
            except TuinewsError as exc:  # a store error on one feed must not stop the rest
                log.warning("refresh of %s failed: %s", feed.url, exc)
                return FeedResult(feed.id, feed.title, feed.url, "failed", error=exc.message)
            except Exception as exc:  # a parser bug: keep going, say what happened
                log.exception("unexpected error refreshing %s", feed.url)
                return FeedResult(
                    feed.id, feed.title, feed.url, "failed", error=f"internal error: {exc!r}"
                )

        def finished(task: asyncio.Task[FeedResult]) -> None:
            in_flight.release()
            if task.cancelled():
                return
            res = task.result()  # guarded() returns a result for every failure
            results.append(res)
            if progress is not None:
                progress(len(results), len(feeds), res)

        tasks: set[asyncio.Task[FeedResult]] = set()
        try:
            async with self.fetcher.async_client() as client:
                for feed in feeds:
                    await in_flight.acquire()
                    task = asyncio.create_task(guarded(feed, client))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    task.add_done_callback(finished)
                while tasks:
                    await asyncio.wait(set(tasks))
        finally:
            for task in tasks:
                task.cancel()
            writer.shutdown(wait=True)
            if parsers is not None:
                self.parse_workers_started = parsers.started
                await parsers.close()
        return results, new_ids

    # -- articles ------------------------------------------------------------------------

    def cached_article(self, story_id: int) -> Article | None:
        """The stored article, extracting a stored raw page if needed. Never uses the network."""
        article = self.store.article(story_id)
        if article is None and self.store.raw_page(story_id) is not None:
            article = self._extract_stored(story_id)
        if article is None:
            return None
        return self._merge(self.store.story(story_id), article)

    def fetch_article(self, story_id: int, *, force: bool = False) -> Article:
        """The story's full text: from the cache, else fetched and extracted now.

        A page that is not HTML or has no article text is recorded with the reason, and the
        returned article carries the feed's summary plus ``error``.

        Raises:
            FetchError: the page could not be fetched (nothing is recorded: try again later).
        """
        if not force:
            cached = self.cached_article(story_id)
            if cached is not None:
                return cached
        story = self.store.story(story_id)
        if not story.link:
            return self._fallback(story, "the feed gives no link to a web page for this story")
        result = self.fetcher.fetch(story.link, accept=PAGE_ACCEPT)
        self.store.store_raw_page(story_id, result.url, result.content, result.content_type)
        article = self._extract_stored(story_id)
        assert article is not None
        article = self._second_look(story_id, result, article)
        return self._merge(story, article)

    def _second_look(self, story_id: int, result: FetchResult, article: Article) -> Article:
        """Pages that need a second look (issue 14): the next pages of a multi-page article
        joined to the first; the AMP or print version when the page has no article (or only
        a teaser). Returns the stored article, changed or not. Network failures on the extra
        pages keep what the first page gave."""
        from .extract import decode_html  # noqa: PLC0415 - lazy, see the imports
        from .second_look import MAX_PAGES, is_next_page, page_links

        html = decode_html(result.content, result.content_type)
        links = page_links(html, result.url)
        if article.error or article.notice:
            for alternative in (links.amp, links.print_version):
                if not alternative:
                    continue
                try:
                    page = self.fetcher.fetch(alternative, accept=PAGE_ACCEPT)
                    other = self.extractor.extract_page(page.content, page.content_type, page.url)
                except (FetchError, ExtractError) as exc:
                    log.info("second look at %s failed: %s", alternative, exc)
                    continue
                if other.notice is None and other.word_count > article.word_count:
                    self.store.store_article(story_id, result.url, other)
                    return self.store.article(story_id) or article
            return article
        if not links.next_page:
            return article
        try:
            first = self.extractor.extract_page(result.content, result.content_type, result.url)
        except ExtractError:
            return article
        pages, seen = [first], {result.url}
        next_url: str | None = links.next_page
        while next_url and next_url not in seen and len(pages) < MAX_PAGES:
            seen.add(next_url)
            try:
                page = self.fetcher.fetch(next_url, accept=PAGE_ACCEPT)
                pages.append(self.extractor.extract_page(page.content, page.content_type, page.url))
            except (FetchError, ExtractError) as exc:
                log.info("page %d of %s: %s", len(pages) + 1, result.url, exc)
                break
            candidate = page_links(decode_html(page.content, page.content_type), page.url)
            next_url = candidate.next_page
            if next_url and not is_next_page(result.url, next_url):
                break
        if len(pages) == 1:
            return article
        joined = replace(
            first,
            markdown="\n\n".join(p.markdown for p in pages),
            text="\n\n".join(p.text for p in pages),
            word_count=sum(p.word_count for p in pages),
            related_links=[link for p in pages for link in p.related_links],
        )
        self.store.store_article(story_id, result.url, joined)
        return self.store.article(story_id) or article

    def _extract_stored(self, story_id: int) -> Article | None:
        raw = self.store.raw_page(story_id)
        if raw is None:
            return None
        url, body, ctype = raw
        try:
            extracted = self.extractor.extract_page(body, ctype, url)
            self.store.store_article(story_id, url, extracted)
        except ExtractError as exc:
            self.store.store_article_error(story_id, url, exc.message)
        return self.store.article(story_id)

    def _fallback(self, story: Story, reason: str) -> Article:
        return Article(
            story_id=story.id,
            url=story.link or "",
            markdown=self.summary_markdown(story),
            title=story.title,
            author=story.author,
            published=story.published,
            error=reason,
        )

    def summary_markdown(self, story: Story) -> str:
        """What to show without full text: the feed's own content, else its summary."""
        from .extract import extract_article  # noqa: PLC0415 - lazy, see the imports

        html = self.store.story_content(story.id)
        if html and len(html) > 200:
            try:
                doc = f"<html><body><article>{html}</article></body></html>"

                return extract_article(doc, story.link or "").markdown
            except ExtractError:
                pass
        return story.summary

    def _merge(self, story: Story, article: Article) -> Article:
        """Prefer the feed's title, author and date where the page's are missing or worse."""
        author = article.author
        if story.author and not _is_email_only(story.author):
            author = story.author
        markdown = article.markdown
        if article.error and not markdown:
            markdown = self.summary_markdown(story)
        markdown = drop_leading_title(markdown, story.title)  # issue 15 item 7
        notice = article.notice
        if notice and not article.error:
            # A teaser on the page: the feed entry's own content may be the whole article.
            from .extract import count_words  # noqa: PLC0415 - lazy, see the imports

            feed_text = self.summary_markdown(story)
            if count_words(feed_text) > max(1.5 * article.word_count, article.word_count + 50):
                markdown, notice = feed_text, "the page had only a teaser: this is the feed's text"
        return Article(
            story_id=article.story_id,
            url=article.url,
            markdown=markdown,
            title=shown_title(
                story.title, article.title, [story.feed_title, article.site_name or ""]
            )
            or None,
            author=author,
            published=story.published or article.published,
            site_name=article.site_name,
            language=article.language,
            top_image=article.top_image,
            word_count=article.word_count,
            fetched_at=article.fetched_at,
            error=article.error,
            related_links=article.related_links,
            notice=notice,
        )

    def article_images(
        self, story_id: int, *, fetch: bool = True, limit: int = MAX_IMAGES
    ) -> list[tuple[str, bytes]]:
        """The images of a story's article (lead image first), as (URL, bytes): those kept in
        the cache, and with ``fetch`` the others fetched now and kept. For a worker thread.

        An image that cannot be fetched (or is not an image, or is larger than
        :data:`MAX_IMAGE_BYTES`) is recorded with why and not asked for again.
        """
        from .markdown import image_urls  # noqa: PLC0415 - lazy, see the imports

        article = self.store.article(story_id)
        if article is None or not article.markdown:
            return []
        kept = self.store.images(story_id)
        found: list[tuple[str, bytes]] = []
        for url in image_urls(article.markdown)[:limit]:
            if url in kept:
                data = kept[url][1]
                if data:
                    found.append((url, data))
                continue
            if not fetch:
                continue
            try:
                result = self.fetcher.fetch(url, accept="image/*")
                ctype = (result.content_type or "").split(";")[0].strip().lower()
                if not ctype.startswith("image/") or len(result.content) > MAX_IMAGE_BYTES:
                    raise FetchError(f"not an image of at most 5 MB ({ctype or 'no type'})")
            except FetchError as exc:
                self.store.store_image(story_id, url, None, None, exc.message)
                continue
            self.store.store_image(story_id, url, ctype, result.content)
            found.append((url, result.content))
        return found

    def fetch_articles(
        self,
        story_ids: Sequence[int],
        *,
        progress: ArticleProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[int, int]:
        """Fetch and extract many stories' pages (prefetch): concurrent fetches, extraction
        on every core. Returns (stored, failed)."""
        todo = self.store.story_ids_without_article(list(story_ids))
        if not todo:
            return 0, 0
        stored, failed = asyncio.run(self._fetch_articles_async(todo, progress, cancel))
        if cancel is None or not cancel.is_set():
            self._second_look_after_prefetch(todo)
        return stored, failed

    def _second_look_after_prefetch(self, story_ids: Sequence[int]) -> None:
        """The second look (see :meth:`_second_look`) for prefetched pages that need one: a
        page that declares a next page, or one without an article (or with only a teaser)
        that declares an AMP or print version. Found with a byte search of the stored page,
        so the other pages cost one read each."""
        for story_id in story_ids:
            raw = self.store.raw_page(story_id)
            if raw is None:
                continue
            url, body, content_type = raw
            head = body[:300_000].lower()
            paged = any(mark in head for mark in (b'rel="next"', b"rel='next'", b"rel=next"))
            other = b"amphtml" in head or b'media="print"' in head or b"media='print'" in head
            if not paged and not other:
                continue
            article = self.store.article(story_id)
            if article is None or not paged and not (article.error or article.notice):
                continue
            result = FetchResult(url, 200, body, content_type, None, None)
            try:
                self._second_look(story_id, result, article)
            except TuinewsError as exc:  # the first page stays as it was
                log.info("second look at %s failed: %s", url, exc)

    async def _fetch_articles_async(
        self,
        story_ids: list[int],
        progress: ArticleProgress | None,
        cancel: threading.Event | None,
    ) -> tuple[int, int]:
        sem = asyncio.Semaphore(self.fetcher.limits.concurrency)
        # Each page's writes wait for others to share their commit: a prefetch stores pages
        # one by one as workers finish them, and a commit per page (a WAL write and a
        # full-text index flush) cost more than its storing did.
        writer = BatchWriter(self.store, linger=_PREFETCH_LINGER)
        stories = {s.id: s for s in self.store.stories_by_ids(story_ids)}
        counts = {"ok": 0, "failed": 0}
        done = 0
        # Sniffing, decoding and extraction happen in worker processes fed through pipes;
        # they start below, before the first pages are fetched.
        workers = ExtractWorkers(self._extract_workers, timeout=self._extract_timeout)

        # Pages being fetched or extracted are bounded, so a thousand new stories do not mean
        # a thousand pages in memory at once (each worker has several queued, so that it
        # never waits for the next page). A page leaves that bound once extracted: waiting
        # for its commit must not keep the next page from a worker.
        in_flight = asyncio.Semaphore(2 * self.fetcher.limits.concurrency)
        # Pages waiting for their commit are bounded too (a writer slowed by another
        # process's write must not make them pile up).
        unsaved = asyncio.Semaphore(4 * self.fetcher.limits.concurrency)
        extracting = 0  # pages being fetched or extracted
        producing_done = False  # every page has its task

        def save(
            story_id: int,
            result: FetchResult,
            packed: bytes | None,
            extracted: ExtractedArticle | None,
            error: str,
        ) -> None:
            """On the writer thread: the page as fetched with its article, or with why it has
            none (one job, so one wake-up of the event loop per page)."""
            if packed is None:  # the worker gave up on it (too slow, or it crashed)
                packed = pack_page(result.content)
            self.store.store_fetched_page(
                story_id, result.url, packed, result.content_type, extracted, error
            )

        async def one(story: Story, client: AsyncClient) -> None:
            """Fetch and extract one page (holding an ``in_flight`` slot), then store it."""
            nonlocal extracting
            try:
                if cancel is not None and cancel.is_set() or not story.link:
                    return
                async with sem:
                    try:
                        result = await self.fetcher.fetch_async(
                            client, story.link, accept=PAGE_ACCEPT
                        )
                    except FetchError as exc:
                        log.info("prefetch of %s failed: %s", story.link, exc)
                        counts["failed"] += 1
                        return
                packed: bytes | None = None
                extracted: ExtractedArticle | None = None
                try:
                    packed, extracted, error = await workers.extract_page(
                        result.content, result.content_type, result.url
                    )
                except ExtractError as exc:  # too slow, or it crashed the worker
                    error = exc.message
                else:
                    result = replace(result, content=b"")  # packed holds it now
                await unsaved.acquire()
            finally:
                in_flight.release()
                extracting -= 1
                if not extracting and producing_done:
                    writer.flush()  # the last pages: no linger for more
            try:
                await asyncio.wrap_future(
                    writer.submit(save, story.id, result, packed, extracted, error)
                )
            finally:
                unsaved.release()
            counts["ok" if extracted is not None else "failed"] += 1

        todo = [stories[i] for i in story_ids if i in stories]
        tasks: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            nonlocal done
            tasks.discard(task)
            if task.cancelled():
                return
            if (exc := task.exception()) is not None:  # one bad page must not stop the rest
                log.error("prefetch failed", exc_info=exc)
                counts["failed"] += 1
            done += 1
            if progress is not None:
                progress(done, len(todo))

        try:
            await workers.start()
            async with self.fetcher.async_client() as client:
                # A task per page in flight, not one per page up front.
                for story in todo:
                    await in_flight.acquire()
                    extracting += 1
                    task = asyncio.create_task(one(story, client))
                    tasks.add(task)
                    task.add_done_callback(finished)
                producing_done = True
                if not extracting:
                    writer.flush()
                while tasks:
                    await asyncio.wait(set(tasks))
        finally:
            for task in list(tasks):
                task.cancel()
            await workers.close()
            writer.shutdown(wait=True)
        return counts["ok"], counts["failed"]

    def open_link(self, url: str, title: str = "") -> tuple[Story, Article]:
        """Open a page that may not be in the cache (a related link): fetched, extracted and
        kept as a story of the "Linked pages" pseudo-feed, so it reads offline next time.

        Raises:
            FetchError: the page cannot be fetched (nothing is stored).
        """
        from .fetch import check_url

        url = check_url(url)
        known = self.store.stories_with_link([url])
        if url in known:
            story_id = known[url]
            return self.store.story(story_id), self.fetch_article(story_id)
        result = self.fetcher.fetch(url, accept=PAGE_ACCEPT)
        feed = self.store.add_feed(LINKED_PAGES_URL, LINKED_PAGES_TITLE)
        entry = ParsedEntry(
            guid=url, link=url, title=title or url, published=datetime.now(UTC), summary=""
        )
        parsed = ParsedFeed(
            title=LINKED_PAGES_TITLE, site_url=None, entries=[entry], format="internal"
        )
        update = self.store.store_feed(feed.id, parsed, status=None)
        story_id = (
            update.new_story_ids[0]
            if update.new_story_ids
            else (self.store.stories_with_link([url])[url])
        )
        self.store.store_raw_page(story_id, result.url, result.content, result.content_type)
        article = self._extract_stored(story_id)
        assert article is not None
        if article.title and not title:
            self.store.rename_story(story_id, article.title)
        story = self.store.story(story_id)
        return story, self._merge(story, article)

    # -- one row per event (issue 13) ------------------------------------------------------

    def fold_events(self, *, cancel: threading.Event | None = None) -> int:
        """Fold the stories not looked at yet into events (other feeds' reports of one
        event share its row). Returns how many stories were looked at."""
        from .folding import fold_events  # noqa: PLC0415 - lazy, see the imports

        return fold_events(self.store, cancel=cancel)

    def set_read_event(self, story_id: int, read: bool = True) -> list[int]:
        """Mark a story and every other report of its event read (or unread); returns them."""
        ids = self.store.event_of(story_id) or [story_id]
        self.store.set_read(ids, read)
        return ids

    # -- related -------------------------------------------------------------------------

    def related(self, story_id: int, *, limit: int = 10) -> list[RelatedStory]:
        """Stories related to a story, grouped: same event elsewhere, linked from its page,
        more on this topic."""
        from .related import related_stories

        return related_stories(self.store, story_id, limit=limit)

    # -- export and OPML -----------------------------------------------------------------

    def _article_to_export(self, story: Story, *, fetch: bool) -> Article | None:
        """The article an export writes: fetched when asked (a failure exports the summary
        with why), else what the cache holds."""
        if not fetch:
            return self.cached_article(story.id)
        try:
            return self.fetch_article(story.id)
        except FetchError as exc:
            return self._fallback(story, exc.message)

    def export(
        self,
        story_ids: Sequence[int],
        destination: Path | None = None,
        *,
        force: bool = False,
        fetch: bool = True,
    ) -> list[Path]:
        """Export stories as Markdown files.

        ``destination`` is a directory (created if needed), or for a single story a file path
        ending in ``.md``. Existing files are not overwritten without ``force``.
        """
        destination = Path(destination or Path.cwd())
        written: list[Path] = []
        used: set[str] = set()
        now = datetime.now(UTC)
        for story_id in story_ids:
            story = self.store.story(story_id)
            article = self._article_to_export(story, fetch=fetch)
            related = self.related(story_id)
            text = export_markdown(story, article, related, exported_at=now)
            if (
                len(story_ids) == 1
                and destination.suffix.lower() in (".md", ".markdown")
                and (not destination.is_dir())
            ):
                path = write_export(text, destination.parent, destination.name, force=force)
            else:
                name = export_filename(story, article)
                # Different stories can share a name (same day, same or no title): number
                # them rather than have the second overwrite (or refuse) the first.
                stem, n = name.removesuffix(".md"), 1
                while name in used:
                    n += 1
                    name = f"{stem}-{n}.md"
                path = write_export(text, destination, name, force=force)
                used.add(path.name)
            written.append(path)
        return written

    def import_opml(self, data: bytes) -> tuple[list[Feed], int]:
        """Subscribe to every feed of an OPML document (no fetching: refresh does that).

        Returns the feeds added and how many were already subscribed.
        """
        from . import feeds as feedmod  # noqa: PLC0415 - lazy, see the imports

        outlines = feedmod.parse_opml(data)
        existing = {f.url: f for f in self.store.feeds()}
        added: list[Feed] = []
        skipped = 0
        for outline in outlines:
            if outline.xml_url in existing:
                skipped += 1
                known = existing[outline.xml_url]
                if outline.category and not known.folder:
                    # An OPML nesting gives a folder to a feed that had none (never moves one).
                    self.store.set_feed_folder(known.id, outline.category)
                continue
            feed = self.store.add_feed(outline.xml_url, outline.title)
            if outline.category:
                self.store.set_feed_folder(feed.id, outline.category)
                feed = self.store.feed(feed.id)
            existing[outline.xml_url] = feed
            added.append(feed)
        return added, skipped

    def export_opml(self) -> str:
        from . import feeds as feedmod  # noqa: PLC0415 - lazy, see the imports

        feeds = sorted(
            (f for f in self.store.feeds() if f.url != LINKED_PAGES_URL),
            key=lambda f: (f.folder is None, (f.folder or "").lower(), f.title.lower()),
        )
        return feedmod.write_opml((f.title, f.url, f.site_url, f.folder) for f in feeds)

    # -- issue 15: schedule, retention, marking lists, batch export ---------------------

    def due_feed_ids(self, default_interval: int, *, now: datetime | None = None) -> list[int]:
        """The feeds whose scheduled refresh is due (see :mod:`tuinews.core.schedule`)."""
        from .schedule import due_feed_ids

        return due_feed_ids(
            self.store.feeds(), default_interval=default_interval, now=now or datetime.now(UTC)
        )

    def refresh_due(
        self,
        default_interval: int,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RefreshSummary:
        """Refresh the feeds that are due (the app's background schedule, or a cron job)."""
        ids = self.due_feed_ids(default_interval)
        if not ids:
            return RefreshSummary()
        return self.refresh(ids, progress=progress, cancel=cancel)

    def set_read_many(self, story_ids: Sequence[int], read: bool, *, chunk: int = 500) -> int:
        """Mark many stories read or unread through :meth:`Store.set_read`, a chunk per
        transaction (a 100,000-story list never holds the write lock for long)."""
        ids = list(story_ids)
        for start in range(0, len(ids), chunk):
            self.store.set_read(ids[start : start + chunk], read)
        return len(ids)

    def mark_list_read(self, flt: StoryFilter) -> list[int]:
        """Mark every unread story of a list read; returns their ids (to undo it)."""
        ids = self.store.story_ids(flt, unread_only=True)
        self.set_read_many(ids, True)
        return ids

    def cleanup(
        self,
        *,
        keep_days: int,
        keep_per_feed: int,
        full_text_days: int,
        dry_run: bool = False,
        convert: bool = False,
        cancel: threading.Event | None = None,
    ) -> CleanupReport:
        """The retention (:meth:`Store.cleanup`)."""
        return self.store.cleanup(
            keep_days=keep_days,
            keep_per_feed=keep_per_feed,
            full_text_days=full_text_days,
            dry_run=dry_run,
            convert=convert,
            cancel=cancel,
        )

    def export_batch(
        self,
        story_ids: Sequence[int],
        directory: Path,
        *,
        fetch: bool = True,
        force: bool = False,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> BatchExport:
        """Export many stories into a notes folder (see :mod:`tuinews.core.vault`)."""
        from .vault import export_to_vault

        def render(story_id: int) -> tuple[Story, str]:
            story = self.store.story(story_id)
            article = self._article_to_export(story, fetch=fetch)
            return story, vault_markdown(story, article, self.related(story_id))

        return export_to_vault(
            story_ids, directory, render, force=force, progress=progress, cancel=cancel
        )

    # -- sync with a Google Reader API server (issue 16) ---------------------------------

    def account(self) -> Account | None:
        """The sync account, or None."""
        from .sync.account import load_account

        return load_account(self.data_dir)

    def account_feed_ids(self) -> set[int]:
        """The feeds the sync server carries (none without an account)."""
        from .sync.engine import account_feed_ids

        return account_feed_ids(self.store)

    def add_account(self, kind: str, url: str, user: str, password: str) -> Account:
        """Log in and keep the server's token (never the password).

        An address without the API's path is tried with FreshRSS's (``/api/greader.php``)
        when the address itself is not an API. Another server or user than the saved one
        starts afresh: the cache forgets the old server's ids and queued changes (its feeds
        stay, as local feeds).

        Raises:
            SyncError: wrong password, not a Google Reader API, unreachable...
        """
        from .sync.account import Account, save_account
        from .sync.engine import forget_server
        from .sync.greader import GReaderClient

        if kind != "greader":
            raise SyncError(f"unknown account kind {kind!r} (only greader is supported)")
        url = url.strip().rstrip("/")
        if "://" not in url:
            url = "https://" + url
        candidates = [url]
        if not url.endswith("greader.php"):
            candidates.append(url + "/api/greader.php")
        token = ""
        error: SyncError | None = None
        for candidate in candidates:
            with GReaderClient(candidate, timeout=self.fetcher.limits.read_timeout) as client:
                try:
                    token = client.login(user, password)
                    url = candidate
                    error = None
                    break
                except SyncError as exc:
                    if error is None:
                        error = exc
                    if exc.auth or exc.network:
                        break
        if error is not None:
            raise error
        old = self.account()
        if old is not None and (old.url, old.user) != (url, user):
            forget_server(self.store)
        account = Account(kind=kind, url=url, user=user, token=token)
        save_account(self.data_dir, account)
        return account

    def remove_account(self) -> tuple[bool, int]:
        """Forget the account: (was there one, queued changes dropped). Its feeds and
        stories stay, as local feeds."""
        from .sync.account import remove_account
        from .sync.engine import forget_server

        dropped = forget_server(self.store)
        return remove_account(self.data_dir), dropped

    def sync(
        self,
        *,
        progress: SyncProgress | None = None,
        cancel: threading.Event | None = None,
        recent_days: int = 14,
    ) -> SyncSummary:
        """One sync with the account's server: send queued changes, then pull.

        Raises:
            SyncError: no account, or the server failed (what was done stays done; queued
                changes stay queued).
        """
        from .sync.engine import Sync, sync_lock
        from .sync.greader import GReaderClient

        account = self.account()
        if account is None:
            raise SyncError(
                "no sync account: add one with `tuinews account add greader URL --user NAME`"
            )
        with (
            sync_lock(self.data_dir),
            GReaderClient(
                account.url, account.token, timeout=self.fetcher.limits.read_timeout
            ) as client,
        ):
            return Sync(
                self.store, client, recent_days=recent_days, progress=progress, cancel=cancel
            ).run()

    def sync_in_child(
        self,
        *,
        progress: SyncProgress | None = None,
        cancel: threading.Event | None = None,
        recent_days: int = 14,
    ) -> SyncSummary:
        """:meth:`sync` in a child process (:mod:`.sync.child`), for the app: the sync's JSON
        parsing and writes then never hold the app's event loop (they share no GIL). Setting
        ``cancel`` kills the child (safe at any point; the next sync goes on from there).

        Raises:
            SyncError: as :meth:`sync`.
        """
        import json
        import subprocess
        import sys

        from .sync.engine import SyncSummary

        if self.account() is None:
            raise SyncError(
                "no sync account: add one with `tuinews account add greader URL --user NAME`"
            )
        # A crash of the child (a traceback) goes to the log, beside what it logged itself.
        try:
            errors: Any = open(self.data_dir / "tuinews.log", "ab")  # noqa: SIM115
        except OSError:
            errors = subprocess.DEVNULL
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tuinews.core.sync.child",
                str(self.store.path),
                "--days",
                str(recent_days),
                "--timeout",
                str(self.fetcher.limits.read_timeout),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        if errors is not subprocess.DEVNULL:
            errors.close()  # the child has its own copy
        watcher: threading.Thread | None = None
        if cancel is not None:

            def watch() -> None:
                while proc.poll() is None:
                    if cancel.wait(0.1):
                        proc.kill()
                        return

            watcher = threading.Thread(target=watch, name="sync-cancel", daemon=True)
            watcher.start()
        result: dict[str, Any] = {}
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if "progress" in message and progress is not None:
                    phase, done, total = message["progress"]
                    progress(str(phase), int(done), int(total))
                elif "summary" in message or "error" in message:
                    result = message
        finally:
            proc.stdout.close()
            code = proc.wait()
            if watcher is not None:
                watcher.join(timeout=1)
        if "summary" in result:
            return SyncSummary(**result["summary"])
        if "error" in result:
            raise SyncError(str(result["error"]), auth=bool(result.get("auth")))
        if cancel is not None and cancel.is_set():
            raise SyncError("the sync was stopped")
        raise SyncError(f"the sync stopped unexpectedly (exit {code}; see tuinews.log)")

    def sync_status(self) -> dict[str, Any]:
        """For the status line and ``account list``: last sync, last error, queued changes."""
        from .sync.engine import get_state, pending_changes

        return {
            "last_sync": get_state(self.store, "last_sync"),
            "last_error": get_state(self.store, "last_error"),
            "pending": pending_changes(self.store),
        }

    def subscribe_on_account(self, url: str, folder: str | None = None) -> None:
        """Queue a subscription on the sync server (it fetches the feed itself)."""
        from .sync.engine import queue_subscribe

        if self.account() is None:
            raise SyncError("no sync account: `tuinews account add greader URL --user NAME`")
        url = url.strip()
        if "://" not in url:
            url = "https://" + url
        queue_subscribe(self.store, url, folder)

    def mark(self, story_ids: Sequence[int], action: str) -> int:
        """``read``, ``unread``, ``star`` or ``unstar`` stories (queued for the sync server
        when it carries them). Returns how many stories there were.

        Raises:
            NotFoundError: an id that is not a story (nothing is changed then).
        """
        stories = self.store.stories_by_ids(list(story_ids))
        found = {s.id for s in stories}
        missing = [i for i in story_ids if i not in found]
        if missing:
            raise NotFoundError(f"no story with id {missing[0]} (see `tuinews list`)")
        if action in ("read", "unread"):
            self.store.set_read(list(found), action == "read")
        elif action in ("star", "unstar"):
            for story_id in found:
                self.store.set_starred(story_id, action == "star")
        else:
            raise TuinewsError(f"unknown mark {action!r}: read, unread, star or unstar")
        return len(found)

    # -- the bundled samples ---------------------------------------------------------------

    def load_samples(
        self, *, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> RefreshSummary:
        """Subscribe to the bundled sample feeds and load them with their articles, offline.

        The samples are served from the package by the fetcher's sample transport, so this
        runs the same code as a real refresh.
        """
        from .samples import sample_feeds

        ids: list[int] = []
        for sample in sample_feeds():
            feed = self.store.add_feed(sample.url, sample.title, prefetch=True)
            ids.append(feed.id)
        self.store.set_setting("initialized", True)
        return self.refresh(ids, prefetch=True, progress=progress, cancel=cancel)

    def needs_first_run(self) -> bool:
        """True on the very first start (empty cache, never initialised)."""
        if self.store.get_setting("initialized", False) or self.store.feeds():
            return False
        # With a sync account the first start brings the server's feeds, not the samples.
        return self.account() is None


def feed_address(text: str) -> str:
    """What the user typed as a feed or site address, as a URL (``https://`` added).

    Raises:
        TuinewsError: the text cannot be a web address (no dot in the host, spaces), with
            what to type instead.
    """
    url = text.strip()
    shown = clean_text(url) or "(nothing)"
    hint = "type a feed URL or a site's address (e.g. https://example.org/feed.xml)"
    if not url or any(ch.isspace() for ch in url):
        raise TuinewsError(f"{shown} is not a web address: {hint}")
    if "://" not in url:
        host = url.split("/", 1)[0].split(":", 1)[0]
        if "." not in host and host != "localhost":
            raise TuinewsError(f"{shown} is not a web address: {hint}")
        url = "https://" + url
    return url


def iter_ids(values: Iterable[str]) -> list[int]:
    """Parse story ids given on a command line."""
    out: list[int] = []
    for value in values:
        if not value.isdigit():
            raise NotFoundError(f"{value!r} is not a story id (see `tuinews list`)")
        out.append(int(value))
    return out
