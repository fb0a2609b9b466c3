"""The local cache: one SQLite file.

Design (model: lemon24/reader's storage):

* Numbered migrations keyed on ``PRAGMA user_version``, each in one transaction. A file written
  by a newer tuinews, or one that is not a database, raises :class:`StoreError` and is never
  touched.
* WAL mode, foreign keys, a busy timeout. One connection per thread (``threading.local``);
  connections are never shared across threads.
* Every multi-row change (one feed's update, a mark-all) is one transaction, so a crash leaves
  the old state or the new one.
* Lists are paged queries (keyset or LIMIT/OFFSET); nothing loads the whole table.

Times are stored as integer Unix seconds (UTC).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .blobs import pack, pack_page, unpack
from .errors import NotFoundError, StoreError, TuinewsError
from .models import Article, ExtractedArticle, Feed, ParsedEntry, ParsedFeed, RelatedLink, Story
from .query import SearchQuery, filter_conditions, parse_search, query_conditions, words_query

log = logging.getLogger(__name__)

SCHEMA_VERSION = 9

_MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE feeds (
        id            INTEGER PRIMARY KEY,
        url           TEXT NOT NULL UNIQUE,
        title         TEXT NOT NULL DEFAULT '',
        site_url      TEXT,
        etag          TEXT,
        last_modified TEXT,
        last_status   INTEGER,
        last_error    TEXT,
        last_checked  INTEGER,
        retry_after   INTEGER,
        gone          INTEGER NOT NULL DEFAULT 0,
        prefetch      INTEGER NOT NULL DEFAULT 0,
        settings      TEXT NOT NULL DEFAULT '{}',
        added_at      INTEGER NOT NULL
    );
    CREATE TABLE stories (
        id         INTEGER PRIMARY KEY,
        feed_id    INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        guid       TEXT NOT NULL,
        link       TEXT,
        title      TEXT NOT NULL DEFAULT '',
        author     TEXT,
        published  INTEGER,
        first_seen INTEGER NOT NULL,
        sort_key   INTEGER NOT NULL,
        summary    TEXT NOT NULL DEFAULT '',
        content    BLOB,
        read       INTEGER NOT NULL DEFAULT 0,
        starred    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed_id, guid)
    );
    CREATE INDEX stories_by_time ON stories (sort_key DESC, id DESC);
    CREATE INDEX stories_by_feed ON stories (feed_id, sort_key DESC, id DESC);
    CREATE INDEX stories_by_link ON stories (link);
    CREATE INDEX stories_unread ON stories (feed_id) WHERE read = 0;
    CREATE INDEX stories_unread_by_time ON stories (sort_key DESC, id DESC) WHERE read = 0;
    CREATE INDEX stories_starred_by_time ON stories (sort_key DESC, id DESC) WHERE starred = 1;
    CREATE TABLE articles (
        story_id     INTEGER PRIMARY KEY REFERENCES stories(id) ON DELETE CASCADE,
        url          TEXT NOT NULL,
        raw          BLOB,
        content_type TEXT,
        markdown     TEXT NOT NULL DEFAULT '',
        text         TEXT NOT NULL DEFAULT '',
        title        TEXT,
        author       TEXT,
        published    INTEGER,
        site_name    TEXT,
        language     TEXT,
        top_image    TEXT,
        word_count   INTEGER NOT NULL DEFAULT 0,
        fetched_at   INTEGER NOT NULL,
        extracted    INTEGER NOT NULL DEFAULT 0,
        error        TEXT
    );
    CREATE TABLE related_links (
        story_id  INTEGER NOT NULL REFERENCES articles(story_id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        url       TEXT NOT NULL,
        title     TEXT NOT NULL,
        source    TEXT,
        published TEXT,
        PRIMARY KEY (story_id, position)
    );
    CREATE INDEX related_links_by_url ON related_links (url);
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE story_fts USING fts5(
        title, body, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    """,
    # 2: document frequencies of the full-text index, for related stories (term distinctiveness).
    """
    CREATE VIRTUAL TABLE story_vocab USING fts5vocab(story_fts, 'row');
    """,
    # 3: what the parser flagged on a feed it still read (entries capped, entity declarations
    # ignored, not well-formed): shown to the user next to the feed.
    """
    ALTER TABLE feeds ADD COLUMN last_warning TEXT;
    """,
    # 4: folders. A feed belongs to at most one folder (NULL: none); OPML nesting and a sync
    # server's labels map to it.
    """
    ALTER TABLE feeds ADD COLUMN folder TEXT;
    """,
    # 5 (issue 14): what the reader must know about an article's text, e.g. "only a teaser was
    # available" on a paywalled or consent-walled page (NULL: nothing to say).
    """
    ALTER TABLE articles ADD COLUMN notice TEXT;
    """,
    # 6 (issue 14): the images of an article (lead and in-body), fetched in the background
    # and kept with it for offline reading. ``data`` NULL with ``error``: it could not be had.
    """
    CREATE TABLE article_images (
        story_id     INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        url          TEXT NOT NULL,
        content_type TEXT,
        data         BLOB,
        error        TEXT,
        fetched_at   REAL NOT NULL,
        PRIMARY KEY (story_id, url)
    );
    """,
    # 7 (issue 15): each feed's refresh schedule (the user's interval, the server's floor from
    # its TTL / Cache-Control max-age, consecutive failures for the backoff), the stories of
    # the feed's last document (retention never deletes those), and saved searches.
    """
    ALTER TABLE feeds ADD COLUMN refresh_interval INTEGER;
    ALTER TABLE feeds ADD COLUMN server_interval INTEGER;
    ALTER TABLE feeds ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN present_ids TEXT;
    CREATE TABLE saved_searches (
        id       INTEGER PRIMARY KEY,
        name     TEXT NOT NULL UNIQUE,
        query    TEXT NOT NULL,
        added_at INTEGER NOT NULL
    );
    """,
    # 8 (issue 13): one row per event. A story folded into another feed's report of the same
    # event points at it (the event's lead, its first report); event_checked says the folding
    # has looked at the story. Both partial indexes stay small: folded and unchecked stories.
    # The first covers what a folded list's count asks of the folded stories (17x faster
    # than a lookup of each at 100,000 stories, bench/bench_folding.py).
    """
    ALTER TABLE stories ADD COLUMN event_lead INTEGER;
    ALTER TABLE stories ADD COLUMN event_checked INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX stories_event_members ON stories (event_lead, read, starred, feed_id, sort_key)
        WHERE event_lead IS NOT NULL;
    CREATE INDEX stories_event_unchecked ON stories (id) WHERE event_checked = 0;
    """,
    # 9 (issue 16, sync): which feeds and stories a Google Reader API server knows (its stream
    # and item ids), the outbox of local changes not yet sent to it (written in the same
    # transaction as the change), and the sync's own state (how far it got).
    """
    CREATE TABLE sync_feeds (
        stream_id TEXT PRIMARY KEY,
        feed_id   INTEGER NOT NULL UNIQUE REFERENCES feeds(id) ON DELETE CASCADE
    );
    CREATE TABLE sync_items (
        item_id  INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE
    );
    CREATE INDEX sync_items_by_story ON sync_items (story_id);
    CREATE TABLE sync_outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        op         TEXT NOT NULL,
        item_id    INTEGER,
        story_id   INTEGER,
        stream     TEXT,
        arg        TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE sync_state (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
]

# The tokenizer of story_fts (migration 1). The scratch table that stems words for related
# stories must use the very same one, so that its terms are the index's terms.
_FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


# A table alias ``s.`` in the SQL that _where builds (rewritten for another alias).
_ALIAS_S = re.compile(r"\bs\.")

_KnownStories = tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]


def clean_name(name: str) -> str:
    """A folder's or saved search's name: one line, no control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in name).split())


def _replace_match(query: SearchQuery, match: str) -> SearchQuery:
    return replace(query, match=match)


def _guid_of(entry: ParsedEntry) -> str:
    return entry.guid or entry.link or entry.title


