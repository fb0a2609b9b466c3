"""The SQLite cache: migrations, transactions, paging, search, refusing bad files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tuinews.core.errors import StoreError
from tuinews.core.models import ExtractedArticle, ParsedEntry, ParsedFeed, RelatedLink
from tuinews.core.store import SCHEMA_VERSION, Store, StoryFilter, fts_query

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def entries(n: int, prefix: str = "s", start: int = 0) -> list[ParsedEntry]:
    return [
        ParsedEntry(
            guid=f"{prefix}{i}",
            link=f"http://127.0.0.1/{prefix}{i}",
            title=f"Story {prefix}{i} about harbours",
            published=T0 + timedelta(minutes=i),
            summary=f"Summary {i} of the {prefix} feed",
        )
        for i in range(start, start + n)
    ]


def feed(n: int, prefix: str = "s", title: str = "Feed") -> ParsedFeed:
    return ParsedFeed(title=title, site_url=None, entries=entries(n, prefix), format="rss")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "cache.sqlite3")
    yield s
    s.close()


def test_schema_wal_and_version(store: Store) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.integrity_check() == "ok"


def test_store_feed_dedupes_by_guid_then_link(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed")
    up = store.store_feed(f.id, feed(5))
    assert up.new == 5 and len(up.new_story_ids) == 5
    # The same feed again: nothing new, nothing changed.
    again = store.store_feed(f.id, feed(5))
    assert (again.new, again.updated) == (0, 0)
    # Same links, new guids: matched by link, not duplicated.
    relabelled = ParsedFeed(
        title="Feed",
        site_url=None,
        format="rss",
        entries=[
            ParsedEntry(
                guid=f"new-{e.guid}",
                link=e.link,
                title=e.title + " (upd)",
                published=e.published,
                summary=e.summary,
            )
            for e in entries(5)
        ],
    )
    up3 = store.store_feed(f.id, relabelled)
    assert up3.new == 0 and up3.updated == 5
    assert store.count_stories() == 5
    assert all(s.title.endswith("(upd)") for s in store.list_stories())


def test_read_and_starred_survive_updates(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed")
    store.store_feed(f.id, feed(3))
    first = store.list_stories()[0]
    store.set_read([first.id])
    store.set_starred(first.id, True)
    store.store_feed(f.id, feed(4))
    s = store.story(first.id)
    assert s.read and s.starred
    assert store.feed(f.id).unread == 3


def test_paging_keyset_equals_offset(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed")
    store.store_feed(f.id, feed(250))
    all_ids = [s.id for s in store.list_stories(limit=1000)]
    assert len(all_ids) == 250
    page1 = store.list_stories(limit=100)
    last = page1[-1]
    after = store.sort_position(last.id)
    keyset = store.list_stories(limit=100, after=after)
    offset = store.list_stories(limit=100, offset=100)
    assert [s.id for s in keyset] == [s.id for s in offset] == all_ids[100:200]
    # newest first
    pubs = [s.published for s in store.list_stories(limit=250)]
    assert pubs == sorted(pubs, reverse=True)
    assert store.index_of(all_ids[137]) == 137


def test_filters_and_next_unread(store: Store) -> None:
    a = store.add_feed("http://127.0.0.1/a", "A")
    b = store.add_feed("http://127.0.0.1/b", "B")
    store.store_feed(a.id, feed(3, "a", "A"))
    store.store_feed(b.id, feed(3, "b", "B"))
    assert store.count_stories(StoryFilter(feed_id=a.id)) == 3
    ids = [s.id for s in store.list_stories()]
    store.set_read(ids[:2])
    assert store.count_stories(StoryFilter(unread=True)) == 4
    assert store.next_unread(ids[0]) == ids[2]
    assert store.next_unread(ids[3], forward=False) == ids[2]
    store.set_starred(ids[5], True)
    assert [s.id for s in store.list_stories(StoryFilter(starred=True))] == [ids[5]]
    assert store.mark_feed_read(None) == 4
    assert store.next_unread(None) is None


def test_search_and_fts_query(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed")
    up = store.store_feed(f.id, feed(10))
    sid = up.new_story_ids[0]
    store.store_article(
        sid,
        "http://127.0.0.1/s9",
        ExtractedArticle(
            markdown="# x",
            text="A lighthouse keeper retires after forty years",
            related_links=[RelatedLink("http://127.0.0.1/s1", "Other")],
        ),
    )
    hits = store.search_ids("lighthouse")
    assert hits == [sid]
    assert store.search_ids("lightho") == [sid]  # prefix on the last word
    assert len(store.search_ids("harbours")) == 10
    # FTS syntax in user input is quoted, not interpreted (no exception, no surprise).
    for nasty in ['"', "AND OR NOT", "title:x", "a*b(", "NEAR(", "-x"]:
        store.search_ids(nasty)
    assert fts_query("  ") == ""
    art = store.article(sid)
    assert art is not None and art.related_links[0].title == "Other"


def test_a_fetched_page_and_its_article_are_stored_in_one_write(store: Store) -> None:
    from tuinews.core.blobs import pack_page

    f = store.add_feed("http://127.0.0.1/feed")
    first, second = store.store_feed(f.id, feed(2)).new_story_ids
    page = b"<html><body><p>The ferry timetable changes</p></body></html>"
    store.store_fetched_page(
        first,
        "http://127.0.0.1/s0",
        pack_page(page),
        "text/html",
        ExtractedArticle(
            markdown="# Ferry",
            text="The ferry timetable changes",
            title="Ferry",
            related_links=[RelatedLink("http://127.0.0.1/s5", "Next")],
        ),
    )
    art = store.article(first)
    assert art is not None and art.markdown == "# Ferry" and not art.error
    assert [link.title for link in art.related_links] == ["Next"]
    assert store.raw_page(first) == ("http://127.0.0.1/s0", page, "text/html")
    assert store.search_ids("timetable") == [first]
    # No article: the page is kept, with why.
    store.store_fetched_page(second, "http://127.0.0.1/s1", pack_page(b"%PDF"), None, None, "a PDF")
    assert store.raw_page(second) == ("http://127.0.0.1/s1", b"%PDF", None)
    failed = store.article(second)
    assert failed is not None and failed.error == "a PDF"
    # Fetched again and extracted this time: the error is gone, the new page replaces the old.
    store.store_fetched_page(
        second,
        "http://127.0.0.1/s1",
        pack_page(b"v2"),
        "text/html",
        ExtractedArticle(markdown="m", text="lighthouse keeper"),
    )
    again = store.article(second)
    assert again is not None and not again.error and again.markdown == "m"
    assert store.raw_page(second) == ("http://127.0.0.1/s1", b"v2", "text/html")
    assert store.search_ids("lighthouse") == [second]


def test_remove_feed_cascades(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed")
    up = store.store_feed(f.id, feed(3))
    store.store_article(
        up.new_story_ids[0], "u", ExtractedArticle(markdown="m", text="unique words")
    )
    store.remove_feed(f.id)
    assert store.count_stories() == 0
    assert store.search_ids("unique") == []
    assert store.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


def test_failed_transaction_leaves_old_state(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed")
    store.store_feed(f.id, feed(3))
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("DELETE FROM stories")
        raise RuntimeError("crash mid-update")
    assert store.count_stories() == 3


def test_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE x (y)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer tuinews"):
        Store(path)
    assert path.read_bytes() == before


def test_corrupt_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite3"
    path.write_bytes(b"this is not a database at all" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="damaged"):
        Store(path)
    assert path.read_bytes() == before


def test_settings_roundtrip(store: Store) -> None:
    assert store.get_setting("theme", "x") == "x"
    store.set_setting("theme", "nord")
    store.set_setting("pos", {"feed": 1, "story": 2})
    assert store.get_setting("theme") == "nord"
    assert store.get_setting("pos") == {"feed": 1, "story": 2}


def test_core_never_imports_textual_or_rich() -> None:
    code = (
        "import sys, tuinews.core.service, tuinews.core.store, tuinews.core.feeds, "
        "tuinews.core.extract, tuinews.core.export, tuinews.core.related, tuinews.cli, "
        "tuinews.config\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_search_sees_new_stories_and_changes(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed")
    store.store_feed(f.id, feed(3))
    assert len(store.search_ids("harbours")) == 3
    assert store.count_stories(StoryFilter(search="harbours")) == 3
    store.store_feed(
        f.id, ParsedFeed(title="Feed", site_url=None, format="rss", entries=entries(2, "t"))
    )
    assert len(store.search_ids("harbours")) == 5  # the kept result was dropped
    ids = store.search_ids("harbours")
    store.set_read(ids[:1])
    assert len(store.search_ids("harbours", StoryFilter(unread=True))) == 4
    # Another connection's commit is seen too.
    other = Store(store.path)
    other.store_feed(
        f.id, ParsedFeed(title="Feed", site_url=None, format="rss", entries=entries(1, "u"))
    )
    other.close()
    assert len(store.search_ids("harbours")) == 6


def test_feed_folder_is_kept_and_cleared(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/feed-folder")
    assert store.feed(f.id).folder is None
    store.set_feed_folder(f.id, "  Science ")
    assert store.feed(f.id).folder == "Science"
    assert [x.folder for x in store.feeds()] == ["Science"]
    store.set_feed_folder(f.id, "")
    assert store.feed(f.id).folder is None


def test_a_version_3_cache_gains_folders_and_keeps_its_feeds(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    s = Store(path)
    f = s.add_feed("http://127.0.0.1/old-feed", "Old")
    s.close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE feeds DROP COLUMN folder")
    # What the later migrations added goes too (issue 14's notice and article images).
    conn.execute("ALTER TABLE articles DROP COLUMN notice")
    conn.execute("DROP TABLE article_images")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    s = Store(path)
    try:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert s.feed(f.id).title == "Old" and s.feed(f.id).folder is None
    finally:
        s.close()


def test_a_version_4_cache_gains_notices_and_images(tmp_path: Path) -> None:
    # Issue 14's migrations on a cache written before them: the articles stay readable.
    path = tmp_path / "old.sqlite3"
    s = Store(path)
    f = s.add_feed("http://127.0.0.1/old-feed", "Old")
    s.close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE articles DROP COLUMN notice")
    conn.execute("DROP TABLE article_images")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    s = Store(path)
    try:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert s.feed(f.id).title == "Old"
        assert s.images(1) == {}
    finally:
        s.close()
