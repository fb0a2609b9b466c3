"""One sync with a Google Reader API server: push the outbox, then pull.

The order of a sync, and why:

1. **Push** the outbox (local read/unread/star/unstar, subscribe, unsubscribe, folder moves),
   oldest first. A row leaves the outbox only once the server confirmed it, so a sync killed
   half-way sends it again (every call is idempotent). Pushing first is what makes the
   conflict rule hold: a change made here since the last sync reaches the server before its
   state is read back, so it wins over what the server had.
2. **Subscriptions** (``subscription/list``): feeds and their folders (labels). A feed the
   server no longer has is removed here; a local feed with the same URL is adopted.
3. **Items**, by id lists (``stream/items/ids``): the unread ids, the starred ids, and the ids
   of the reading list newer than the last sync (``ot``; the first sync takes the last
   ``recent_days`` days). Only ids the cache does not know are fetched
   (``stream/items/contents``, in batches, each stored in one transaction), so a second sync
   with nothing new is four small requests however big the cache.
4. **State**: every known item's read and starred flags follow the two id lists, except for
   stories with a change still in the outbox (they keep the local state).

A story the server carries that a local feed already has (the same link) is not stored twice:
the server's item is attached to the existing story (``sync_items``), and its read/starred
flags merge (read or starred on either side wins; the local side's difference is queued).
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import SyncError
from ..models import ParsedEntry, ParsedFeed
from ..store import Store
from ..text import clean_text
from .greader import READ, READING_LIST, STARRED, GReaderClient, Subscription, item_id_of

log = logging.getLogger(__name__)

SyncProgress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: phase is "sending", "feeds", "items" or "state"."""

CRAWL_MARGIN = 300
"""Seconds before the newest crawl time that the next sync lists again (ids only)."""
_STATE_OPS = {"read", "unread", "star", "unstar"}
_EDIT_TAG = {
    "read": ("add", READ),
    "unread": ("remove", READ),
    "star": ("add", STARRED),
    "unstar": ("remove", STARRED),
}


@dataclass(slots=True)
class SyncSummary:
    """What one sync did."""

    sent: int = 0
    """Outbox changes the server confirmed."""
    feeds: int = 0
    feeds_added: int = 0
    feeds_removed: int = 0
    new_stories: int = 0
    new_story_ids: list[int] = field(default_factory=list)
    state_changes: int = 0
    """Read/starred flags changed here to follow the server."""
    requests: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    """Things skipped (a malformed item, a change the server refused): the sync went on."""


def pending_changes(store: Store) -> int:
    """How many changes wait in the outbox."""
    return int(store.conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0])


def get_state(store: Store, key: str, default: Any = None) -> Any:
    row = store.conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def _set_state(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value)),
    )


def set_state(store: Store, key: str, value: Any) -> None:
    with store.transaction() as conn:
        _set_state(conn, key, value)


def forget_server(store: Store) -> int:
    """Forget everything about the sync server (its ids, the outbox, the sync's state).

    The feeds and stories stay, as local feeds. Returns how many queued changes were dropped.
    """
    with store.transaction() as conn:
        dropped = int(conn.execute("SELECT count(*) FROM sync_outbox").fetchone()[0])
        for table in ("sync_outbox", "sync_items", "sync_feeds", "sync_state"):
            conn.execute(f"DELETE FROM {table}")
    return dropped


def account_feed_ids(store: Store) -> set[int]:
    """The feeds that come from the sync server (a local refresh leaves them to the sync)."""
    return {r[0] for r in store.conn.execute("SELECT feed_id FROM sync_feeds")}


