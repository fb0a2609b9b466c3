"""Issue 15 in the core: the refresh schedule, retention, searches and the kill-file, folders in
OPML, marking whole lists, and batch export to a notes folder. A real SQLite file each time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer, Route, rss
from tuinews.core.errors import TuinewsError
from tuinews.core.feeds import parse_opml
from tuinews.core.fetch import Fetcher, FetchLimits, cache_max_age
from tuinews.core.models import ExtractedArticle, Feed, ParsedEntry, ParsedFeed
from tuinews.core.query import SearchSyntaxError, parse_search
from tuinews.core.schedule import (
    due_feed_ids,
    feed_schedule,
    format_duration,
    parse_duration,
)
from tuinews.core.service import Service
from tuinews.core.store import Store, StoryFilter
from tuinews.core.vault import MANIFEST, images_as_links

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def entries(
    prefix: str, n: int, *, start: datetime = NOW, step_days: float = 1
) -> list[ParsedEntry]:
    return [
        ParsedEntry(
            guid=f"{prefix}{i}",
            link=f"http://127.0.0.1:9/{prefix}/{i}",
            title=f"{prefix} story {i}" if i % 3 else f"Sponsored: {prefix} offer {i}",
            published=start - timedelta(days=step_days * i),
            summary=f"Summary {i} about the harbour bridge",
        )
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "cache.sqlite3")
    yield s
    s.close()


# -- schedule -------------------------------------------------------------------------------


def test_durations() -> None:
    assert parse_duration("2h") == 7200
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1d") == 86400
    assert parse_duration(45) == 45 * 60  # a bare number is minutes
    for bad in ("soon", "", "10s", "2x"):
        with pytest.raises(TuinewsError):
            parse_duration(bad)
    assert format_duration(5400) == "1h30m" and format_duration(3 * 86400) == "3d"


def feed(**kw: object) -> Feed:
    base = dict(id=1, url="http://127.0.0.1:9/f.xml", title="F", last_checked=NOW)
    base.update(kw)
    return Feed(**base)  # type: ignore[arg-type]


def test_schedule_default_override_floor_backoff_and_retry_after() -> None:
    later = NOW + timedelta(minutes=31)
    s = feed_schedule(feed(), default_interval=1800, now=NOW)
    assert (s.interval, s.source, s.due) == (1800, "default", NOW + timedelta(minutes=30))
    s = feed_schedule(feed(refresh_interval=7200), default_interval=1800, now=NOW)
    assert (s.interval, s.source) == (7200, "feed")
    # The server's TTL / max-age is a floor under the user's interval, capped at a day.
    s = feed_schedule(
        feed(refresh_interval=600, server_interval=3600), default_interval=1800, now=NOW
    )
    assert (s.interval, s.source) == (3600, "server")
    s = feed_schedule(feed(server_interval=10 * 86400), default_interval=1800, now=NOW)
    assert s.interval == 86400
    # Failures double the wait, up to a day.
    waits = [
        feed_schedule(feed(failures=n), default_interval=1800, now=NOW).wait for n in (1, 2, 3, 12)
    ]
    assert waits == [3600, 7200, 14400, 86400]
    s = feed_schedule(feed(failures=2), default_interval=1800, now=NOW)
    assert s.backing_off and "failed 2 times in a row, backing off" in s.describe(
        feed(failures=2), NOW
    )
    # Retry-After later than the interval wins.
    s = feed_schedule(feed(retry_after=NOW + timedelta(hours=5)), default_interval=1800, now=NOW)
    assert s.retry_after and s.due == NOW + timedelta(hours=5)
    # Due lists: never checked first, gone and linked pages never.
    feeds = [
        feed(id=1),
        feed(id=2, last_checked=None),
        feed(id=3, last_checked=NOW - timedelta(hours=1)),
        feed(id=4, gone=True, last_checked=None),
        feed(id=5, url="tuinews:linked-pages", last_checked=None),
    ]
    assert due_feed_ids(feeds, default_interval=1800, now=NOW) == [3, 2]
    assert due_feed_ids(feeds, default_interval=1800, now=later) == [3, 1, 2]


def test_cache_control_max_age() -> None:
    assert cache_max_age("public, max-age=600") == 600
    assert cache_max_age('max-age="900", s-maxage=1200') == 1200
    assert cache_max_age("no-cache, max-age=600") is None
    assert cache_max_age("max-age=soon") is None and cache_max_age(None) is None


def test_refresh_records_ttl_max_age_and_failures(tmp_path: Path, server: LoopbackServer) -> None:
    limits = FetchLimits(connect_timeout=2, read_timeout=3, total_timeout=6, concurrency=4)
    svc = Service(tmp_path / "c.sqlite3", fetcher=Fetcher(limits, serve_samples=False))
    try:
        body = rss("Loop", [("a", "A", server.url("/a"))]).replace(
            b"<channel>", b"<channel><ttl>90</ttl>", 1
        )
        server.routes["/feed"] = Route(body, headers={"Cache-Control": "max-age=600"})
        f = svc.store.add_feed(server.url("/feed"))
        svc.refresh()
        stored = svc.store.feed(f.id)
        assert stored.server_interval == 90 * 60 and stored.failures == 0
        assert svc.due_feed_ids(1800) == []  # just checked
        server.routes["/feed"] = Route(b"", status=500)
        svc.refresh([f.id])
        svc.refresh([f.id])
        stored = svc.store.feed(f.id)
        assert stored.failures == 2 and "500" in (stored.last_error or "")
        s = feed_schedule(stored, default_interval=1800, now=datetime.now(UTC))
        assert s.backing_off and s.wait == 4 * 90 * 60
        server.routes["/feed"] = Route(body)
        svc.refresh([f.id])
        assert svc.store.feed(f.id).failures == 0  # one success resets the backoff
    finally:
        svc.close()


# -- searches and the kill-file ---------------------------------------------------------------


def test_search_syntax() -> None:
    q = parse_search('feed:"Civic Ledger" folder:News is:unread is:starred after:2026-11-01 bridge')
    assert q.feeds == ("Civic Ledger",) and q.folders == ("News",)
    assert q.unread is True and q.starred is True
    assert q.after == int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
    assert q.match == '"bridge"*'
    assert parse_search("bridge OR ferry").match == "bridge OR ferry"  # FTS5 as written
    assert parse_search("title:sponsored").match == "title:sponsored"
    assert parse_search("is:read").match == "" and parse_search("is:read").unread is False
    assert parse_search("after:7d", now=NOW).after == int((NOW - timedelta(days=7)).timestamp())
    for bad in ("is:maybe", "after:tuesday", "feed:"):
        with pytest.raises(SearchSyntaxError):
            parse_search(bad)


def test_filters_folders_and_the_kill_file(store: Store) -> None:
    a = store.add_feed("http://127.0.0.1:9/a.xml", "Alpha")
    b = store.add_feed("http://127.0.0.1:9/b.xml", "Beta")
    store.set_feed_folder(a.id, "News")
    store.store_feed(a.id, ParsedFeed("Alpha", None, entries("alpha", 6), "rss"))
    store.store_feed(b.id, ParsedFeed("Beta", None, entries("beta", 4, step_days=10), "rss"))
    assert store.count_stories(StoryFilter(folder="News")) == 6
    assert store.count_stories(StoryFilter(search="feed:beta")) == 4
    assert store.count_stories(StoryFilter(search="folder:news alpha")) == 6
    assert store.count_stories(StoryFilter(search='"alpha story" OR "beta story"')) == 6
    cutoff = (NOW - timedelta(days=15)).date().isoformat()
    assert store.count_stories(StoryFilter(query=f"feed:beta after:{cutoff}")) == 2
    # FTS5 syntax SQLite refuses is read as words, not an error.
    assert store.count_stories(StoryFilter(search='alpha "story')) == 4
    first = store.list_stories(StoryFilter(query="is:unread"), limit=1)[0]
    store.set_starred(first.id, True)
    assert store.count_stories(StoryFilter(query="is:starred")) == 1

    refused = store.set_hide_rules(["title:sponsored", "is:nonsense"])
    assert len(refused) == 1 and "is:nonsense" in refused[0]
    # Hidden everywhere: every list, the counts, the feed pane's unread counts, next unread.
    assert store.count_stories() == 6 and store.count_hidden() == 4
    assert store.count_stories(StoryFilter(folder="News")) == 4
    assert store.count_stories(StoryFilter(search="sponsored")) == 0
    assert {f.title: f.unread for f in store.feeds()} == {"Alpha": 4, "Beta": 2}
    shown = store.list_stories(limit=100)
    assert not any(s.title.startswith("Sponsored") for s in shown)
    assert store.count_stories(StoryFilter(show_hidden=True)) == 10
    story_id = store.next_unread(None)
    assert story_id is not None and not store.story(story_id).title.startswith("Sponsored")
    store.set_hide_rules([])
    assert store.count_stories() == 10


def test_saved_searches(store: Store) -> None:
    a = store.add_feed("http://127.0.0.1:9/a.xml", "Alpha")
    store.store_feed(a.id, ParsedFeed("Alpha", None, entries("alpha", 6), "rss"))
    store.save_search("Offers", "sponsored is:unread")
    store.save_search("Offers", "sponsored")  # same name: replaced
    assert [(n, q) for _, n, q in store.saved_searches()] == [("Offers", "sponsored")]
    assert store.count_stories(StoryFilter(query="sponsored")) == 2
    with pytest.raises(TuinewsError):
        store.save_search("Bad", "is:maybe")
    assert store.delete_saved_search("offers") == "Offers"
    assert store.saved_searches() == []


# -- retention --------------------------------------------------------------------------------


def _article(n: int) -> ExtractedArticle:
    return ExtractedArticle(markdown="Full text. " * n, text="full text " * n)


def test_cleanup_keeps_starred_and_in_feed_and_drops_full_text_first(store: Store) -> None:
    now = int(NOW.timestamp())
    f = store.add_feed("http://127.0.0.1:9/a.xml", "Alpha")
    every = entries("alpha", 40, step_days=5)  # 0 .. 195 days old
    store.store_feed(f.id, ParsedFeed("Alpha", None, every, "rss"))
    ids = {s.guid: s.id for s in store.list_stories(limit=100)}
    for story_id in ids.values():
        store.store_article(story_id, "http://127.0.0.1:9/x", _article(2000))
    store.set_starred(ids["alpha30"], True)  # 150 days old, starred
    for guid in ("alpha10", "alpha3"):  # the images kept with an article go with its text
        store.store_image(ids[guid], "https://img.example/a.jpg", "image/jpeg", b"\xff" * 5000)
    # The feed now carries only a few, among them an old one (35: 175 days).
    store.store_feed(f.id, ParsedFeed("Alpha", None, [every[0], every[1], every[35]], "rss"))
    dry = store.cleanup(keep_days=90, keep_per_feed=500, full_text_days=30, dry_run=True, now=now)
    assert store.count_stories() == 40  # a dry run changes nothing
    # Older than 90 days: 19..39 (21 stories), minus starred 30 and in-feed 35.
    assert dry.stories_deleted == 19 and dry.kept_starred == 1 and dry.kept_in_feed == 1
    # 30 to 90 days old and not in the feed: 7..18 lose their full text.
    assert dry.full_texts_dropped == 12
    report = store.cleanup(keep_days=90, keep_per_feed=500, full_text_days=30, now=now)
    assert (report.stories_deleted, report.full_texts_dropped) == (19, 12)
    assert store.count_stories() == 21
    assert store.story(ids["alpha30"]).starred and store.article(ids["alpha35"]) is not None
    assert store.article(ids["alpha10"]) is None and store.story(ids["alpha10"]).title
    assert store.images(ids["alpha10"]) == {} and store.images(ids["alpha3"]) != {}
    assert store.article(ids["alpha3"]) is not None  # recent: kept whole
    assert report.vacuum == "incremental" and report.bytes_after < report.bytes_before
    assert store.integrity_check() == "ok"
    # The index follows: deleted stories are not found, dropped ones by their summary only.
    assert store.count_stories(StoryFilter(search="alpha story 20")) == 0
    assert store.count_stories(StoryFilter(search="full text")) == 7 + 1 + 1 + 1 - 1
    # keep_per_feed: the newest N stay (and what the feed carries, and starred).
    store.cleanup(keep_days=0, keep_per_feed=5, full_text_days=0, now=now)
    left = {s.guid for s in store.list_stories(limit=100)}
    assert left == {f"alpha{i}" for i in range(5)} | {"alpha30", "alpha35"}
    assert not store.cleanup_due(now=now) and store.cleanup_due(now=now + 86400)


def test_cleanup_leaves_feeds_it_knows_nothing_about(store: Store) -> None:
    f = store.add_feed("http://127.0.0.1:9/a.xml", "Alpha")
    store.store_feed(f.id, ParsedFeed("Alpha", None, entries("alpha", 10, step_days=30), "rss"))
    with store.transaction() as conn:  # as after the upgrade, before the feed's next refresh
        conn.execute("UPDATE feeds SET present_ids = NULL")
    report = store.cleanup(keep_days=1, keep_per_feed=1, full_text_days=1)
    assert report.feeds_skipped == 1 and report.stories_deleted == 0
    assert store.count_stories() == 10


def test_an_old_cache_is_converted_to_incremental_vacuum_only_when_asked(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA auto_vacuum = NONE")
    conn.execute("CREATE TABLE scratch (x)")  # the file exists before tuinews sees it
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert store.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
        assert (
            "run `tuinews cleanup`"
            in store.cleanup(keep_days=1, keep_per_feed=0, full_text_days=0).vacuum
        )
        report = store.cleanup(keep_days=1, keep_per_feed=0, full_text_days=0, convert=True)
        assert report.vacuum.startswith("converted")
        assert store.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    finally:
        store.close()


# -- marking a whole list -----------------------------------------------------------------------


def test_mark_a_list_read_and_undo_through_set_read(tmp_path: Path) -> None:
    svc = Service(tmp_path / "c.sqlite3", fetcher=Fetcher(serve_samples=False))
    try:
        a = svc.store.add_feed("http://127.0.0.1:9/a.xml", "Alpha")
        b = svc.store.add_feed("http://127.0.0.1:9/b.xml", "Beta")
        svc.store.set_feed_folder(a.id, "News")
        svc.store.store_feed(a.id, ParsedFeed("Alpha", None, entries("alpha", 1200), "rss"))
        svc.store.store_feed(b.id, ParsedFeed("Beta", None, entries("beta", 3), "rss"))
        calls: list[int] = []
        original = svc.store.set_read

        def spy(ids, read=True):  # type: ignore[no-untyped-def]
            calls.append(len(ids))
            original(ids, read)

        svc.store.set_read = spy  # type: ignore[method-assign]
        ids = svc.mark_list_read(StoryFilter(folder="News"))
        assert len(ids) == 1200 and calls == [500, 500, 200]  # chunked, through set_read
        assert svc.count_stories(StoryFilter(unread=True)) == 3
        svc.set_read_many(ids, False)
        assert svc.count_stories(StoryFilter(unread=True)) == 1203
        assert len(svc.mark_list_read(StoryFilter(search="sponsored"))) == 401
    finally:
        svc.close()


# -- OPML folders -------------------------------------------------------------------------------


def test_opml_folders_round_trip(tmp_path: Path) -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0"><body>
    <outline text="News"><outline text="Local">
      <outline text="Courier" xmlUrl="http://127.0.0.1:9/courier.xml"/></outline>
      <outline text="Ledger" xmlUrl="http://127.0.0.1:9/ledger.xml"/></outline>
    <outline text="Loose" xmlUrl="http://127.0.0.1:9/loose.xml"/>
    <outline text="Tagged" xmlUrl="http://127.0.0.1:9/tagged.xml" category="/Science/Space"/>
    </body></opml>"""
    assert [o.category for o in parse_opml(opml)] == ["News/Local", "News", None, "Science/Space"]
    svc = Service(tmp_path / "c.sqlite3", fetcher=Fetcher(serve_samples=False))
    try:
        added, skipped = svc.import_opml(opml)
        assert {f.title: f.folder for f in svc.feeds()} == {
            "Courier": "News/Local",
            "Ledger": "News",
            "Loose": None,
            "Tagged": "Science/Space",
        }
        text = svc.export_opml()
        again = {o.xml_url.rsplit("/", 1)[1]: o.category for o in parse_opml(text.encode())}
        assert again == {
            "courier.xml": "News/Local",
            "ledger.xml": "News",
            "loose.xml": None,
            "tagged.xml": "Science/Space",
        }
    finally:
        svc.close()


