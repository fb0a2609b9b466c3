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
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .blobs import pack, pack_page, unpack
from .errors import NotFoundError, StoreError
from .models import Article, ExtractedArticle, Feed, ParsedEntry, ParsedFeed, RelatedLink, Story

log = logging.getLogger(__name__)

SCHEMA_VERSION = 6

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
]

# The tokenizer of story_fts (migration 1). The scratch table that stems words for related
# stories must use the very same one, so that its terms are the index's terms.
_FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


_KnownStories = tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]


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
    keep_ids: tuple[int, ...] = ()
    """Stories an unread list still shows once read (issue 17: the story being read stays in
    the Unread view until the view is left)."""


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
    word is quoted.
    """
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


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
                for statement in script.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
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
        " (SELECT count(*) FROM stories s WHERE s.feed_id = f.id AND s.read = 0),"
        " {total}, f.last_warning, f.folder FROM feeds f"
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
        )

    def feeds(self, *, with_totals: bool = False) -> list[Feed]:
        """All subscriptions with unread counts, by title."""
        total = "(SELECT count(*) FROM stories s WHERE s.feed_id = f.id)" if with_totals else "0"
        sql = self._FEED_SQL.format(total=total) + " ORDER BY lower(f.title), f.id"
        return [self._feed(r) for r in self._query(sql)]

    def feed(self, feed_id: int) -> Feed:
        sql = self._FEED_SQL.format(total="0") + " WHERE f.id = ?"
        rows = self._query(sql, (feed_id,))
        if not rows:
            raise NotFoundError(f"no feed with id {feed_id}")
        return self._feed(rows[0])

    def find_feed(self, key: str) -> Feed:
        """A feed by id, exact URL or (case-insensitive, unique) title."""
        base = self._FEED_SQL.format(total="0")
        if key.isdigit():
            rows = self._query(base + " WHERE f.id = ?", (int(key),))
            if rows:
                return self._feed(rows[0])
        rows = self._query(base + " WHERE f.url = ?", (key,))
        if not rows:
            rows = self._query(base + " WHERE lower(f.title) = lower(?)", (key,))
        if not rows:
            rows = self._query(base + " WHERE instr(lower(f.title), lower(?)) > 0", (key,))
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
    ) -> None:
        """Record a fetch that stored nothing (304, an error): status, error, validators."""
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
            " gone = ?, etag = coalesce(?, etag), last_modified = coalesce(?, last_modified)"
            " WHERE id = ?",
            (status, error, _now(), _ts(retry_after), int(gone), etag, last_modified, feed_id),
        )
        if new_url:
            # A permanent redirect: keep the new address unless another feed already has it.
            conn.execute(
                "UPDATE OR IGNORE feeds SET url = ? WHERE id = ?",
                (new_url, feed_id),
            )

    def store_feed(
        self,
        feed_id: int,
        parsed: ParsedFeed,
        *,
        status: int | None = 200,
        etag: str | None = None,
        last_modified: str | None = None,
        new_url: str | None = None,
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

    def _where(self, flt: StoryFilter) -> tuple[str, list[Any]]:
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
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count_stories(self, flt: StoryFilter = StoryFilter()) -> int:
        """How many stories a list with this filter holds."""
        if flt.search:
            return len(self.search_ids(flt.search, flt))
        where, params = self._where(flt)
        return int(self._query(f"SELECT count(*) FROM stories s{where}", params)[0][0])

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
        if flt.search:
            ids = self.search_ids(flt.search, flt)
            return ids.index(story_id) if story_id in ids else None
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
        match = fts_query(query)
        if not match:
            return []
        conn = self.conn
        version = (conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0])
        key = (match, flt.feed_id, flt.unread, flt.starred, limit, version)
        cached: tuple[object, list[int]] | None = getattr(self._local, "search", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        where, params = self._where(StoryFilter(flt.feed_id, flt.unread, flt.starred))
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
            conn.executemany(
                "UPDATE stories SET read = ? WHERE id = ?", [(int(read), i) for i in story_ids]
            )

    def mark_feed_read(self, feed_id: int | None) -> int:
        """Mark every story of a feed (or all, with None) read; returns how many changed."""
        with self.transaction() as conn:
            if feed_id is None:
                cur = conn.execute("UPDATE stories SET read = 1 WHERE read = 0")
            else:
                cur = conn.execute(
                    "UPDATE stories SET read = 1 WHERE read = 0 AND feed_id = ?", (feed_id,)
                )
            return cur.rowcount

    def rename_story(self, story_id: int, title: str) -> None:
        """Give a story a better title (a linked page named by its own headline)."""
        with self.transaction() as conn:
            conn.execute("UPDATE stories SET title = ? WHERE id = ?", (title, story_id))
            conn.execute("UPDATE story_fts SET title = ? WHERE rowid = ?", (title, story_id))

    def set_starred(self, story_id: int, starred: bool) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE stories SET starred = ? WHERE id = ?", (int(starred), story_id))

    def next_unread(self, story_id: int | None, *, forward: bool = True) -> int | None:
        """The next (older) or previous (newer) unread story across all feeds."""
        pos = self.sort_position(story_id) if story_id is not None else None
        if forward:
            cond, order = "(sort_key, id) < (?, ?)", "DESC"
        else:
            cond, order = "(sort_key, id) > (?, ?)", "ASC"
        if pos is None:
            sql = f"SELECT id FROM stories WHERE read = 0 ORDER BY sort_key {order}, id {order}"
            rows = self._query(sql + " LIMIT 1")
        else:
            rows = self._query(
                f"SELECT id FROM stories WHERE read = 0 AND {cond}"
                f" ORDER BY sort_key {order}, id {order} LIMIT 1",
                pos,
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
