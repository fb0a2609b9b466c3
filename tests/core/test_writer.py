"""Group commit: the BatchWriter and Store.batch, on a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading
import zlib
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.core.test_store import feed
from tuinews.core.blobs import pack, unpack
from tuinews.core.errors import StoreError
from tuinews.core.models import ParsedEntry, ParsedFeed
from tuinews.core.store import Store
from tuinews.core.writer import BatchWriter


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "cache.sqlite3")
    yield s
    s.close()


def other_connection_count(store: Store) -> int:
    """Stories as another process would see them (committed data only)."""
    conn = sqlite3.connect(store.path)
    try:
        return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])
    finally:
        conn.close()


def test_queued_jobs_commit_together_and_resolve_after_commit(store: Store) -> None:
    feeds = [store.add_feed(f"http://127.0.0.1/f{i}") for i in range(20)]
    gate = threading.Event()
    writer = BatchWriter(store, max_jobs=64, max_seconds=5)
    try:
        # Hold the writer on a first job so that the 20 feeds queue up behind it.
        first = writer.submit(gate.wait, 10)
        futures = [writer.submit(store.store_feed, f.id, feed(3, f"f{f.id}-")) for f in feeds]
        assert not any(fut.done() for fut in futures)
        gate.set()
        updates = [fut.result(timeout=30) for fut in futures]
        assert first.result(timeout=30) is True
        # Every future resolved only once its data was committed: another connection sees it.
        assert other_connection_count(store) == 60
        assert [u.new for u in updates] == [3] * 20
        assert writer.batches < 21  # the 20 queued feeds shared transactions
    finally:
        writer.shutdown()


def test_a_failing_job_undoes_only_its_own_writes(store: Store) -> None:
    good = [store.add_feed(f"http://127.0.0.1/g{i}") for i in range(3)]
    gate = threading.Event()

    def half_then_fail() -> None:
        store.store_feed(good[0].id, feed(2, "doomed-"))
        raise RuntimeError("a bug in the middle of a feed")

    writer = BatchWriter(store, max_seconds=5)
    try:
        writer.submit(gate.wait, 10)
        ok1 = writer.submit(store.store_feed, good[1].id, feed(2, "one-"))
        bad = writer.submit(half_then_fail)
        ok2 = writer.submit(store.store_feed, good[2].id, feed(2, "two-"))
        gate.set()
        assert ok1.result(timeout=30).new == 2
        assert ok2.result(timeout=30).new == 2
        with pytest.raises(RuntimeError, match="a bug"):
            bad.result(timeout=30)
    finally:
        writer.shutdown()
    titles = {s.title for s in store.list_stories()}
    assert len(titles) == 4 and not any("doomed" in t for t in titles)
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cancelled_jobs_are_skipped(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/f")
    gate = threading.Event()
    writer = BatchWriter(store)
    try:
        writer.submit(gate.wait, 10)
        cancelled = writer.submit(store.store_feed, f.id, feed(2, "never-"))
        assert cancelled.cancel()
        kept = writer.submit(store.store_feed, f.id, feed(1, "kept-"))
        gate.set()
        assert kept.result(timeout=30).new == 1
    finally:
        writer.shutdown()
    assert [s.title for s in store.list_stories()] == ["Story kept-0 about harbours"]


def test_a_busy_cache_fails_the_job_with_a_clear_message(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache.sqlite3")
    f = store.add_feed("http://127.0.0.1/f")
    store.close()
    blocker = sqlite3.connect(tmp_path / "cache.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    store = Store(tmp_path / "cache.sqlite3", busy_timeout=0.2)
    writer = BatchWriter(store)
    try:
        fut: Future[object] = writer.submit(store.store_feed, f.id, feed(1))
        with pytest.raises(StoreError, match="busy"):
            fut.result(timeout=60)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        writer.shutdown()
        store.close()


def test_entries_repeating_a_new_story_fold_into_it(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/f")
    entries = [
        ParsedEntry(guid="a", link="http://127.0.0.1/x", title="First title", summary="one"),
        ParsedEntry(guid="b", link="http://127.0.0.1/x", title="Second title", summary="two"),
        ParsedEntry(guid="c", link="http://127.0.0.1/y", title="Other", summary="three"),
        ParsedEntry(guid="c", link="http://127.0.0.1/y", title="Other", summary="three"),
    ]
    # Stored oldest first: the feed lists newest first, so "b" is seen before "a".
    update = store.store_feed(f.id, ParsedFeed("F", None, entries, "rss"))
    assert update.new == 2 and len(set(update.new_story_ids)) == 2
    stories = {s.link: s for s in store.list_stories()}
    assert set(stories) == {"http://127.0.0.1/x", "http://127.0.0.1/y"}
    assert stories["http://127.0.0.1/x"].title == "First title"  # the later entry wins
    assert store.search_ids("first") == [stories["http://127.0.0.1/x"].id]
    assert store.search_ids("second") == []


def test_blobs_are_zstd_and_old_zlib_blobs_still_read(store: Store) -> None:
    html = "<p>" + "The harbour committee met on Tuesday. " * 50 + "</p>"
    assert unpack(pack(html.encode())) == html.encode()
    assert pack(html.encode())[:4] == b"\x28\xb5\x2f\xfd"
    f = store.add_feed("http://127.0.0.1/f")
    entry = ParsedEntry(guid="z", link="http://127.0.0.1/z", title="Z", content_html=html)
    store.store_feed(f.id, ParsedFeed("F", None, [entry], "rss"))
    (story,) = store.list_stories()
    assert store.story_content(story.id) == html
    # A cache written by an earlier version holds zlib streams.
    store.conn.execute(
        "UPDATE stories SET content = ? WHERE id = ?", (zlib.compress(html.encode(), 6), story.id)
    )
    assert store.story_content(story.id) == html
    # A worker may hand over content already packed.
    packed = ParsedEntry(
        guid="p", link="http://127.0.0.1/p", title="P", content_packed=pack(b"<p>packed</p>")
    )
    store.store_feed(f.id, ParsedFeed("F", None, [packed], "rss"))
    pid = next(s.id for s in store.list_stories() if s.title == "P")
    assert store.story_content(pid) == "<p>packed</p>"


def test_linger_lets_jobs_that_arrive_one_by_one_share_a_commit(store: Store) -> None:
    feeds = [store.add_feed(f"http://127.0.0.1/f{i}") for i in range(6)]
    writer = BatchWriter(store, linger=1.0, max_seconds=5)
    try:
        futures = []
        for f in feeds:  # one at a time, as a prefetch's pages come out of the workers
            futures.append(writer.submit(store.store_feed, f.id, feed(1, f"f{f.id}-")))
            threading.Event().wait(0.05)
        assert [fut.result(timeout=30).new for fut in futures] == [1] * 6
        assert other_connection_count(store) == 6  # committed when they resolved
        assert writer.batches == 1  # without linger, each would have had its own commit
    finally:
        writer.shutdown()


def test_lingering_does_not_hold_the_write_lock(store: Store) -> None:
    """The jobs a linger gathers run once it is over: meanwhile another connection (the app
    marking a story read) can write at once."""
    feeds = [store.add_feed(f"http://127.0.0.1/g{i}") for i in range(2)]
    writer = BatchWriter(store, linger=1.0)
    try:
        first = writer.submit(store.store_feed, feeds[0].id, feed(1, "g0-"))
        threading.Event().wait(0.2)  # the writer is lingering now
        other = sqlite3.connect(store.path, timeout=0.05)
        try:
            other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if it is held
            other.execute("UPDATE feeds SET title = 'renamed' WHERE id = ?", (feeds[1].id,))
            other.commit()
        finally:
            other.close()
        assert not first.done()  # still gathering
        second = writer.submit(store.store_feed, feeds[1].id, feed(1, "g1-"))
        assert first.result(timeout=30).new == 1 and second.result(timeout=30).new == 1
        assert writer.batches == 1
    finally:
        writer.shutdown()


def test_flush_ends_the_linger(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1/h")
    writer = BatchWriter(store, linger=30.0)
    try:
        job = writer.submit(store.store_feed, f.id, feed(2, "h-"))
        threading.Event().wait(0.1)
        assert not job.done()  # gathering for up to 30 s
        writer.flush()
        assert job.result(timeout=5).new == 2  # written at once, not after 30 s
        writer.flush()  # with nothing gathered: no effect
        again = writer.submit(store.store_feed, f.id, feed(3, "h-"))
        writer.flush()
        assert again.result(timeout=5).new == 1
    finally:
        writer.shutdown()
