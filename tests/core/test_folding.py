"""One row per event (issue 13): folding over the labelled samples and the folded lists."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tuinews.core.folding import fold_events, fold_pass
from tuinews.core.models import ParsedEntry, ParsedFeed
from tuinews.core.store import Store, StoryFilter

SAMPLES = Path(__file__).resolve().parents[2] / "sample_articles"
LABELS = json.loads((SAMPLES / "labels.json").read_text(encoding="utf-8"))
# The samples run from 5 October to 29 November 2026; folding looks at the last 90 days.
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def sample_store(tmp_path: Path) -> Store:
    from tuinews.core.feeds import parse_feed

    store = Store(tmp_path / "cache.sqlite3")
    manifest = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
    for feed in manifest["feeds"]:
        stored = store.add_feed(feed["url"], feed["title"])
        store.store_feed(
            stored.id, parse_feed((SAMPLES / feed["file"]).read_bytes(), url=feed["url"])
        )
    yield store
    store.close()


def _slugs(store: Store) -> dict[int, str]:
    by_url = {s["url"]: slug for slug, s in LABELS["stories"].items()}
    return {sid: by_url[url] for url, sid in store.stories_with_link(list(by_url)).items()}


def test_samples_fold_into_their_labelled_events(sample_store: Store) -> None:
    store = sample_store
    slug_of = _slugs(store)
    looked_at = fold_events(store, now=NOW)
    assert looked_at == store.count_stories()
    assert fold_pass(store, now=NOW) == 0  # nothing is looked at twice
    found: set[frozenset[str]] = set()
    leads = {s.id for s in store.list_stories(StoryFilter(folded=True), limit=1000)}
    members = store.event_members(sorted(leads))
    for lead, folded in members.items():
        ids = [lead, *(s.id for s in folded)]
        assert len({store.story(i).feed_id for i in ids}) > 1  # several sources
        found.update(frozenset((slug_of[a], slug_of[b])) for a, b in itertools.combinations(ids, 2))
    truth = {
        frozenset((a, b))
        for a, b in itertools.combinations(LABELS["stories"], 2)
        if LABELS["stories"][a]["event"]
        and LABELS["stories"][a]["event"] == LABELS["stories"][b]["event"]
    }
    tp = len(found & truth)
    assert tp / len(found) >= 0.9 and tp / len(truth) >= 0.9, sorted(map(sorted, found))
    # The lead is each event's first report; the list counts one row per event.
    for lead, folded in members.items():
        first = store.story(lead).published
        assert all(first is None or s.published is None or first <= s.published for s in folded)
    total = store.count_stories()
    assert store.count_stories(StoryFilter(folded=True)) == total - sum(map(len, members.values()))


def test_folded_lists_count_page_and_index_consistently(sample_store: Store) -> None:
    store = sample_store
    fold_events(store, now=NOW)
    leads = sorted(set(store.event_leads([s.id for s in store.list_stories(limit=1000)]).values()))
    some_member = store.event_members(leads)[leads[0]][0]
    store.set_read([some_member.id], True)
    for flt in (
        StoryFilter(folded=True),
        StoryFilter(folded=True, unread=True),
        StoryFilter(folded=True, feed_id=some_member.feed_id),
    ):
        rows = store.list_stories(flt, limit=1000)
        assert store.count_stories(flt) == len(rows)
        for i, story in enumerate(rows):
            assert store.index_of(story.id, flt) == i
        # Keyset pages give the same rows as one big page.
        paged, after = [], None
        while True:
            page = store.list_stories(flt, limit=7, after=after)
            if not page:
                break
            paged += page
            after = store.sort_position(page[-1].id)
        assert [s.id for s in paged] == [s.id for s in rows]


def test_a_folded_story_shows_when_its_lead_is_not_in_the_list(sample_store: Store) -> None:
    store = sample_store
    fold_events(store, now=NOW)
    lead, folded = next(iter(store.event_members(
        [s.id for s in store.list_stories(StoryFilter(folded=True), limit=1000)]
    ).items()))  # fmt: skip
    unread = StoryFilter(folded=True, unread=True)
    assert lead in {s.id for s in store.list_stories(unread, limit=1000)}
    assert folded[0].id not in {s.id for s in store.list_stories(unread, limit=1000)}
    store.set_read([lead], True)  # read alone (read state not shared)
    shown = {s.id for s in store.list_stories(unread, limit=1000)}
    assert lead not in shown and folded[0].id in shown  # the unread report is not lost
    assert store.event_of(folded[0].id) == [lead, *(s.id for s in folded)]


def test_new_reports_join_an_existing_event_and_old_stories_are_left(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    try:
        a = store.add_feed("http://127.0.0.1/a", "A")
        b = store.add_feed("http://127.0.0.1/b", "B")
        c = store.add_feed("http://127.0.0.1/c", "C")
        t = NOW - timedelta(days=2)

        def entry(guid: str, title: str, hours: int, summary: str = "") -> ParsedEntry:
            return ParsedEntry(
                guid=guid,
                link=f"http://127.0.0.1/{guid}",
                title=title,
                published=t + timedelta(hours=hours),
                summary=summary or f"{title}. Engineers said the bridge bearings had corroded.",
            )

        def parsed(*entries: ParsedEntry) -> ParsedFeed:
            return ParsedFeed(title="x", site_url=None, entries=list(entries), format="rss")

        filler = [
            entry(f"f{i}", f"Unrelated note number {i} on gardening", i, "Seeds and soil.")
            for i in range(30)
        ]
        store.store_feed(
            a.id, parsed(entry("a1", "Kessing bridge to close for repairs", 0), *filler)
        )
        store.store_feed(b.id, parsed(entry("b1", "Kessing bridge closure: repairs to start", 3)))
        old = ParsedEntry(
            guid="old", link="http://127.0.0.1/old", title="Kessing bridge to close for repairs",
            published=NOW - timedelta(days=90), summary="An old story.",
        )  # fmt: skip
        store.store_feed(c.id, parsed(old))
        fold_events(store, now=NOW)
        ids = {s.guid: s.id for s in store.list_stories(limit=1000)}
        assert store.event_of(ids["b1"]) == [ids["a1"], ids["b1"]]
        assert store.event_of(ids["old"]) == [ids["old"]]  # 90 days old: not news
        store.store_feed(
            c.id, parsed(old, entry("c1", "Kessing bridge repairs: closure confirmed", 5))
        )
        fold_events(store, now=NOW)
        c1 = store.list_stories(StoryFilter(feed_id=c.id), limit=10)[0].id
        assert store.event_of(c1) == [ids["a1"], ids["b1"], c1]
        assert store.count_stories(StoryFilter(folded=True)) == store.count_stories() - 2
    finally:
        store.close()


def test_service_folds_and_marks_an_event_read_together(tmp_path: Path) -> None:
    from tuinews.core.feeds import parse_feed
    from tuinews.core.service import Service

    with Service(tmp_path / "s.sqlite3") as service:
        manifest = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
        for feed in manifest["feeds"]:
            stored = service.store.add_feed(feed["url"], feed["title"])
            parsed = parse_feed((SAMPLES / feed["file"]).read_bytes(), url=feed["url"])
            service.store.store_feed(stored.id, parsed)
        # The samples are recent enough for the real clock's 90 days only until early 2027.
        looked_at = fold_events(service.store, now=NOW)
        assert looked_at == 40 and service.fold_events() == 0  # nothing left to look at
        lead = next(
            s.id
            for s in service.list_stories(StoryFilter(folded=True), limit=100)
            if service.store.event_of(s.id)[1:]
        )
        event = service.store.event_of(lead)
        assert service.set_read_event(event[-1]) == event
        assert all(service.story(i).read for i in event)
        assert service.set_read_event(lead, False) == event
        assert not any(service.story(i).read for i in event)