# -- batch export -------------------------------------------------------------------------------


def test_images_become_links() -> None:
    md = 'Text ![A ferry](https://img.example/f.jpg "cap") and ![](https://img.example/g.png).'
    assert images_as_links(md) == (
        "Text [Image: A ferry](https://img.example/f.jpg) and [Image: image](https://img.example/g.png)."
    )


def test_batch_export_is_stable_and_rewrites_only_what_changed(tmp_path: Path) -> None:
    svc = Service(tmp_path / "c.sqlite3", fetcher=Fetcher(serve_samples=False))
    vault = tmp_path / "vault"
    try:
        f = svc.store.add_feed("http://127.0.0.1:9/a.xml", "Alpha")
        svc.store.store_feed(f.id, ParsedFeed("Alpha", None, entries("alpha", 4), "rss"))
        stories = svc.list_stories()
        svc.store.store_article(
            stories[0].id,
            "http://127.0.0.1:9/x",
            ExtractedArticle(markdown="Body text.\n\n![Quay](https://img.example/q.jpg)", text="b"),
        )
        ids = [s.id for s in stories]
        first = svc.export_batch(ids, vault, fetch=False)
        assert len(first.written) == 4 and not first.unchanged
        names = sorted(p.name for p in vault.glob("*.md"))
        note = (vault / first.written[0].name).read_text()
        assert note.startswith("---\ntitle: ") and "exported_at:" in note
        assert "[Image: Quay](https://img.example/q.jpg)" in note and "![" not in note
        second = svc.export_batch(ids, vault, fetch=False)
        assert not second.written and len(second.unchanged) == 4
        assert second.summary() == "0 written, 4 unchanged (skipped)"
        # A story changes (its title): its note is rewritten under the same name.
        changed = entries("alpha", 4)
        changed[1] = ParsedEntry(
            changed[1].guid, changed[1].link, "A new headline", published=changed[1].published
        )
        svc.store.store_feed(f.id, ParsedFeed("Alpha", None, changed, "rss"))
        # A note edited by hand is kept, even when its story changed.
        edited = next(p for p in vault.glob("*.md") if "alpha-story-2" in p.name)
        edited.write_text(edited.read_text() + "\nMy own note.\n")
        svc.store.store_feed(
            f.id,
            ParsedFeed(
                "Alpha",
                None,
                [
                    *changed[:2],
                    ParsedEntry(
                        changed[2].guid,
                        changed[2].link,
                        "Edited upstream",
                        published=changed[2].published,
                    ),
                    changed[3],
                ],
                "rss",
            ),
        )
        third = svc.export_batch(ids, vault, fetch=False)
        # The changed story's note is rewritten (others too when their related list names it).
        renamed = next(p for p in third.written if "alpha-story-1" in p.name)
        assert "A new headline" in renamed.read_text()
        assert len(third.written) + len(third.unchanged) + len(third.kept) == 4
        assert [p.name for p in third.kept] == [edited.name]
        assert "My own note." in edited.read_text()
        assert sorted(p.name for p in vault.glob("*.md")) == names  # no new files
        forced = svc.export_batch(ids, vault, fetch=False, force=True)
        assert [p.name for p in forced.written] == [edited.name]
        manifest = json.loads((vault / MANIFEST).read_text())
        assert len(manifest["stories"]) == 4
    finally:
        svc.close()
