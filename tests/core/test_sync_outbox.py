"""The sync outbox is written by the store methods that change read/star state, folders and
subscriptions, in the same transaction as the change (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuinews.core.models import ParsedEntry, ParsedFeed
from tuinews.core.store import Store
from tuinews.core.sync.engine import summary_text


def _store(tmp_path: Path) -> tuple[Store, int, list[int]]:
    store = Store(tmp_path / "c.sqlite3")
    feed = store.add_feed("http://127.0.0.1:9/f.xml", "F")
    entries = [
        ParsedEntry(guid=f"g{i}", link=f"http://127.0.0.1:9/{i}", title=f"T{i}") for i in range(3)
    ]
    ids = store.store_feed(feed.id, ParsedFeed("F", None, entries, "rss")).new_story_ids
    with store.transaction() as conn:
        conn.execute("INSERT INTO sync_feeds VALUES ('feed/7', ?)", (feed.id,))
        # Two of the three stories are the server's; the third is local only.
        conn.executemany("INSERT INTO sync_items VALUES (?, ?)", [(100, ids[0]), (101, ids[1])])
    return store, feed.id, ids


def _outbox(store: Store) -> list[tuple[object, ...]]:
    return store.conn.execute(
        "SELECT op, item_id, stream, arg FROM sync_outbox ORDER BY id"
    ).fetchall()


def test_state_changes_of_server_stories_are_queued_in_order(tmp_path: Path) -> None:
    store, feed_id, ids = _store(tmp_path)
    store.set_read(ids, True)
    store.set_read([ids[0]], True)  # no change: nothing queued
    store.set_starred(ids[1], True)
    store.set_read([ids[1]], False)
    assert store.mark_feed_read(feed_id) == 1
    rows = _outbox(store)
    assert sorted(rows[:2]) == [("read", 100, None, None), ("read", 101, None, None)]
    assert rows[2:] == [
        ("star", 101, None, None),
        ("unread", 101, None, None),
        ("read", 101, None, None),
    ]


def test_folder_moves_and_unsubscribe_are_queued(tmp_path: Path) -> None:
    store, feed_id, _ = _store(tmp_path)
    store.set_feed_folder(feed_id, "Tech")
    store.set_feed_folder(feed_id, "Tech")  # no change
    store.remove_feed(feed_id)
    assert _outbox(store) == [
        ("folder", None, "feed/7", '{"from":null,"to":"Tech"}'),
        ("unsubscribe", None, "feed/7", None),
    ]


def test_a_change_rolled_back_leaves_no_outbox_row(tmp_path: Path) -> None:
    store, _, ids = _store(tmp_path)
    with pytest.raises(RuntimeError), store.batch():
        store.set_read([ids[0]], True)
        raise RuntimeError("crash in the middle")
    assert _outbox(store) == []
    assert not store.story(ids[0]).read


def test_summary_text_strips_markup_keeps_paragraphs() -> None:
    text = summary_text("<p>A &amp; <b>B</b></p><script>evil()</script><div>C<br>D</div>\x1b[31m")
    assert text == "A & B\n\nC\n\nD"