def queue_subscribe(store: Store, url: str, folder: str | None = None, title: str = "") -> None:
    """Queue a subscription on the server (sent at the next sync)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO sync_outbox (op, stream, arg, created_at) VALUES ('subscribe', ?, ?, ?)",
            (
                "feed/" + url,
                json.dumps({"url": url, "folder": folder, "title": title}),
                int(time.time()),
            ),
        )


@contextlib.contextmanager
def sync_lock(data_dir: Path) -> Iterator[None]:
    """One sync at a time per data dir (the app and a cron job may both start one)."""
    path = Path(data_dir) / "sync.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SyncError("another sync is running (try again when it is done)") from exc
        yield
    finally:
        os.close(fd)


class Sync:
    """One sync of ``store`` with the server behind ``client``.

    Args:
        store: the cache.
        client: a logged-in client.
        recent_days: how far back the first sync takes read items (unread and starred ones
            are taken whatever their age).
        batch: items per ``stream/items/contents`` request (and per transaction).
        progress: called as ``progress(phase, done, total)``.
        cancel: set it to stop between requests (what is stored stays; the rest comes next
            time).
    """

    def __init__(
        self,
        store: Store,
        client: GReaderClient,
        *,
        recent_days: int = 14,
        batch: int = 500,
        progress: SyncProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.recent_days = recent_days
        self.batch = batch
        self.progress = progress or (lambda phase, done, total: None)
        self.cancel = cancel
        self.summary = SyncSummary()
        self._crawl: dict[int, int] = {}  # item id -> the server's crawl time, seconds

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def run(self) -> SyncSummary:
        """Push, then pull. Raises :class:`SyncError` (what was done before stays done)."""
        started = time.monotonic()
        first_request = self.client.requests.total
        try:
            self.push()
            if not self._cancelled():
                subs = self.pull_subscriptions()
                self.summary.feeds = len(subs)
            if not self._cancelled():
                self.pull_items()
            if not self._cancelled() and pending_changes(self.store):
                # What the pull queued itself (a local story's read/star the server's copy
                # lacked), and changes made here during the sync.
                self.push()
        except SyncError as exc:
            set_state(self.store, "last_error", exc.message)
            raise
        finally:
            self.summary.requests = self.client.requests.total - first_request
            self.summary.seconds = time.monotonic() - started
        with self.store.transaction() as conn:
            _set_state(conn, "last_sync", int(time.time()))
            _set_state(conn, "last_error", None)
        return self.summary

    # -- 1. push -------------------------------------------------------------------------

    def push(self) -> None:
        """Send the outbox in order; each confirmed segment leaves it at once."""
        rows = self.store.conn.execute(
            "SELECT id, op, item_id, story_id, stream, arg FROM sync_outbox ORDER BY id"
        ).fetchall()
        total = len(rows)
        done = 0
        start = 0
        while start < total:
            if self._cancelled():
                return
            end = start
            if rows[start][1] in _STATE_OPS:
                while end < total and rows[end][1] in _STATE_OPS:
                    end += 1
                self._send_states(rows[start:end])
            else:
                end = start + 1
                self._send_feed_op(rows[start])
            with self.store.transaction() as conn:
                conn.execute(
                    "DELETE FROM sync_outbox WHERE id BETWEEN ? AND ?",
                    (rows[start][0], rows[end - 1][0]),
                )
            done += end - start
            self.summary.sent += end - start
            self.progress("sending", done, total)
            start = end

    def _send_states(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """A run of read/star changes: the last change of each item and flag is what counts
        (sent in order, it is the state the server ends with), grouped into few calls."""
        last: dict[tuple[int, str], str] = {}
        for _id, op, item_id, *_ in rows:
            if item_id is None:
                continue
            flag = "read" if op in ("read", "unread") else "star"
            last.pop((item_id, flag), None)  # keep the order of the last change
            last[(item_id, flag)] = op
        by_op: dict[str, list[int]] = {}
        for (item_id, _flag), op in last.items():
            by_op.setdefault(op, []).append(item_id)
        for op, ids in by_op.items():
            how, state = _EDIT_TAG[op]
            for start in range(0, len(ids), 250):
                chunk = ids[start : start + 250]
                if how == "add":
                    self.client.edit_tag(chunk, add=state)
                else:
                    self.client.edit_tag(chunk, remove=state)

    def _send_feed_op(self, row: tuple[Any, ...]) -> None:
        _id, op, _item, _story, stream, arg = row
        args = json.loads(arg) if arg else {}
        try:
            if op == "subscribe":
                self.client.subscription_edit(
                    "subscribe",
                    stream,
                    title=args.get("title") or None,
                    add_label=args.get("folder") or None,
                )
            elif op == "unsubscribe":
                self.client.subscription_edit("unsubscribe", stream)
            elif op == "folder":
                old, new = args.get("from"), args.get("to")
                if new:
                    self.client.subscription_edit(
                        "edit", stream, add_label=new, remove_label=old or None
                    )
                elif old:
                    self.client.subscription_edit("edit", stream, remove_label=old)
            else:
                log.warning("unknown outbox op %r dropped", op)
        except SyncError as exc:
            if exc.status != 400:
                raise
            # 400: the server refuses this one change (already subscribed, a feed it no
            # longer has): it cannot succeed later either, so it must not block the rest.
            if op == "subscribe" and any(
                s.url == args.get("url") for s in self.client.subscriptions()
            ):
                return
            what = {"subscribe": "subscribe to", "unsubscribe": "unsubscribe from"}.get(op, "move")
            target = args.get("url") or stream
            self.summary.warnings.append(f"the server refused to {what} {target}")

    # -- 2. subscriptions ----------------------------------------------------------------

    def pull_subscriptions(self) -> list[Subscription]:
        subs = self.client.subscriptions()
        self.progress("feeds", 0, len(subs))
        with self.store.transaction() as conn:
            # A change still queued (the push failed or was cancelled) keeps the local side.
            pending = {
                r[0]: r[1]
                for r in conn.execute("SELECT stream, op FROM sync_outbox WHERE stream IS NOT NULL")
            }
            mapped = dict(conn.execute("SELECT stream_id, feed_id FROM sync_feeds").fetchall())
            now = int(time.time())
            for sub in subs:
                if pending.get(sub.stream_id) == "unsubscribe":
                    continue
                feed_id = mapped.get(sub.stream_id)
                if feed_id is None:
                    feed_id = self._adopt_or_add(conn, sub, now)
                conn.execute(
                    "UPDATE feeds SET title = CASE WHEN ? != '' THEN ? ELSE title END,"
                    " site_url = coalesce(?, site_url) WHERE id = ?",
                    (sub.title, sub.title, sub.site_url, feed_id),
                )
                if pending.get(sub.stream_id) != "folder":
                    conn.execute("UPDATE feeds SET folder = ? WHERE id = ?", (sub.folder, feed_id))
            on_server = {s.stream_id for s in subs}
            for stream_id, feed_id in mapped.items():
                if stream_id not in on_server:
                    _drop_feed(conn, feed_id)
                    self.summary.feeds_removed += 1
        self.progress("feeds", len(subs), len(subs))
        return subs

    def _adopt_or_add(self, conn: sqlite3.Connection, sub: Subscription, now: int) -> int:
        row = conn.execute(
            "SELECT f.id FROM feeds f LEFT JOIN sync_feeds sf ON sf.feed_id = f.id"
            " WHERE f.url = ? AND sf.feed_id IS NULL",
            (sub.url,),
        ).fetchone()
        if row is not None:
            feed_id = int(row[0])
        else:
            cur = conn.execute(
                "INSERT INTO feeds (url, title, site_url, added_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (url) DO NOTHING",
                (sub.url, sub.title, sub.site_url, now),
            )
            if cur.rowcount:
                feed_id = int(cur.lastrowid or 0)
            else:
                # The URL is taken by a feed of another stream id (the server renumbered it).
                feed_id = int(
                    conn.execute("SELECT id FROM feeds WHERE url = ?", (sub.url,)).fetchone()[0]
                )
                conn.execute("DELETE FROM sync_feeds WHERE feed_id = ?", (feed_id,))
            self.summary.feeds_added += 1
        conn.execute(
            "INSERT OR REPLACE INTO sync_feeds (stream_id, feed_id) VALUES (?, ?)",
            (sub.stream_id, feed_id),
        )
        return feed_id

    # -- 3. items ------------------------------------------------------------------------

    def pull_items(self) -> None:
        client = self.client
        # How far back to list: the server's crawl time of the newest item stored (its own
        # clock, as ``ot`` is), else the window of the first sync. Five minutes more: an
        # item the server was still committing when it was listed can carry an earlier time
        # (only ids are listed; known ones are not fetched again).
        newest = get_state(self.store, "newest_crawl")
        window = int(time.time()) - self.recent_days * 86400
        since = window if newest is None else max(window, int(newest) - CRAWL_MARGIN)
        self.progress("items", 0, 0)
        recent = client.item_ids(READING_LIST, newer_than=since)
        unread = client.item_ids(READING_LIST, exclude=READ)
        starred = client.item_ids(STARRED)
        if self._cancelled():
            return
        known = {r[0] for r in self.store.conn.execute("SELECT item_id FROM sync_items")}
        wanted = sorted(set(recent) | set(unread) | set(starred))
        missing = [i for i in wanted if i not in known]
        unread_set, starred_set = set(unread), set(starred)
        failed: set[int] = set()
        for start in range(0, len(missing), self.batch):
            if self._cancelled():
                return
            chunk = missing[start : start + self.batch]
            items = client.items(chunk)
            stored = self._store_items(items, unread_set, starred_set)
            failed.update(i for i in chunk if i not in stored)
            self.progress("items", min(start + self.batch, len(missing)), len(missing))
        if self._cancelled():
            return
        self.progress("state", 0, 0)
        self._apply_state(unread_set, starred_set)
        recent_set = set(recent)
        if recent and not (failed & recent_set):
            # The next sync lists items from here on; not while an item of this list could
            # not be stored, so that it is tried again.
            crawled = [self._crawl[i] for i in recent_set if i in self._crawl]
            mark = max(crawled, default=None)
            if mark is not None and (newest is None or mark > int(newest)):
                set_state(self.store, "newest_crawl", mark)

    def _store_items(self, items: Sequence[Any], unread: set[int], starred: set[int]) -> set[int]:
        """Store one batch of server items in one transaction; returns the item ids stored."""
        feeds = dict(self.store.conn.execute("SELECT stream_id, feed_id FROM sync_feeds"))
        by_feed: dict[int, list[tuple[int, ParsedEntry, bool, bool]]] = {}
        for raw in items:
            parsed = _parse_item(raw)
            if isinstance(parsed, str):
                self.summary.warnings.append(parsed)
                continue
            item_id, stream_id, entry, categories, crawled = parsed
            if crawled is not None:
                self._crawl[item_id] = crawled
            feed_id = feeds.get(stream_id)
            if feed_id is None:
                log.info("item %s of an unknown stream %r skipped", item_id, stream_id)
                continue
            is_read = READ in categories if categories is not None else item_id not in unread
            is_starred = STARRED in categories if categories is not None else item_id in starred
            by_feed.setdefault(feed_id, []).append((item_id, entry, is_read, is_starred))
        stored: set[int] = set()
        if not by_feed:
            return stored
        with self.store.batch():
            conn = self.store.conn
            for feed_id, rows in by_feed.items():
                stored.update(self._store_feed_items(conn, feed_id, rows))
        return stored

    def _store_feed_items(
        self,
        conn: sqlite3.Connection,
        feed_id: int,
        rows: list[tuple[int, ParsedEntry, bool, bool]],
    ) -> list[int]:
        # The same page already in another feed's stories: attach the item to it.
        links = [e.link for _, e, _, _ in rows if e.link]
        elsewhere: dict[str, int] = {}
        for start in range(0, len(links), 500):
            chunk = links[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for link, sid in conn.execute(
                f"SELECT link, min(id) FROM stories WHERE link IN ({marks}) AND feed_id != ?"
                " GROUP BY link",
                [*chunk, feed_id],
            ):
                elsewhere[link] = sid
        attach: list[tuple[int, int, bool, bool]] = []  # item, story, read, starred
        own: list[tuple[int, ParsedEntry, bool, bool]] = []
        for item_id, entry, is_read, is_starred in rows:
            sid = elsewhere.get(entry.link or "")
            if sid is not None:
                attach.append((item_id, sid, is_read, is_starred))
            else:
                own.append((item_id, entry, is_read, is_starred))
        if own:
            before = {
                r[0] for r in conn.execute("SELECT id FROM stories WHERE feed_id = ?", (feed_id,))
            }
            entries = [e for _, e, _, _ in reversed(own)]  # store_feed takes newest first
            update = self.store.store_feed(
                feed_id,
                ParsedFeed(title="", site_url=None, entries=entries, format="greader"),
                status=None,
            )
            self.summary.new_stories += update.new
            self.summary.new_story_ids += update.new_story_ids
            new_ids = set(update.new_story_ids)
            for item_id, entry, is_read, is_starred in own:
                sid = _story_of(conn, feed_id, entry)
                if sid is None:
                    continue
                if sid in new_ids:
                    conn.execute(
                        "UPDATE stories SET read = ?, starred = ? WHERE id = ?",
                        (int(is_read), int(is_starred), sid),
                    )
                    conn.execute(
                        "INSERT OR REPLACE INTO sync_items (item_id, story_id) VALUES (?, ?)",
                        (item_id, sid),
                    )
                elif sid in before:
                    attach.append((item_id, sid, is_read, is_starred))
        for item_id, sid, is_read, is_starred in attach:
            self._attach(conn, item_id, sid, is_read, is_starred)
        return [r[0] for r in rows]

    def _attach(
        self, conn: sqlite3.Connection, item_id: int, story_id: int, is_read: bool, starred: bool
    ) -> None:
        """A server item for a story tuinews already had: flags merge (read or starred on
        either side wins) and what only this side knew is queued for the server."""
        row = conn.execute("SELECT read, starred FROM stories WHERE id = ?", (story_id,)).fetchone()
        conn.execute(
            "INSERT OR REPLACE INTO sync_items (item_id, story_id) VALUES (?, ?)",
            (item_id, story_id),
        )
        local_read, local_starred = bool(row[0]), bool(row[1])
        now = int(time.time())
        if local_read and not is_read:
            conn.execute(
                "INSERT INTO sync_outbox (op, item_id, story_id, created_at)"
                " VALUES ('read', ?, ?, ?)",
                (item_id, story_id, now),
            )
        if local_starred and not starred:
            conn.execute(
                "INSERT INTO sync_outbox (op, item_id, story_id, created_at)"
                " VALUES ('star', ?, ?, ?)",
                (item_id, story_id, now),
            )
        if (is_read and not local_read) or (starred and not local_starred):
            conn.execute(
                "UPDATE stories SET read = max(read, ?), starred = max(starred, ?) WHERE id = ?",
                (int(is_read), int(starred), story_id),
            )

    # -- 4. state ------------------------------------------------------------------------

    def _apply_state(self, unread: set[int], starred: set[int]) -> None:
        """Read/starred flags of every known story follow the server's id lists, except for
        stories with a change still queued here."""
        with self.store.transaction() as conn:
            pending = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT story_id FROM sync_outbox WHERE story_id IS NOT NULL"
                )
            }
            want: dict[int, list[Any]] = {}  # story -> [read, starred, current read, starred]
            for item_id, sid, is_read, is_starred in conn.execute(
                "SELECT si.item_id, si.story_id, s.read, s.starred FROM sync_items si"
                " JOIN stories s ON s.id = si.story_id"
            ):
                if sid in pending:
                    continue
                entry = want.get(sid)
                if entry is None:
                    entry = want[sid] = [True, False, bool(is_read), bool(is_starred)]
                # A story several items carry: unread if any is, starred if any is.
                if item_id in unread:
                    entry[0] = False
                if item_id in starred:
                    entry[1] = True
            changes = [
                (int(r), int(s), sid) for sid, (r, s, cr, cs) in want.items() if (r, s) != (cr, cs)
            ]
            conn.executemany("UPDATE stories SET read = ?, starred = ? WHERE id = ?", changes)
        self.summary.state_changes += len(changes)


def _story_of(conn: sqlite3.Connection, feed_id: int, entry: ParsedEntry) -> int | None:
    """The story ``store_feed`` matched or inserted for an entry (by guid, then link)."""
    row = conn.execute(
        "SELECT id FROM stories WHERE feed_id = ? AND guid = ?", (feed_id, entry.guid)
    ).fetchone()
    if row is None and entry.link:
        row = conn.execute(
            "SELECT id FROM stories WHERE feed_id = ? AND link = ? ORDER BY id LIMIT 1",
            (feed_id, entry.link),
        ).fetchone()
    return int(row[0]) if row else None


def _drop_feed(conn: sqlite3.Connection, feed_id: int) -> None:
    """Remove a feed the server no longer has (no outbox row: the server did it)."""
    conn.execute(
        "DELETE FROM story_fts WHERE rowid IN (SELECT id FROM stories WHERE feed_id = ?)",
        (feed_id,),
    )
    conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))


_BLOCK = re.compile(
    r"(?i)<\s*(?:/?(?:p|div|li|h[1-6]|blockquote|tr|section|article)\b[^>]*|br\s*/?)>"
)
_SKIP = re.compile(r"(?is)<(script|style|template)\b.*?</\1\s*>")
_TAG = re.compile(r"(?s)<[^>]*>")
SUMMARY_CHARS = 2_000


def summary_text(fragment: str, limit: int = SUMMARY_CHARS) -> str:
    """Plain text of an item's HTML, in paragraphs, for the list and the search index.

    By pattern, not with lxml: the sync runs beside the app, and loading lxml's C extension
    there held the app's event loop for 130 ms (bench/RESULTS.md). The full HTML is kept
    too, and the reader extracts it properly when it shows the story.
    """
    text = _SKIP.sub(" ", fragment[: limit * 20])
    text = _BLOCK.sub("\n\n", text)
    text = html.unescape(_TAG.sub(" ", text))
    paragraphs = (" ".join(p.split()) for p in clean_text(text, keep_newlines=True).split("\n\n"))
    out = "\n\n".join(p for p in paragraphs if p)
    if len(out) > limit:
        cut = out[:limit]
        space = cut.rfind(" ")
        out = (cut[:space] if space > limit * 0.8 else cut).rstrip() + "…"
    return out


def _first_href(value: Any) -> str | None:
    if isinstance(value, list):
        for link in value:
            if isinstance(link, dict):
                href = link.get("href")
                if isinstance(href, str) and href.startswith(("http://", "https://")):
                    return href.strip()
    return None


def _crawl_seconds(raw: dict[str, Any]) -> int | None:
    """When the server got the item (``timestampUsec``, else ``crawlTimeMsec``), seconds."""
    for key, scale in (("timestampUsec", 1_000_000), ("crawlTimeMsec", 1_000)):
        value = raw.get(key)
        if isinstance(value, str) and value.isdigit() or isinstance(value, int):
            return int(value) // scale
    return None


def _parse_item(raw: Any) -> tuple[int, str, ParsedEntry, set[str] | None, int | None] | str:
    """One item of ``stream/items/contents`` -> (item id, stream id, entry, categories, crawl
    time), or why it was skipped."""
    if not isinstance(raw, dict):
        return "a malformed item from the server was skipped (not an object)"
    raw_id = raw.get("id")
    try:
        if not isinstance(raw_id, str | int):
            raise ValueError("no id")
        item_id = item_id_of(str(raw_id))
    except ValueError:
        return f"a malformed item from the server was skipped (id {str(raw_id)[:40]!r})"
    origin = raw.get("origin")
    stream_id = origin.get("streamId") if isinstance(origin, dict) else None
    if not isinstance(stream_id, str):
        return f"item {item_id} from the server was skipped (no feed)"
    title = raw.get("title")
    title = clean_text(title) if isinstance(title, str) else ""
    link = _first_href(raw.get("canonical")) or _first_href(raw.get("alternate"))
    published: datetime | None = None
    stamp = raw.get("published")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and 0 < stamp < 2**33:
        published = datetime.fromtimestamp(int(stamp), UTC)
    html = ""
    for key in ("content", "summary"):
        block = raw.get(key)
        if isinstance(block, dict) and isinstance(block.get("content"), str):
            html = block["content"]
            if html.strip():
                break
    author = raw.get("author")
    author = clean_text(author)[:500] or None if isinstance(author, str) else None
    categories_raw = raw.get("categories")
    categories = (
        {c for c in categories_raw if isinstance(c, str)}
        if isinstance(categories_raw, list)
        else None
    )
    entry = ParsedEntry(
        guid=f"tag:google.com,2005:reader/item/{item_id:016x}",
        link=link,
        title=title,
        author=author,
        published=published,
        summary=summary_text(html) if html else "",
        content_html=html if len(html) > 200 else None,
    )
    return item_id, stream_id, entry, categories, _crawl_seconds(raw)