def _compress(entry: ParsedEntry) -> bytes | None:
    """A feed item's HTML, compressed (parsing workers may have done it already)."""
    if entry.content_packed is not None:
        return entry.content_packed
    if not entry.content_html:
        return None
    return pack(entry.content_html.encode("utf-8"))


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _dt(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """Which stories a list shows."""

    feed_id: int | None = None
    unread: bool = False
    starred: bool = False
    search: str | None = None
    """A search as typed (see :mod:`tuinews.core.query`), best matches first."""
    folded: bool = False
    """One row per event: a story folded into an event whose lead this list shows is left
    out (it shows under its lead). A folded story whose lead is not in the list shows."""
    keep_ids: tuple[int, ...] = ()
    """Stories an unread list still shows once read (issue 17: the story being read stays in
    the Unread view until the view is left)."""
    folder: str | None = None
    """The stories of this folder's feeds."""
    query: str | None = None
    """A search listed newest first (a saved search): every story it matches."""
    show_hidden: bool = False
    """Include the stories the kill-file hides."""


@dataclass(slots=True)
class CleanupReport:
    """What a retention cleanup removed (or, dry, would remove)."""

    stories_deleted: int = 0
    """Stories deleted with everything of theirs."""
    full_texts_dropped: int = 0
    """Older stories that lost their stored page and full text (the story stays)."""
    kept_starred: int = 0
    """Stories past the limits kept because they are starred."""
    kept_in_feed: int = 0
    """Stories past the limits kept because the feed still carries them."""
    feeds_skipped: int = 0
    """Feeds not refreshed since this tuinews came: what they still carry is not known yet."""
    bytes_before: int = 0
    bytes_after: int = 0
    vacuum: str = ""
    """What was done to give the space back ("incremental", "converted", "not possible...")."""
    dry_run: bool = False
    seconds: float = 0.0
    vacuum_seconds: float = 0.0
    """Of ``seconds``, the time spent giving the free pages back to the file system."""


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What storing one parsed feed changed."""

    new: int
    updated: int
    new_story_ids: list[int]


_STORY_COLUMNS = (
    "s.id, s.feed_id, f.title, s.guid, s.link, s.title, s.author, s.published, s.sort_key,"
    " s.summary, s.read, s.starred, (SELECT 1 FROM articles a WHERE a.story_id = s.id)"
)


def _story(row: Sequence[Any]) -> Story:
    return Story(
        id=row[0],
        feed_id=row[1],
        feed_title=row[2],
        guid=row[3],
        link=row[4],
        title=row[5],
        author=row[6],
        published=_dt(row[7] if row[7] is not None else row[8]),
        summary=row[9],
        read=bool(row[10]),
        starred=bool(row[11]),
        has_article=bool(row[12]),
    )


def fts_query(text: str) -> str:
    """Turn what a user typed into a safe FTS5 query: every word must match (prefix on the last).

    FTS5 syntax characters in user input would raise errors or change the meaning, so each
    word is quoted. (The search box itself also takes FTS5 syntax: :mod:`tuinews.core.query`.)
    """
    return words_query(text)


# The article columns an extraction sets, as an upsert's SET clause, and their values.
_ARTICLE_UPDATE = (
    "url = excluded.url, markdown = excluded.markdown, text = excluded.text,"
    " title = excluded.title, author = excluded.author, published = excluded.published,"
    " site_name = excluded.site_name, language = excluded.language,"
    " top_image = excluded.top_image, word_count = excluded.word_count,"
    " extracted = 1, error = NULL"
)


def _article_values(extracted: ExtractedArticle) -> tuple[Any, ...]:
    return (
        extracted.markdown,
        extracted.text,
        extracted.title,
        extracted.author,
        _ts(extracted.published),
        extracted.site_name,
        extracted.language,
        extracted.top_image,
        extracted.word_count,
    )


class Store:
    """The SQLite cache. Thread-safe by giving each thread its own connection."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        # How long a write waits for another process's transaction (a concurrent refresh).
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._hidden: tuple[str, list[Any]] = ("", [])
        self._matches: dict[str, str] = {}
        self._migrate()

    # -- connections -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            # Look before changing anything: switching to WAL rewrites the file header, and a
            # file from a newer version (or not a database) must be left exactly as it is.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.close()
                raise self._newer(version)
            if version == 0 and not conn.execute("SELECT 1 FROM sqlite_master").fetchone():
                # A new file: its free pages can then be given back bit by bit (retention's
                # incremental vacuum). Only possible before the first table (and WAL) exists.
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            log.debug("journal mode %s", mode)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
        except OSError as exc:
            raise StoreError(f"cannot open the cache {self.path}: {exc}") from exc
        with self._lock:
            self._connections.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close every connection this store opened (call once, at exit)."""
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):  # closing is best effort
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    def _newer(self, version: int) -> StoreError:
        return StoreError(
            f"the cache {self.path} was written by a newer tuinews (schema {version}, this "
            f"version knows {SCHEMA_VERSION}). It was left untouched: upgrade tuinews."
        )

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text or "corrupt" in text
        ):
            return StoreError(
                f"the cache {self.path} is damaged ({text}). It was left untouched: move it "
                "aside (or point TUINEWS_HOME elsewhere) to start a new one."
            )
        if "locked" in text or "busy" in text:
            return StoreError(f"the cache {self.path} is busy in another process ({text})")
        return StoreError(f"cache error in {self.path}: {text}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error).

        Inside :meth:`batch` (on the same thread) it only joins the batch's transaction.
        """
        conn = self.conn
        if getattr(self._local, "batch", False):
            yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise self._error(exc) from exc

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for many writes (group commit): every :meth:`transaction` opened in
        it on this thread joins it, and all of them commit together.

        A refresh stores each feed in its own :meth:`transaction`; the writer thread
        (:class:`~tuinews.core.writer.BatchWriter`) runs the feeds that are ready in one batch,
        which saves a commit and a full-text index flush per feed (bench/RESULTS.md). There are
        no savepoints (FTS5 flushes its index at each one): if a write in the batch raises, the
        whole batch rolls back and the caller replays its writes one transaction each.
        """
        with self.transaction():
            self._local.batch = True
            try:
                yield
            finally:
                self._local.batch = False

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    # -- schema ------------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        if version > SCHEMA_VERSION:
            raise self._newer(version)
        for number in range(version + 1, SCHEMA_VERSION + 1):
            script = _MIGRATIONS[number - 1]
            with self.transaction() as conn:
                # Re-check inside the write lock: another process may have migrated already.
                if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                try:
                    for statement in script.split(";\n"):
                        if statement.strip():
                            conn.execute(statement)
                except sqlite3.Error as exc:
                    # Rolled back whole; the user gets a message, not a traceback (a cache
                    # from a development build whose migrations were numbered otherwise).
                    log.error("migration %d of %s failed: %s", number, self.path, exc)
                    raise StoreError(
                        f"the cache {self.path} could not be upgraded to schema {number} "
                        f"({exc}). It was left as it was."
                    ) from exc
                conn.execute(f"PRAGMA user_version = {number}")
            log.info("cache %s migrated to schema %d", self.path, number)

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: "ok" when the file is sound."""
        return str(self._query("PRAGMA integrity_check")[0][0])

    # -- settings ----------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A JSON value stored under ``key`` (app state: theme, last position...)."""
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # -- feeds -------------------------------------------------------------------------

    _FEED_SQL = (
        "SELECT f.id, f.url, f.title, f.site_url, f.etag, f.last_modified, f.last_status,"
        " f.last_error, f.last_checked, f.retry_after, f.gone, f.prefetch,"
        " (SELECT count(*) FROM stories s WHERE s.feed_id = f.id AND s.read = 0{hidden}),"
        " {total}, f.last_warning, f.folder, f.refresh_interval, f.server_interval, f.failures"
        " FROM feeds f"
    )

    def _feed(self, row: Sequence[Any]) -> Feed:
        return Feed(
            id=row[0],
            url=row[1],
            title=row[2] or row[1],
            site_url=row[3],
            etag=row[4],
            last_modified=row[5],
            last_status=row[6],
            last_error=row[7],
            last_checked=_dt(row[8]),
            retry_after=_dt(row[9]),
            gone=bool(row[10]),
            prefetch=bool(row[11]),
            unread=row[12],
            total=row[13],
            last_warning=row[14],
            folder=row[15],
            refresh_interval=row[16],
            server_interval=row[17],
            failures=row[18],
        )

    def feeds(self, *, with_totals: bool = False) -> list[Feed]:
        """All subscriptions with unread counts, by title."""
        total = "(SELECT count(*) FROM stories s WHERE s.feed_id = f.id)" if with_totals else "0"
        hidden, params = self._hidden
        sql = self._FEED_SQL.format(total=total, hidden=hidden) + " ORDER BY lower(f.title), f.id"
        return [self._feed(r) for r in self._query(sql, params)]

    def _feed_sql(self) -> tuple[str, list[Any]]:
        hidden, params = self._hidden
        return self._FEED_SQL.format(total="0", hidden=hidden), list(params)

    def feed(self, feed_id: int) -> Feed:
        base, params = self._feed_sql()
        rows = self._query(base + " WHERE f.id = ?", (*params, feed_id))
        if not rows:
            raise NotFoundError(f"no feed with id {feed_id}")
        return self._feed(rows[0])

    def find_feed(self, key: str) -> Feed:
        """A feed by id, exact URL or (case-insensitive, unique) title."""
        base, params = self._feed_sql()
        if key.isdigit():
            rows = self._query(base + " WHERE f.id = ?", (*params, int(key)))
            if rows:
                return self._feed(rows[0])
        rows = self._query(base + " WHERE f.url = ?", (*params, key))
        if not rows:
            rows = self._query(base + " WHERE lower(f.title) = lower(?)", (*params, key))
        if not rows:
            rows = self._query(base + " WHERE instr(lower(f.title), lower(?)) > 0", (*params, key))
        if not rows:
            raise NotFoundError(f"no feed matches {key!r} (try `tuinews feeds`)")
        if len(rows) > 1:
            names = ", ".join(f"{r[0]}: {r[2]}" for r in rows[:5])
            raise NotFoundError(f"{key!r} matches several feeds ({names}); use the id")
        return self._feed(rows[0])

    def add_feed(self, url: str, title: str = "", *, prefetch: bool = False) -> Feed:
        """Subscribe to ``url``; an existing subscription is returned unchanged."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO feeds (url, title, prefetch, added_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (url) DO NOTHING",
                (url, title, int(prefetch), _now()),
            )
            feed_id = conn.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()[0]
        return self.feed(feed_id)

    def remove_feed(self, feed_id: int) -> None:
        """Unsubscribe: the feed, its stories and their articles go, in one transaction."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO sync_outbox (op, stream, created_at)"
                " SELECT 'unsubscribe', stream_id, ? FROM sync_feeds WHERE feed_id = ?",
                (_now(), feed_id),
            )
            conn.execute(
                "DELETE FROM story_fts WHERE rowid IN (SELECT id FROM stories WHERE feed_id = ?)",
                (feed_id,),
            )
            cur = conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            if cur.rowcount == 0:
                raise NotFoundError(f"no feed with id {feed_id}")

    def set_feed_folder(self, feed_id: int, folder: str | None) -> None:
        """Put a feed in ``folder`` (``None`` or an empty name: in no folder)."""
        name = (folder or "").strip() or None
        with self.transaction() as conn:
            # A feed of the sync server moves there too (at the next sync).
            conn.execute(
                "INSERT INTO sync_outbox (op, stream, arg, created_at)"
                " SELECT 'folder', sf.stream_id, json_object('from', f.folder, 'to', ?), ?"
                " FROM sync_feeds sf JOIN feeds f ON f.id = sf.feed_id"
                " WHERE sf.feed_id = ? AND f.folder IS NOT ?",
                (name, _now(), feed_id, name),
            )
            cur = conn.execute("UPDATE feeds SET folder = ? WHERE id = ?", (name, feed_id))
            if cur.rowcount == 0:
                raise NotFoundError(f"no feed with id {feed_id}")

    def set_feed_prefetch(self, feed_id: int, prefetch: bool) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE feeds SET prefetch = ? WHERE id = ?", (int(prefetch), feed_id))

    def record_feed_status(
        self,
        feed_id: int,
        *,
        status: int | None,
        error: str | None,
        retry_after: datetime | None = None,
        gone: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        new_url: str | None = None,
        server_interval: int | None = None,
    ) -> None:
        """Record a fetch that stored nothing (304, an error): status, error, validators.

        ``server_interval`` is the shortest refresh interval the server asks for (a 304's
        Cache-Control max-age); None keeps the one recorded.
        """
        with self.transaction() as conn:
            self._record_status(
                conn,
                feed_id,
                status=status,
                error=error,
                retry_after=retry_after,
                gone=gone,
                etag=etag,
                last_modified=last_modified,
                new_url=new_url,
            )
            if server_interval is not None:
                self._set_server_interval(conn, feed_id, server_interval)

    def _record_status(
        self,
        conn: sqlite3.Connection,
        feed_id: int,
        *,
        status: int | None,
        error: str | None,
        retry_after: datetime | None,
        gone: bool,
        etag: str | None,
        last_modified: str | None,
        new_url: str | None,
    ) -> None:
        conn.execute(
            "UPDATE feeds SET last_status = ?, last_error = ?, last_checked = ?, retry_after = ?,"
            " gone = ?, etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),"
            " failures = CASE WHEN ? IS NULL THEN 0 ELSE failures + 1 END"
            " WHERE id = ?",
            (
                status,
                error,
                _now(),
                _ts(retry_after),
                int(gone),
                etag,
                last_modified,
                error,
                feed_id,
            ),
        )
        if new_url:
            # A permanent redirect: keep the new address unless another feed already has it.
            conn.execute(
                "UPDATE OR IGNORE feeds SET url = ? WHERE id = ?",
                (new_url, feed_id),
            )

    @staticmethod
    def _set_server_interval(conn: sqlite3.Connection, feed_id: int, seconds: int | None) -> None:
        conn.execute(
            "UPDATE feeds SET server_interval = ? WHERE id = ?",
            (seconds if seconds and seconds > 0 else None, feed_id),
        )

    def set_feed_interval(self, feed_id: int, seconds: int | None) -> None:
        """The user's refresh interval for a feed (None: the config's default)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE feeds SET refresh_interval = ? WHERE id = ?",
                (seconds if seconds and seconds > 0 else None, feed_id),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no feed with id {feed_id}")

    def store_feed(
        self,
        feed_id: int,
        parsed: ParsedFeed,
        *,
        status: int | None = 200,
        etag: str | None = None,
        last_modified: str | None = None,
        new_url: str | None = None,
        max_age: int | None = None,
    ) -> FeedUpdate:
        """Store one parsed feed in one transaction: title, status, validators and stories.

        Stories are matched by guid, then by link, so a feed that changes its guids does not
        duplicate everything. Read and starred flags are kept. Nothing is ever deleted here.
        """
        now = _now()
        with self.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET title = CASE WHEN ? != '' THEN ? ELSE title END,"
                " site_url = coalesce(?, site_url), last_warning = ? WHERE id = ?",
                (parsed.title, parsed.title, parsed.site_url, parsed.warning, feed_id),
            )
            self._record_status(
                conn,
                feed_id,
                status=status,
                error=None,
                retry_after=None,
                gone=False,
                etag=etag,
                last_modified=last_modified,
                new_url=new_url,
            )
            # Oldest first, so that first_seen grows with the feed's own order.
            entries = list(reversed(parsed.entries))
            known = self._known_stories(conn, feed_id, entries)
            new_ids, updated = self._store_entries(conn, feed_id, entries, now, known)
            # The stories of this document: retention never deletes them while they are in it.
            present = {row[2] for row in known[0].values()} | {r[2] for r in known[1].values()}
            present.update(new_ids)
            ttl = parsed.ttl or 0
            conn.execute(
                "UPDATE feeds SET present_ids = ?, server_interval = ? WHERE id = ?",
                (
                    ",".join(map(str, sorted(present))),
                    max(ttl, max_age or 0) or None,
                    feed_id,
                ),
            )
        new_ids.reverse()
        return FeedUpdate(new=len(new_ids), updated=updated, new_story_ids=new_ids)

    def _known_stories(
        self, conn: sqlite3.Connection, feed_id: int, entries: Sequence[ParsedEntry]
    ) -> _KnownStories:
        """The feed's stored stories that these entries may match: two queries per feed (by
        guid, then by link for the rest) instead of two per entry."""
        by_guid: dict[str, tuple[Any, ...]] = {}
        by_link: dict[str, tuple[Any, ...]] = {}
        cols = "guid, link, id, title, summary, author, published"
        guids = [_guid_of(e) for e in entries]
        for start in range(0, len(guids), 500):
            chunk = guids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {cols} FROM stories WHERE feed_id = ? AND guid IN ({marks})",
                [feed_id, *chunk],
            ):
                by_guid[row[0]] = row
        links = [e.link for e, g in zip(entries, guids, strict=True) if g not in by_guid and e.link]
        for start in range(0, len(links), 500):
            chunk = links[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {cols} FROM stories WHERE link IN ({marks}) AND feed_id = ?",
                [*chunk, feed_id],
            ):
                by_link.setdefault(row[1], row)
        return by_guid, by_link

    def _store_entries(
        self,
        conn: sqlite3.Connection,
        feed_id: int,
        entries: Sequence[ParsedEntry],
        now: int,
        known: _KnownStories,
    ) -> tuple[list[int], int]:
        """Insert the new entries (two ``executemany`` for the lot) and update the changed
        stored ones; returns (the new story ids in entry order, how many were updated).

        An entry that repeats an earlier new one of the same document (same guid, or the same
        link under another guid) is folded into it, as if inserted and then updated.
        """
        by_guid, by_link = known
        rows: list[list[Any]] = []  # feed_id, guid, link, title, author, published, first_seen,
        pending_guid: dict[str, int] = {}  # sort_key, summary, content: an index into rows
        pending_link: dict[str, int] = {}
        updated = 0
        for entry in entries:
            guid = _guid_of(entry)
            found = by_guid.get(guid) or (by_link.get(entry.link) if entry.link else None)
            if found is not None:
                updated += self._update_story(conn, found, entry)
                continue
            index = pending_guid.get(guid)
            if index is None and entry.link:
                index = pending_link.get(entry.link)
            published = _ts(entry.published)
            if index is not None:
                row = rows[index]
                if (row[3], row[8], row[2], row[4], row[5]) != (
                    entry.title,
                    entry.summary,
                    entry.link,
                    entry.author,
                    published,
                ):
                    content = _compress(entry)
                    row[2:6] = [entry.link, entry.title, entry.author, published]
                    row[7] = published if published is not None else row[7]
                    row[8] = entry.summary
                    row[9] = content if content is not None else row[9]
                    updated += 1
                continue
            pending_guid[guid] = len(rows)
            if entry.link:
                pending_link.setdefault(entry.link, len(rows))
            rows.append(
                [
                    feed_id,
                    guid,
                    entry.link,
                    entry.title,
                    entry.author,
                    published,
                    now,
                    published if published is not None else now,
                    entry.summary,
                    _compress(entry),
                ]
            )
        if not rows:
            return [], updated
        conn.executemany(
            "INSERT INTO stories (feed_id, guid, link, title, author, published, first_seen,"
            " sort_key, summary, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        ids: dict[str, int] = {}
        guids = [row[1] for row in rows]
        for start in range(0, len(guids), 500):
            chunk = guids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for guid, story_id in conn.execute(
                f"SELECT guid, id FROM stories WHERE feed_id = ? AND guid IN ({marks})",
                [feed_id, *chunk],
            ):
                ids[guid] = story_id
        new_ids = [ids[row[1]] for row in rows]
        conn.executemany(
            "INSERT INTO story_fts (rowid, title, body) VALUES (?, ?, ?)",
            [(story_id, row[3], row[8]) for story_id, row in zip(new_ids, rows, strict=True)],
        )
        return new_ids, updated

    def _update_story(
        self, conn: sqlite3.Connection, found: tuple[Any, ...], entry: ParsedEntry
    ) -> bool:
        """Update a stored story from its entry; False when nothing changed."""
        link = found[1]
        story_id, title, summary, author, old_published = found[2:]
        published = _ts(entry.published)
        if (title, summary, link, author, old_published) == (
            entry.title,
            entry.summary,
            entry.link,
            entry.author,
            published,
        ):
            return False
        content = _compress(entry)
        conn.execute(
            "UPDATE stories SET title = ?, summary = ?, link = ?, author = ?, published = ?,"
            " sort_key = coalesce(?, sort_key), content = coalesce(?, content) WHERE id = ?",
            (
                entry.title,
                entry.summary,
                entry.link,
                entry.author,
                published,
                published,
                content,
                story_id,
            ),
        )
        has_text = conn.execute(
            "SELECT 1 FROM articles WHERE story_id = ? AND text != ''", (story_id,)
        ).fetchone()
        if has_text:
            conn.execute("UPDATE story_fts SET title = ? WHERE rowid = ?", (entry.title, story_id))
        else:
            conn.execute(
                "UPDATE story_fts SET title = ?, body = ? WHERE rowid = ?",
                (entry.title, entry.summary, story_id),
            )
        return True

    # -- stories -----------------------------------------------------------------------

    # -- retention ---------------------------------------------------------------------

    def file_size(self) -> int:
        """Bytes of the cache in use (pages minus free pages) plus its WAL."""
        page_size = self._query("PRAGMA page_size")[0][0]
        pages = self._query("PRAGMA page_count")[0][0]
        wal = self.path.with_name(self.path.name + "-wal")
        extra = wal.stat().st_size if wal.exists() else 0
        return int(page_size * pages + extra)

    def cleanup(
        self,
        *,
        keep_days: int,
        keep_per_feed: int,
        full_text_days: int,
        dry_run: bool = False,
        convert: bool = False,
        now: int | None = None,
        chunk: int = 1000,
        pause: float = 0.002,
        cancel: Any = None,
    ) -> CleanupReport:
        """Apply the retention: old stories' pages and full text first, then old stories.

        Starred stories are never touched, and neither is a story the feed's last document
        still carried. Deletes run in transactions of ``chunk`` stories with a pause between
        them, so the app's own writes (a story marked read) never wait long. The file then
        gives its free pages back (``PRAGMA incremental_vacuum``); a cache created before
        that was possible needs one full ``VACUUM`` first, done only when ``convert`` is true
        (``tuinews cleanup``: it locks the file for as long as it takes).

        Args:
            keep_days: stories older than this many days go (0: none for their age).
            keep_per_feed: only the newest this many of each feed stay (0: no limit).
            full_text_days: older stories lose their page and full text (0: never).
            dry_run: count only; nothing changes.
            convert: allow the one full VACUUM that turns on incremental vacuum.
            now: the current Unix time (tests).
            chunk: stories per transaction.
            pause: seconds between transactions.
            cancel: an object with ``is_set()``: stop between transactions.
        """
        started = time.monotonic()
        now = now or _now()
        with contextlib.suppress(sqlite3.Error):  # so that the sizes compare like with like
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        report = CleanupReport(dry_run=dry_run, bytes_before=self.file_size())
        cutoff = now - keep_days * 86400 if keep_days else None
        text_cutoff = now - full_text_days * 86400 if full_text_days else None
        report.feeds_skipped = int(
            self._query("SELECT count(*) FROM feeds WHERE present_ids IS NULL")[0][0]
        )
        doomed, report.kept_starred, report.kept_in_feed = self._cleanup_candidates(
            cutoff, keep_per_feed
        )
        doomed_set = set(doomed)
        texts: list[int] = []
        if text_cutoff is not None:
            # Only stories the feed no longer carries: what it still carries keeps its text.
            outside = (
                " JOIN feeds f ON f.id = s.feed_id WHERE f.present_ids IS NOT NULL"
                " AND instr(',' || f.present_ids || ',', ',' || s.id || ',') = 0"
                " AND s.starred = 0 AND s.sort_key < ?"
            )
            texts = [
                r[0]
                for r in self._query(
                    "SELECT s.id FROM stories s" + outside + " AND (s.content IS NOT NULL"
                    " OR s.id IN (SELECT story_id FROM articles)"
                    " OR s.id IN (SELECT story_id FROM article_images))",
                    (text_cutoff,),
                )
                if r[0] not in doomed_set
            ]
        report.full_texts_dropped = len(texts)
        report.stories_deleted = len(doomed)
        if dry_run:
            report.bytes_after = report.bytes_before
            report.seconds = time.monotonic() - started
            return report

        def stopped() -> bool:
            return bool(cancel is not None and cancel.is_set())

        # Debian's SQLite overwrites every deleted byte (secure_delete on): that doubled the
        # writes of a cleanup. FAST still zeroes what lies in pages written anyway.
        secure = self._query("PRAGMA secure_delete")[0][0]
        self._query("PRAGMA secure_delete = FAST")
        # One checkpoint after the deletes instead of one every 1,000 pages: the chunks touch
        # the same index pages again and again, and each checkpoint copied them to the file.
        autocheckpoint = self._query("PRAGMA wal_autocheckpoint")[0][0]
        self._query("PRAGMA wal_autocheckpoint = 0")
        try:
            self._delete_in_chunks(texts, doomed, chunk, pause, stopped)
            self._query(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")
            with contextlib.suppress(sqlite3.Error):  # busy readers: the next one finishes it
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            vacuum_started = time.monotonic()
            report.vacuum = self._give_space_back(convert=convert, pause=pause, stopped=stopped)
            report.vacuum_seconds = time.monotonic() - vacuum_started
        finally:
            self._query(f"PRAGMA secure_delete = {int(secure)}")
            self._query(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")
        self.set_setting("retention.last_run", now)
        report.bytes_after = self.file_size()
        report.seconds = time.monotonic() - started
        return report

    def _delete_in_chunks(
        self, texts: list[int], doomed: list[int], chunk: int, pause: float, stopped: Any
    ) -> None:
        """The writes of a cleanup: a transaction per ``chunk`` stories."""

        for start in range(0, len(texts), chunk):
            if stopped():
                break
            ids = texts[start : start + chunk]
            marks = ",".join("?" * len(ids))
            with self.transaction() as conn:
                # The index goes back to what it holds for a story without full text (only
                # where it held an article's text: the others index their summary already).
                conn.execute(
                    f"UPDATE story_fts SET body = (SELECT summary FROM stories WHERE id = rowid)"
                    f" WHERE rowid IN (SELECT story_id FROM articles WHERE text != ''"
                    f" AND story_id IN ({marks}))",
                    ids,
                )
                conn.execute(f"DELETE FROM articles WHERE story_id IN ({marks})", ids)
                conn.execute(f"DELETE FROM article_images WHERE story_id IN ({marks})", ids)
                conn.execute(f"UPDATE stories SET content = NULL WHERE id IN ({marks})", ids)
            time.sleep(pause)
        for start in range(0, len(doomed), chunk):
            if stopped():
                break
            ids = doomed[start : start + chunk]
            marks = ",".join("?" * len(ids))
            with self.transaction() as conn:
                conn.execute(f"DELETE FROM story_fts WHERE rowid IN ({marks})", ids)
                conn.execute(f"DELETE FROM stories WHERE id IN ({marks})", ids)
            time.sleep(pause)

    def _cleanup_candidates(
        self, cutoff: int | None, keep_per_feed: int
    ) -> tuple[list[int], int, int]:
        """(ids to delete, kept because starred, kept because still in the feed)."""
        if cutoff is None and not keep_per_feed:
            return [], 0, 0
        conds = []
        params: list[Any] = []
        if cutoff is not None:
            conds.append("sort_key < ?")
            params.append(cutoff)
        if keep_per_feed:
            conds.append("rank > ?")
            params.append(keep_per_feed)
        rows = self._query(
            "SELECT id, starred, present FROM (SELECT s.id, s.starred, s.sort_key,"
            " instr(',' || f.present_ids || ',', ',' || s.id || ',') AS present,"
            " row_number() OVER (PARTITION BY s.feed_id ORDER BY s.sort_key DESC, s.id DESC)"
            " AS rank FROM stories s JOIN feeds f ON f.id = s.feed_id"
            " WHERE f.present_ids IS NOT NULL) WHERE " + " OR ".join(conds),
            params,
        )
        doomed = [r[0] for r in rows if not r[1] and not r[2]]
        starred = sum(1 for r in rows if r[1])
        in_feed = sum(1 for r in rows if r[2] and not r[1])
        return doomed, starred, in_feed

    def _give_space_back(self, *, convert: bool, pause: float, stopped: Any) -> str:
        mode = self._query("PRAGMA auto_vacuum")[0][0]
        if mode == 0:
            if not convert:
                return "not yet possible: run `tuinews cleanup` once to let the file shrink"
            try:
                self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
                self.conn.execute("VACUUM")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            return "converted (one full VACUUM; from now on the file shrinks by itself)"
        while not stopped():
            free = self._query("PRAGMA freelist_count")[0][0]
            if not free:
                break
            try:
                # executescript steps it to the end: execute() frees one page per call.
                self.conn.executescript("PRAGMA incremental_vacuum(2000);")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            time.sleep(pause)
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return "incremental"

    def cleanup_due(self, *, now: int | None = None) -> bool:
        """True when the retention has not run in the last 24 hours."""
        last = self.get_setting("retention.last_run")
        return not isinstance(last, int) or (now or _now()) - last >= 86400

    # -- searches, saved searches and the kill-file -------------------------------------

    def set_hide_rules(self, rules: Sequence[str]) -> list[str]:
        """The kill-file: stories matching any of these searches are left out of every list
        and count (unless a filter asks for ``show_hidden``). Returns the rules that were
        refused, each with why (the others apply)."""
        clauses: list[str] = []
        params: list[Any] = []
        refused: list[str] = []
        for rule in rules:
            try:
                query = self._checked(parse_search(rule))
            except TuinewsError as exc:
                refused.append(f"{rule}: {exc}")
                continue
            conds, values = query_conditions(query)
            if not conds:
                refused.append(f"{rule}: matches nothing")
                continue
            clauses.append("(" + " AND ".join(conds) + ")")
            params += values
        self._hidden = (f" AND NOT ({' OR '.join(clauses)})", params) if clauses else ("", [])
        return refused

    @property
    def hides_stories(self) -> bool:
        """True when the kill-file has rules."""
        return bool(self._hidden[0])

    def _checked(self, query: SearchQuery) -> SearchQuery:
        """The query with a full-text part SQLite accepts: FTS5 syntax it refuses is read as
        plain words instead (a search box must not fail on a stray quote or colon)."""
        if not query.match:
            return query
        match = self._matches.get(query.match)
        if match is None:
            try:
                self.conn.execute(
                    "SELECT rowid FROM story_fts WHERE story_fts MATCH ? LIMIT 1", (query.match,)
                ).fetchall()
                match = query.match
            except sqlite3.OperationalError as exc:
                log.info("search %r read as words: %s", query.match, exc)
                match = words_query(query.text)
            if len(self._matches) > 256:
                self._matches.clear()
            self._matches[query.match] = match
        return query if match == query.match else _replace_match(query, match)

    def parse_search(self, text: str) -> SearchQuery:
        """A search as typed, parsed and checked (see :mod:`tuinews.core.query`).

        Raises:
            SearchSyntaxError: a filter that makes no sense (``is:maybe``, a bad date).
        """
        return self._checked(parse_search(text))

    def _normal(self, flt: StoryFilter) -> StoryFilter:
        """A search that is only filters lists by time, like a saved search."""
        if flt.search and not parse_search(flt.search).match:
            return replace(flt, search=None, query=flt.search)
        return flt

    def _where(self, flt: StoryFilter, alias: str = "s") -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if flt.feed_id is not None:
            clauses.append("s.feed_id = ?")
            params.append(flt.feed_id)
        if flt.unread and flt.keep_ids:
            marks = ",".join("?" * len(flt.keep_ids))
            clauses.append(f"(s.read = 0 OR s.id IN ({marks}))")
            params.extend(flt.keep_ids)
        elif flt.unread:
            clauses.append("s.read = 0")
        if flt.starred:
            clauses.append("s.starred = 1")
        if flt.folder is not None:
            # A folder holds its subfolders' feeds too ("News" holds "News/Local").
            clauses.append(
                "s.feed_id IN (SELECT id FROM feeds WHERE folder = ? OR substr(folder, 1, ?) = ?)"
            )
            params += [flt.folder, len(flt.folder) + 1, flt.folder + "/"]
        if flt.query:
            conds, values = query_conditions(self._checked(parse_search(flt.query)))
            clauses += conds
            params += values
        if flt.folded:
            # A folded story is left out where its event's lead is in the list: the lead's
            # own conditions are the list's, on the lead's row (alias l).
            lead, lead_params = self._where(replace(flt, folded=False))
            lead = _ALIAS_S.sub("l.", lead)
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM stories l WHERE l.id = s.event_lead"
                + (" AND " + lead.removeprefix(" WHERE ") if lead else "")
                + ")"
            )
            params += lead_params
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        if not flt.show_hidden and self._hidden[0]:
            hidden, values = self._hidden
            where = (where + hidden) if where else " WHERE " + hidden.removeprefix(" AND ")
            params += values
        if alias != "s":
            where = _ALIAS_S.sub(alias + ".", where)
        return where, params

    def count_hidden(self, flt: StoryFilter = StoryFilter()) -> int:
        """How many stories of this list the kill-file hides."""
        if not self._hidden[0] or flt.show_hidden:
            return 0
        shown = self.count_stories(flt)
        every = self.count_stories(replace(flt, show_hidden=True))
        return max(0, every - shown)

    def story_ids(self, flt: StoryFilter, *, unread_only: bool = False) -> list[int]:
        """Every story id of a list (for marking a whole list; ids only, no rows)."""
        if unread_only:
            flt = replace(flt, unread=True, keep_ids=())
        flt = self._normal(flt)
        if flt.search:
            return self.search_ids(flt.search, flt, limit=100_000)
        where, params = self._where(flt)
        return [r[0] for r in self._query(f"SELECT s.id FROM stories s{where}", params)]

    def saved_searches(self) -> list[tuple[int, str, str]]:
        """(id, name, query) of every saved search, by name."""
        return [
            (r[0], r[1], r[2])
            for r in self._query("SELECT id, name, query FROM saved_searches ORDER BY lower(name)")
        ]

    def save_search(self, name: str, query: str) -> int:
        """Save (or replace) a search under ``name``; returns its id."""
        name, query = clean_name(name), query.strip()
        if not name or not query:
            raise TuinewsError("a saved search needs a name and a search")
        self.parse_search(query)  # a bad filter is refused now, not when listed
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO saved_searches (name, query, added_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET query = excluded.query",
                (name, query, _now()),
            )
            return int(
                conn.execute("SELECT id FROM saved_searches WHERE name = ?", (name,)).fetchone()[0]
            )

    def delete_saved_search(self, key: str | int) -> str:
        """Delete a saved search by id or name; returns its name."""
        rows = self._query(
            "SELECT id, name FROM saved_searches WHERE CAST(id AS TEXT) = ? OR lower(name) = lower(?)",
            (str(key), str(key)),
        )
        if not rows:
            raise NotFoundError(f"no saved search {key!r} (see `tuinews searches`)")
        with self.transaction() as conn:
            conn.execute("DELETE FROM saved_searches WHERE id = ?", (rows[0][0],))
        return str(rows[0][1])

    def folders(self) -> list[str]:
        """The folder names in use, sorted."""
        return [
            r[0]
            for r in self._query(
                "SELECT DISTINCT folder FROM feeds WHERE folder IS NOT NULL ORDER BY lower(folder)"
            )
        ]

    def count_stories(self, flt: StoryFilter = StoryFilter()) -> int:
        """How many stories a list with this filter holds."""
        flt = self._normal(flt)
        if flt.search:
            return len(self.search_ids(flt.search, flt))
        if flt.folded:
            # All rows less the folded ones whose lead is in the list: the second count
            # walks the small partial index of folded stories, not the whole table.
            return self.count_stories(replace(flt, folded=False)) - self._hidden_members(flt)
        where, params = self._where(flt)
        return int(self._query(f"SELECT count(*) FROM stories s{where}", params)[0][0])

    def _hidden_members(self, flt: StoryFilter, before: tuple[int, int] | None = None) -> int:
        """Folded stories of a list whose lead is in it too (rows a folded list leaves out),
        optionally only those placed before a keyset position."""
        where, params = self._where(replace(flt, folded=False))
        lead, lead_params = self._where(replace(flt, folded=False), alias="l")
        sql = (
            "SELECT count(*) FROM stories s INDEXED BY stories_event_members"
            " JOIN stories l ON l.id = s.event_lead"
            + (" AND " + lead.removeprefix(" WHERE ") if lead else "")
            + " WHERE s.event_lead IS NOT NULL"
            + (" AND " + where.removeprefix(" WHERE ") if where else "")
        )
        args = [*lead_params, *params]
        if before is not None:
            sql += " AND (s.sort_key, s.id) > (?, ?)"
            args += list(before)
        return int(self._query(sql, args)[0][0])

    def list_stories(
        self,
        flt: StoryFilter = StoryFilter(),
        *,
        limit: int = 100,
        offset: int = 0,
        after: tuple[int, int] | None = None,
    ) -> list[Story]:
        """One page of stories, newest first.

        Args:
            flt: which stories.
            limit: page size.
            offset: rows to skip (used when ``after`` is not given).
            after: keyset position ``(sort_key, id)`` of the row before this page: the
                cost then does not grow with the position in the list.
        """
        flt = self._normal(flt)
        if flt.search:
            ids = self.search_ids(flt.search, flt)[offset : offset + limit]
            return self.stories_by_ids(ids)
        where, params = self._where(flt)
        if after is not None:
            where += (" AND " if where else " WHERE ") + "(s.sort_key, s.id) < (?, ?)"
            params += list(after)
            offset = 0
        sql = (
            f"SELECT {_STORY_COLUMNS} FROM stories s JOIN feeds f ON f.id = s.feed_id{where}"
            " ORDER BY s.sort_key DESC, s.id DESC LIMIT ? OFFSET ?"
        )
        return [_story(r) for r in self._query(sql, [*params, limit, offset])]

    def sort_position(self, story_id: int) -> tuple[int, int] | None:
        """The keyset position ``(sort_key, id)`` of a story."""
        rows = self._query("SELECT sort_key, id FROM stories WHERE id = ?", (story_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def index_of(self, story_id: int, flt: StoryFilter = StoryFilter()) -> int | None:
        """The row number of a story in a list (for restoring the position)."""
        pos = self.sort_position(story_id)
        if pos is None:
            return None
        flt = self._normal(flt)
        if flt.search:
            ids = self.search_ids(flt.search, flt)
            return ids.index(story_id) if story_id in ids else None
        if flt.folded:
            plain = replace(flt, folded=False)
            before = self.index_of(story_id, plain)
            return None if before is None else before - self._hidden_members(flt, pos)
        where, params = self._where(flt)
        where += (" AND " if where else " WHERE ") + "(s.sort_key, s.id) > (?, ?)"
        return int(self._query(f"SELECT count(*) FROM stories s{where}", [*params, *pos])[0][0])

    def story(self, story_id: int) -> Story:
        rows = self._query(
            f"SELECT {_STORY_COLUMNS} FROM stories s JOIN feeds f ON f.id = s.feed_id"
            " WHERE s.id = ?",
            (story_id,),
        )
        if not rows:
            raise NotFoundError(f"no story with id {story_id}")
        return _story(rows[0])

    def stories_by_ids(self, ids: Sequence[int]) -> list[Story]:
        """Stories in the order of ``ids`` (missing ones left out)."""
        if not ids:
            return []
        found: dict[int, Story] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                f"SELECT {_STORY_COLUMNS} FROM stories s JOIN feeds f ON f.id = s.feed_id"
                f" WHERE s.id IN ({marks})",
                chunk,
            ):
                found[row[0]] = _story(row)
        return [found[i] for i in ids if i in found]

    def story_content(self, story_id: int) -> str | None:
        """The full HTML the feed itself carried for a story, if any."""
        rows = self._query("SELECT content FROM stories WHERE id = ?", (story_id,))
        if not rows or rows[0][0] is None:
            return None
        return unpack(rows[0][0]).decode("utf-8", "replace")

    def search_ids(
        self, query: str, flt: StoryFilter = StoryFilter(), limit: int = 500
    ) -> list[int]:
        """Story ids matching a full-text query, best first (BM25, titles weigh more).

        A list counts its rows and then reads pages of them: the last result is kept until
        the database changes (this connection's changes or another's commit), so one search
        runs once.
        """
        parsed = self._checked(parse_search(query))
        match = parsed.match
        if not match:
            return []
        conn = self.conn
        version = (conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0])
        key = (
            match,
            parsed,
            flt.feed_id,
            flt.unread,
            flt.starred,
            flt.folder,
            flt.query,
            flt.show_hidden,
            flt.keep_ids,
            self._hidden,
            limit,
            version,
        )
        cached: tuple[object, list[int]] | None = getattr(self._local, "search", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        where, params = self._where(replace(flt, search=None))
        extra_conds, extra_params = filter_conditions(parsed)
        if extra_conds:
            where = (where + " AND " if where else " WHERE ") + " AND ".join(extra_conds)
            params += extra_params
        if where:
            extra = where.replace(" WHERE ", " AND ", 1)
            sql = (
                "SELECT s.id FROM story_fts JOIN stories s ON s.id = story_fts.rowid"
                f" WHERE story_fts MATCH ?{extra}"
                " ORDER BY bm25(story_fts, 5.0, 1.0) LIMIT ?"
            )
        else:
            # No filter: the index alone answers (the join to stories doubled the p95).
            sql = (
                "SELECT rowid FROM story_fts WHERE story_fts MATCH ?"
                " ORDER BY bm25(story_fts, 5.0, 1.0) LIMIT ?"
            )
        ids = [r[0] for r in self._query(sql, [match, *params, limit])]
        self._local.search = (key, ids)
        return ids

    def set_read(self, story_ids: Sequence[int], read: bool = True) -> None:
        with self.transaction() as conn:
            self._queue_story_ops(conn, story_ids, "read" if read else "unread")
            conn.executemany(
                "UPDATE stories SET read = ? WHERE id = ?", [(int(read), i) for i in story_ids]
            )

    def mark_feed_read(self, feed_id: int | None) -> int:
        """Mark every story of a feed (or all, with None) read; returns how many changed."""
        with self.transaction() as conn:
            self._queue_feed_read(conn, feed_id)
            if feed_id is None:
                cur = conn.execute("UPDATE stories SET read = 1 WHERE read = 0")
            else:
                cur = conn.execute(
                    "UPDATE stories SET read = 1 WHERE read = 0 AND feed_id = ?", (feed_id,)
                )
            return cur.rowcount

    # -- the sync outbox (issue 16) --------------------------------------------------------
    # A read/star change of a story the sync server knows is queued in the same transaction
    # as the change itself, so it is sent at the next sync even if tuinews dies right after.

    @staticmethod
    def _queue_story_ops(conn: sqlite3.Connection, story_ids: Sequence[int], op: str) -> None:
        """Queue ``op`` (read, unread, star, unstar) for the stories that change with it."""
        column, value = {
            "read": ("read", 1),
            "unread": ("read", 0),
            "star": ("starred", 1),
            "unstar": ("starred", 0),
        }[op]
        now = _now()
        ids = list(dict.fromkeys(story_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            conn.execute(
                "INSERT INTO sync_outbox (op, item_id, story_id, created_at)"
                " SELECT ?, si.item_id, s.id, ? FROM stories s"
                " JOIN sync_items si ON si.story_id = s.id"
                f" WHERE s.id IN ({marks}) AND s.{column} != ? ORDER BY s.id",
                [op, now, *chunk, value],
            )

    @staticmethod
    def _queue_feed_read(conn: sqlite3.Connection, feed_id: int | None) -> None:
        """Queue "read" for the unread server stories of a feed (or of all feeds)."""
        where = "" if feed_id is None else " AND s.feed_id = ?"
        conn.execute(
            "INSERT INTO sync_outbox (op, item_id, story_id, created_at)"
            " SELECT 'read', si.item_id, s.id, ? FROM stories s"
            f" JOIN sync_items si ON si.story_id = s.id WHERE s.read = 0{where} ORDER BY s.id",
            [_now()] if feed_id is None else [_now(), feed_id],
        )

    def rename_story(self, story_id: int, title: str) -> None:
        """Give a story a better title (a linked page named by its own headline)."""
        with self.transaction() as conn:
            conn.execute("UPDATE stories SET title = ? WHERE id = ?", (title, story_id))
            conn.execute("UPDATE story_fts SET title = ? WHERE rowid = ?", (title, story_id))

    def set_starred(self, story_id: int, starred: bool) -> None:
        with self.transaction() as conn:
            self._queue_story_ops(conn, [story_id], "star" if starred else "unstar")
            conn.execute("UPDATE stories SET starred = ? WHERE id = ?", (int(starred), story_id))

    def next_unread(self, story_id: int | None, *, forward: bool = True) -> int | None:
        """The next (older) or previous (newer) unread story across all feeds."""
        pos = self.sort_position(story_id) if story_id is not None else None
        if forward:
            cond, order = "(sort_key, id) < (?, ?)", "DESC"
        else:
            cond, order = "(sort_key, id) > (?, ?)", "ASC"
        hidden, hidden_params = self._hidden
        if pos is None:
            sql = (
                f"SELECT id FROM stories s WHERE read = 0{hidden}"
                f" ORDER BY sort_key {order}, id {order}"
            )
            rows = self._query(sql + " LIMIT 1", hidden_params)
        else:
            rows = self._query(
                f"SELECT id FROM stories s WHERE read = 0 AND {cond}{hidden}"
                f" ORDER BY sort_key {order}, id {order} LIMIT 1",
                [*pos, *hidden_params],
            )
        return rows[0][0] if rows else None

    def stories_with_link(self, urls: Sequence[str]) -> dict[str, int]:
        """Map page URLs to cached story ids (for related links that are in the cache)."""
        found: dict[str, int] = {}
        for start in range(0, len(urls), 500):
            chunk = list(urls[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for url, sid in self._query(
                f"SELECT link, min(id) FROM stories WHERE link IN ({marks}) GROUP BY link", chunk
            ):
                found[url] = sid
        return found

    def story_ids_without_article(self, story_ids: Sequence[int]) -> list[int]:
        if not story_ids:
            return []
        out: list[int] = []
        for start in range(0, len(story_ids), 500):
            chunk = list(story_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out += [
                r[0]
                for r in self._query(
                    f"SELECT id FROM stories WHERE id IN ({marks}) AND link IS NOT NULL"
                    " AND id NOT IN (SELECT story_id FROM articles)",
                    chunk,
                )
            ]
        return out

    # -- events (issue 13: one row per event) ---------------------------------------------

    def stories_to_fold(self, since: datetime, *, limit: int) -> list[int]:
        """Stories the folding has not looked at yet, published since ``since`` (newest
        first); older unchecked ones are marked checked: they are not news any more."""
        cutoff = int(since.timestamp())
        if not self._query(
            "SELECT 1 FROM stories INDEXED BY stories_event_unchecked WHERE event_checked = 0"
            " LIMIT 1"
        ):
            return []  # the usual case at start-up: no write at all
        with self.transaction() as conn:
            conn.execute(
                "UPDATE stories SET event_checked = 1 WHERE event_checked = 0"
                " AND coalesce(published, first_seen) < ?",
                (cutoff,),
            )
        return [
            r[0]
            for r in self._query(
                "SELECT id FROM stories INDEXED BY stories_event_unchecked"
                " WHERE event_checked = 0 ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        ]

    def event_leads(self, story_ids: Sequence[int]) -> dict[int, int]:
        """Story id -> the lead of the event it is folded into (stories not folded: absent)."""
        out: dict[int, int] = {}
        for start in range(0, len(story_ids), 500):
            chunk = list(story_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out.update(
                (r[0], r[1])
                for r in self._query(
                    f"SELECT id, event_lead FROM stories WHERE id IN ({marks})"
                    " AND event_lead IS NOT NULL",
                    chunk,
                )
            )
        return out

    def set_events(self, leads: dict[int, list[int]], checked: Sequence[int]) -> None:
        """Fold stories into events, and mark ``checked`` as looked at, in one transaction.

        Args:
            leads: lead id -> the stories folded into it. A story that was itself a lead
                hands its own folded stories over to the new lead.
            checked: stories the folding has looked at (folded or not).
        """
        with self.transaction() as conn:
            for lead, members in leads.items():
                others = [m for m in members if m != lead]
                if not others:
                    continue
                marks = ",".join("?" * len(others))
                conn.execute(
                    f"UPDATE stories SET event_lead = ? WHERE event_lead IN ({marks})",
                    (lead, *others),
                )
                conn.executemany(
                    "UPDATE stories SET event_lead = ? WHERE id = ?", [(lead, m) for m in others]
                )
                conn.execute("UPDATE stories SET event_lead = NULL WHERE id = ?", (lead,))
            conn.executemany(
                "UPDATE stories SET event_checked = 1 WHERE id = ?", [(i,) for i in checked]
            )

    def event_members(self, lead_ids: Sequence[int]) -> dict[int, list[Story]]:
        """The stories folded into each of these leads (oldest report first)."""
        out: dict[int, list[Story]] = {}
        for start in range(0, len(lead_ids), 500):
            chunk = list(lead_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                f"SELECT {_STORY_COLUMNS}, s.event_lead FROM stories s"
                " INDEXED BY stories_event_members JOIN feeds f ON f.id = s.feed_id"
                f" WHERE s.event_lead IN ({marks}) ORDER BY s.sort_key, s.id",
                chunk,
            ):
                out.setdefault(row[-1], []).append(_story(row))
        return out

    def event_of(self, story_id: int) -> list[int]:
        """Every story of the event a story belongs to (its lead first); just the story when
        it is not folded with any other."""
        rows = self._query("SELECT coalesce(event_lead, id) FROM stories WHERE id = ?", (story_id,))
        if not rows:
            return []
        lead = int(rows[0][0])
        members = [
            r[0]
            for r in self._query(
                "SELECT id FROM stories INDEXED BY stories_event_members WHERE event_lead = ?"
                " ORDER BY sort_key, id",
                (lead,),
            )
        ]
        return [lead, *members]

    def story_ids_to_prefetch(self, feed_ids: Sequence[int], *, limit: int) -> list[int]:
        """Stories of these feeds with a link and no full text yet (never fetched, or fetched
        and not extracted), newest first, at most ``limit`` (issue 13: a prefetch covers the
        stories that came before it too, not only this refresh's new ones).

        A page that was fetched and had no article is recorded with why, and is not retried.
        """
        if not feed_ids or limit <= 0:
            return []
        marks = ",".join("?" * len(feed_ids))
        # stories_by_feed (feed_id, sort_key DESC, id DESC) gives each feed's newest first;
        # the articles lookup is by primary key.
        return [
            r[0]
            for r in self._query(
                f"SELECT s.id FROM stories s WHERE s.feed_id IN ({marks})"
                " AND s.link IS NOT NULL AND s.link != ''"
                " AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id"
                " AND (a.extracted = 1 OR a.raw IS NOT NULL))"
                " ORDER BY s.sort_key DESC, s.id DESC LIMIT ?",
                (*feed_ids, limit),
            )
        ]

    # -- article images (issue 14) -----------------------------------------------------

    def store_image(
        self,
        story_id: int,
        url: str,
        content_type: str | None,
        data: bytes | None,
        error: str | None = None,
    ) -> None:
        """Keep one image of an article (or why it could not be fetched)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO article_images (story_id, url, content_type, data,"
                " error, fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                (story_id, url, content_type, data, error, time.time()),
            )

    def images(self, story_id: int) -> dict[str, tuple[str | None, bytes | None, str | None]]:
        """The kept images of an article: URL -> (content type, bytes or None, error)."""
        return {
            url: (ctype, data, error)
            for url, ctype, data, error in self._query(
                "SELECT url, content_type, data, error FROM article_images WHERE story_id = ?",
                (story_id,),
            )
        }

    # -- articles ----------------------------------------------------------------------

    def store_raw_page(
        self, story_id: int, url: str, body: bytes, content_type: str | None
    ) -> None:
        """Keep a fetched page (compressed) before extraction, so it is never fetched twice."""
        raw = pack_page(body)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO articles (story_id, url, raw, content_type, fetched_at, extracted)"
                " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (story_id) DO UPDATE SET url = excluded.url,"
                " raw = excluded.raw, content_type = excluded.content_type,"
                " fetched_at = excluded.fetched_at, extracted = 0, error = NULL",
                (story_id, url, raw, content_type, _now()),
            )

    def raw_page(self, story_id: int) -> tuple[str, bytes, str | None] | None:
        """(url, page bytes, content type) of a stored page, or None."""
        rows = self._query(
            "SELECT url, raw, content_type FROM articles WHERE story_id = ?", (story_id,)
        )
        if not rows or rows[0][1] is None:
            return None
        return rows[0][0], unpack(rows[0][1]), rows[0][2]

    def store_article(self, story_id: int, url: str, extracted: ExtractedArticle) -> None:
        """Store the extraction of a page (the raw page stays), its links, and index its text."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO articles (story_id, url, markdown, text, title, author, published,"
                " site_name, language, top_image, word_count, fetched_at, extracted, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL)"
                f" ON CONFLICT (story_id) DO UPDATE SET {_ARTICLE_UPDATE}",
                (story_id, url, *_article_values(extracted), _now()),
            )
            self._index_article(conn, story_id, extracted)
            self._store_notice(conn, story_id, extracted)

    def store_fetched_page(
        self,
        story_id: int,
        url: str,
        packed: bytes,
        content_type: str | None,
        extracted: ExtractedArticle | None,
        error: str = "",
    ) -> None:
        """Store a fetched page (compressed with :func:`blobs.pack_page`) with its article, or
        with why it has none, in one write of the row: :meth:`store_raw_page` then
        :meth:`store_article` write it twice, its compressed page included (a prefetch's
        commits were mostly that)."""
        with self.transaction() as conn:
            if extracted is None:
                conn.execute(
                    "INSERT INTO articles (story_id, url, raw, content_type, fetched_at,"
                    " extracted, error) VALUES (?, ?, ?, ?, ?, 1, ?)"
                    " ON CONFLICT (story_id) DO UPDATE SET url = excluded.url,"
                    " raw = excluded.raw, content_type = excluded.content_type,"
                    " fetched_at = excluded.fetched_at, extracted = 1, error = excluded.error",
                    (story_id, url, packed, content_type, _now(), error),
                )
                return
            conn.execute(
                "INSERT INTO articles (story_id, url, markdown, text, title, author, published,"
                " site_name, language, top_image, word_count, fetched_at, raw, content_type,"
                " extracted, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL)"
                f" ON CONFLICT (story_id) DO UPDATE SET {_ARTICLE_UPDATE},"
                " raw = excluded.raw, content_type = excluded.content_type,"
                " fetched_at = excluded.fetched_at",
                (story_id, url, *_article_values(extracted), _now(), packed, content_type),
            )
            self._index_article(conn, story_id, extracted)
            self._store_notice(conn, story_id, extracted)

    @staticmethod
    def _store_notice(conn: sqlite3.Connection, story_id: int, extracted: ExtractedArticle) -> None:
        """The article's notice (issue 14), or NULL: a statement of its own, so that the
        article INSERTs stay as they were."""
        conn.execute(
            "UPDATE articles SET notice = ? WHERE story_id = ?", (extracted.notice, story_id)
        )

    @staticmethod
    def _index_article(
        conn: sqlite3.Connection, story_id: int, extracted: ExtractedArticle
    ) -> None:
        """An article's related links, and its text in the full-text index."""
        conn.execute("DELETE FROM related_links WHERE story_id = ?", (story_id,))
        conn.executemany(
            "INSERT INTO related_links (story_id, position, url, title, source, published)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (story_id, i, link.url, link.title, link.source, link.published)
                for i, link in enumerate(extracted.related_links)
            ],
        )
        conn.execute("UPDATE story_fts SET body = ? WHERE rowid = ?", (extracted.text, story_id))

    def store_article_error(self, story_id: int, url: str, error: str) -> None:
        """Record why a story has no full text (the raw page, if any, is kept)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO articles (story_id, url, fetched_at, extracted, error)"
                " VALUES (?, ?, ?, 1, ?) ON CONFLICT (story_id) DO UPDATE SET"
                " extracted = 1, error = excluded.error, fetched_at = excluded.fetched_at",
                (story_id, url, _now(), error),
            )

    def article(self, story_id: int) -> Article | None:
        """The stored article of a story (None when never fetched or not yet extracted)."""
        rows = self._query(
            "SELECT story_id, url, markdown, title, author, published, site_name, language,"
            " top_image, word_count, fetched_at, error, extracted, notice FROM articles"
            " WHERE story_id = ?",
            (story_id,),
        )
        if not rows or not rows[0][12]:
            return None
        r = rows[0]
        links = [
            RelatedLink(url=u, title=t, source=s, published=p)
            for u, t, s, p in self._query(
                "SELECT url, title, source, published FROM related_links WHERE story_id = ?"
                " ORDER BY position",
                (story_id,),
            )
        ]
        return Article(
            story_id=r[0],
            url=r[1],
            markdown=r[2],
            title=r[3],
            author=r[4],
            published=_dt(r[5]),
            site_name=r[6],
            language=r[7],
            top_image=r[8],
            word_count=r[9],
            fetched_at=_dt(r[10]),
            error=r[11],
            related_links=links,
            notice=r[13],
        )

    # -- related stories: index terms, document frequencies, candidates -----------------

    def _term_scratch(self) -> sqlite3.Connection:
        """This thread's connection, with its temp scratch table for stemming words."""
        conn = self.conn
        if not getattr(self._local, "term_scratch", False):
            try:
                conn.execute(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.term_scratch USING fts5("
                    f"body, tokenize = '{_FTS_TOKENIZE}')"
                )
                conn.execute(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.term_scratch_instance"
                    " USING fts5vocab(term_scratch, 'instance')"
                )
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            self._local.term_scratch = True
        return conn

    def index_terms(self, words: Sequence[str]) -> dict[str, str]:
        """Map words to the terms story_fts indexes them as ("closures" -> "closur").

        The words go through the index's own tokenizer (in a temp table of this thread's
        connection, so nothing is written to the cache), which keeps stemming exact. Words
        that make no term are left out; a word that makes several maps to the first.
        """
        unique = [w for w in dict.fromkeys(words) if w]
        if not unique:
            return {}
        conn = self._term_scratch()
        out: dict[str, str] = {}
        try:
            conn.execute("DELETE FROM temp.term_scratch")
            conn.execute(
                "INSERT INTO temp.term_scratch (rowid, body) VALUES (1, ?)", (" ".join(unique),)
            )
            rows = conn.execute(
                "SELECT term, offset FROM temp.term_scratch_instance ORDER BY offset"
            ).fetchall()
            if len(rows) == len(unique) and all(r[1] == i for i, r in enumerate(rows)):
                out = {w: r[0] for w, r in zip(unique, rows, strict=True)}
            else:
                # Some word is not exactly one token: stem them one row each instead.
                conn.execute("DELETE FROM temp.term_scratch")
                conn.executemany(
                    "INSERT INTO temp.term_scratch (rowid, body) VALUES (?, ?)",
                    [(i + 1, w) for i, w in enumerate(unique)],
                )
                for doc, term in conn.execute(
                    "SELECT doc, term FROM temp.term_scratch_instance ORDER BY doc, offset DESC"
                ):
                    out[unique[doc - 1]] = term
            conn.execute("DELETE FROM temp.term_scratch")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return out

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many stories contain each index term (terms in no story are left out)."""
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(terms))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for term, df in self._query(
                f"SELECT term, doc FROM story_vocab WHERE term IN ({marks})", chunk
            ):
                found[term] = df
        return found

    def indexed_story_count(self) -> int:
        """How many stories the full-text index holds (N for inverse document frequency)."""
        return int(self._query("SELECT count(*) FROM stories")[0][0])

    def story_texts(self, story_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(title, body) as indexed: body is the article text if fetched, else the summary."""
        found: dict[int, tuple[str, str]] = {}
        for start in range(0, len(story_ids), 500):
            chunk = list(story_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rowid, title, body in self._query(
                f"SELECT rowid, title, body FROM story_fts WHERE rowid IN ({marks})", chunk
            ):
                found[rowid] = (title or "", body or "")
        return found

    def stories_matching_any(
        self,
        words: Sequence[str],
        *,
        limit: int,
        title_weight: float = 2.0,
        titles_only: bool = False,
    ) -> list[int]:
        """Story ids containing any of ``words``, best BM25 first (candidates for similarity).

        Args:
            words: plain words; each is quoted, so FTS5 syntax in them is inert.
            limit: how many ids at most.
            title_weight: BM25 weight of the title column (the body weighs 1).
            titles_only: match in titles only (far fewer rows to rank).
        """
        quoted = ['"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words) if w.strip()]
        if not quoted:
            return []
        match = " OR ".join(quoted)
        if titles_only:
            match = f"title : ({match})"
        rows = self._query(
            "SELECT rowid FROM story_fts WHERE story_fts MATCH ?"
            " ORDER BY bm25(story_fts, ?, 1.0) LIMIT ?",
            (match, title_weight, limit),
        )
        return [r[0] for r in rows]
