"""The service end to end against a real server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.loopback import LoopbackServer, Route, closed_port, rss
from tuinews.core.errors import FetchError, ParseError
from tuinews.core.fetch import Fetcher, FetchLimits
from tuinews.core.models import ParsedFeed
from tuinews.core.pipes import ParseWorkers
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter

PAGE = """<!doctype html><html><head><title>{title}</title>
<meta name="author" content="Ada Quill"></head><body>
<nav><a href="/">Home</a> <a href="/tag/x">Tag</a></nav>
<article><h1>{title}</h1><p>By Ada Quill</p>
{paras}
</article>
<aside class="related"><h2>Related stories</h2><ul>
<li><a href="/2026/06/other-story">Another story about the quay</a></li></ul></aside>
<footer>Copyright</footer></body></html>"""


def page(title: str) -> bytes:
    paras = "".join(
        f"<p>Paragraph {i}: the harbour committee met on Tuesday to discuss the new "
        f"breakwater, the ferry timetable and the fish market's lease renewal.</p>"
        for i in range(12)
    )
    return PAGE.format(title=title, paras=paras).encode()


def make_service(tmp_path: Path, **limits: float) -> Service:
    lim = FetchLimits(
        connect_timeout=2,
        read_timeout=limits.get("read", 3.0),
        total_timeout=limits.get("total", 8.0),
        concurrency=8,
    )
    return Service(
        tmp_path / "cache.sqlite3", fetcher=Fetcher(lim, serve_samples=False), extract_workers=1
    )


@pytest.fixture
def service(tmp_path: Path):
    svc = make_service(tmp_path)
    yield svc
    svc.close()


def test_refresh_stores_then_304_costs_nothing(service: Service, server: LoopbackServer) -> None:
    items = [(f"g{i}", f"Item {i}", server.url(f"/p{i}")) for i in range(5)]
    server.routes["/feed"] = Route(rss("Loop", items), etag=True)
    feed = service.store.add_feed(server.url("/feed"))
    progress: list[tuple[int, int]] = []
    summary = service.refresh(progress=lambda d, t, r: progress.append((d, t)))
    assert summary.new_stories == 5 and summary.count("new") == 1
    assert progress == [(1, 1)]
    assert service.store.feed(feed.id).title == "Loop"
    changes = service.store.conn.total_changes
    again = service.refresh()
    assert again.count("unchanged") == 1 and again.new_stories == 0
    assert server.request_headers["/feed"]["if-none-match"]
    # Only the feed's status row was touched: no story writes.
    assert service.store.conn.total_changes - changes <= 1
    assert service.count_stories() == 5


def test_failures_are_recorded_and_keep_stories(service: Service, server: LoopbackServer) -> None:
    server.routes["/feed"] = Route(rss("Loop", [("a", "A", server.url("/a"))]))
    feed = service.store.add_feed(server.url("/feed"))
    service.refresh()
    server.routes["/feed"] = Route(b"<html><body>oops</body></html>", content_type="text/html")
    summary = service.refresh()
    assert summary.count("failed") == 1
    stored = service.store.feed(feed.id)
    assert "HTML page" in (stored.last_error or "")
    assert service.count_stories() == 1
    server.routes["/feed"] = Route(b"", status=500)
    service.refresh()
    assert "500" in (service.store.feed(feed.id).last_error or "")
    assert service.count_stories() == 1


def test_a_feed_nested_past_the_parsers_limits_is_a_feed_error(
    service: Service, server: LoopbackServer
) -> None:
    """Issue 15: 100,000 nested elements used to be stored as a feed with 0 stories."""
    server.routes["/feed"] = Route(rss("Loop", [("a", "A", server.url("/a"))]))
    feed = service.store.add_feed(server.url("/feed"))
    service.refresh()
    deep = b'<rss version="2.0"><channel>' + b"<x>" * 100_000 + b"</x>" * 100_000
    server.routes["/feed"] = Route(deep + b"</channel></rss>")
    summary = service.refresh()
    assert summary.count("failed") == 1
    assert "too deeply nested" in (service.store.feed(feed.id).last_error or "")
    assert service.count_stories() == 1  # what was stored stays
    server.routes["/feed"] = Route(b"<rss>" * 100_000 + b"</rss>" * 100_000)
    assert service.refresh().count("failed") == 1


def test_gone_and_retry_after_are_respected(service: Service, server: LoopbackServer) -> None:
    server.routes["/gone"] = Route(b"", status=410)
    server.routes["/busy"] = Route(b"", status=503, headers={"Retry-After": "3600"})
    gone = service.store.add_feed(server.url("/gone"))
    busy = service.store.add_feed(server.url("/busy"))
    service.refresh()
    assert service.store.feed(gone.id).gone
    assert service.store.feed(busy.id).retry_after is not None
    hits = dict(server.hits)
    summary = service.refresh()
    assert summary.count("skipped") == 2
    assert dict(server.hits) == hits  # neither was asked again
    service.refresh([busy.id])  # named explicitly: asked again
    assert server.hits["/busy"] == hits["/busy"] + 1


def test_permanent_redirect_updates_url(service: Service, server: LoopbackServer) -> None:
    server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
    server.routes["/new"] = Route(rss("Moved", [("a", "A", server.url("/a"))]))
    feed = service.store.add_feed(server.url("/old"))
    service.refresh()
    assert service.store.feed(feed.id).url == server.url("/new")


def test_add_feed_direct_and_by_autodiscovery(service: Service, server: LoopbackServer) -> None:
    server.routes["/rss"] = Route(rss("Disc", [("a", "A", server.url("/a"))]))
    server.routes["/site"] = Route(
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head>'
        b"<body>home</body></html>",
        content_type="text/html",
    )
    feed, new = service.add_feed(server.url("/site"))
    assert feed.url == server.url("/rss") and new == 1 and feed.title == "Disc"
    server.routes["/nofeed"] = Route(b"<html><body>nothing</body></html>", content_type="text/html")
    with pytest.raises(ParseError, match="no feed"):
        service.add_feed(server.url("/nofeed"))
    with pytest.raises(FetchError, match="refused"):
        service.add_feed(f"http://127.0.0.1:{closed_port()}/feed")


def test_article_fetch_extract_store_and_offline(tmp_path: Path, server: LoopbackServer) -> None:
    server.routes["/feed"] = Route(rss("Loop", [("a", "Quay plans", server.url("/a"))]))
    server.routes["/a"] = Route(page("Quay plans"), content_type="text/html; charset=utf-8")
    svc = make_service(tmp_path)
    svc.store.add_feed(server.url("/feed"))
    svc.refresh()
    story = svc.list_stories()[0]
    assert svc.cached_article(story.id) is None
    art = svc.fetch_article(story.id)
    assert art.error is None and "breakwater" in art.markdown
    assert art.title == "Quay plans" and art.author == "Ada Quill"
    assert [link.url for link in art.related_links] == [server.url("/2026/06/other-story")]
    svc.close()
    # Offline: the server is gone, the article still reads from the cache.
    server.stop()
    offline = make_service(tmp_path)
    cached = offline.cached_article(story.id)
    assert cached is not None and "breakwater" in cached.markdown
    assert offline.store.search_ids("breakwater") == [story.id]
    offline.close()


def test_not_html_and_empty_pages_fall_back_to_summary(
    service: Service, server: LoopbackServer
) -> None:
    server.routes["/feed"] = Route(
        rss("Loop", [("p", "A PDF", server.url("/pdf")), ("e", "Empty", server.url("/empty"))])
    )
    server.routes["/pdf"] = Route(b"%PDF-1.7 binary", content_type="application/pdf")
    server.routes["/empty"] = Route(
        b"<html><body><p>Hi.</p></body></html>", content_type="text/html"
    )
    service.store.add_feed(server.url("/feed"))
    service.refresh()
    for story in service.list_stories():
        art = service.fetch_article(story.id)
        assert art.error, story.title
        assert "Summary of" in art.markdown  # the feed summary stays readable


def test_prefetch_stores_articles_for_offline(service: Service, server: LoopbackServer) -> None:
    items = [(f"g{i}", f"Item {i}", server.url(f"/p{i}")) for i in range(4)]
    server.routes["/feed"] = Route(rss("Loop", items))
    for i in range(4):
        server.routes[f"/p{i}"] = Route(page(f"Item {i}"), content_type="text/html")
    service.store.add_feed(server.url("/feed"))
    summary = service.refresh(prefetch=True)
    assert summary.articles_fetched == 4 and summary.articles_failed == 0
    for story in service.list_stories():
        art = service.cached_article(story.id)
        assert art is not None and "ferry timetable" in art.markdown


def test_prefetch_keeps_every_page_and_says_why_one_has_no_article(
    service: Service, server: LoopbackServer
) -> None:
    items = [(f"g{i}", f"Item {i}", server.url(f"/p{i}")) for i in range(3)]
    items.append(("pdf", "A PDF", server.url("/pdf")))
    items.append(("gone", "Gone", server.url("/missing")))
    server.routes["/feed"] = Route(rss("Loop", items))
    for i in range(3):
        server.routes[f"/p{i}"] = Route(page(f"Item {i}"), content_type="text/html")
    server.routes["/pdf"] = Route(b"%PDF-1.7 binary", content_type="application/pdf")
    service.store.add_feed(server.url("/feed"))
    service.refresh()
    ids = {s.title: s.id for s in service.list_stories()}
    assert service.fetch_articles(list(ids.values())) == (3, 2)
    for i in range(3):
        art = service.cached_article(ids[f"Item {i}"])
        assert art is not None and "ferry timetable" in art.markdown
        assert service.store.raw_page(ids[f"Item {i}"]) is not None
    pdf = service.store.article(ids["A PDF"])
    assert pdf is not None and "PDF" in (pdf.error or "")
    assert service.store.raw_page(ids["A PDF"])[1] == b"%PDF-1.7 binary"  # type: ignore[index]
    assert service.store.raw_page(ids["Gone"]) is None  # a 404: nothing to keep
    # Nothing is fetched twice: the stored pages count as done.
    assert service.fetch_articles(list(ids.values())) == (0, 1)


def test_prefetch_after_add_covers_stories_already_stored(
    service: Service, server: LoopbackServer
) -> None:
    # Issue 13: `tuinews add URL` then `tuinews refresh --prefetch` fetched no page at all,
    # since the add had stored every story and the refresh brought "0 new stories".
    items = [(f"g{i}", f"Item {i}", server.url(f"/p{i}")) for i in range(6)]
    server.routes["/feed"] = Route(rss("Loop", items), etag=True)
    for i in range(6):
        server.routes[f"/p{i}"] = Route(page(f"Item {i}"), content_type="text/html")
    feed, new = service.add_feed(server.url("/feed"))
    assert new == 6 and sum(server.hits[f"/p{i}"] for i in range(6)) == 0
    service.prefetch_limit = 4
    summary = service.refresh(prefetch=True)
    assert summary.new_stories == 0 and summary.count("unchanged") == 1
    assert (summary.articles_fetched, summary.articles_failed) == (4, 0)
    # Newest first: items 5, 4, 3, 2 (the feed's dates grow with the index).
    assert [server.hits[f"/p{i}"] for i in range(6)] == [0, 0, 1, 1, 1, 1]
    # The next prefetch takes the rest and fetches nothing twice.
    again = service.refresh(prefetch=True)
    assert (again.articles_fetched, again.articles_failed) == (2, 0)
    assert [server.hits[f"/p{i}"] for i in range(6)] == [1] * 6
    assert service.refresh(prefetch=True).articles_fetched == 0
    # A feed without prefetch, refreshed without --prefetch, fetches no page.
    other = [("o1", "Other", server.url("/o1"))]
    server.routes["/other"] = Route(rss("Other", other))
    server.routes["/o1"] = Route(page("Other"), content_type="text/html")
    service.add_feed(server.url("/other"))
    assert service.refresh().articles_fetched == 0 and server.hits["/o1"] == 0
    # Stories of a feed marked for prefetch are covered by a plain refresh.
    service.store.set_feed_prefetch(feed.id, False)
    service.store.set_feed_prefetch(service.find_feed("Other").id, True)
    assert service.refresh().articles_fetched == 1 and server.hits["/o1"] == 1


def test_links_of_the_related_box_are_kept_however_the_page_is_opened(
    service: Service, server: LoopbackServer
) -> None:
    # Issue 13: kept with the article when the page is read (`tuinews read`, the app) and
    # when a related link is opened, not only in a prefetch.
    box = (
        '<aside class="related-stories"><h2>Related stories</h2><ul>'
        '<li><a href="/news/ferry-fares">Ferry fares rise</a> Quay Post · 2 hours ago</li>'
        '<li><a href="/news/night-buses">Night buses return</a></li></ul></aside>'
    )
    body = page("Bridge closes").replace(b"<footer>", box.encode() + b"<footer>")
    server.routes["/feed"] = Route(rss("Loop", [("g", "Bridge closes", server.url("/bridge"))]))
    server.routes["/bridge"] = Route(body, content_type="text/html")
    server.routes["/news/ferry-fares"] = Route(page("Ferry fares rise"), content_type="text/html")
    service.store.add_feed(server.url("/feed"))
    service.refresh()
    (story,) = service.list_stories()
    article = service.fetch_article(story.id)  # what `tuinews read` and the app call
    expected = [
        (server.url("/2026/06/other-story"), "Another story about the quay", None, None),
        (server.url("/news/ferry-fares"), "Ferry fares rise", "Quay Post", "2 hours ago"),
        (server.url("/news/night-buses"), "Night buses return", None, None),
    ]
    got = [(x.url, x.title, x.source, x.published) for x in article.related_links]
    assert got == expected
    stored = service.store.article(story.id)
    assert stored is not None
    assert [(x.url, x.title, x.source, x.published) for x in stored.related_links] == expected
    # A related page opened from the sidebar keeps its own box too.
    linked, _ = service.open_link(server.url("/news/ferry-fares"), "Ferry fares rise")
    kept = service.store.article(linked.id)
    assert kept is not None and [x.url for x in kept.related_links] == [
        server.url("/2026/06/other-story")
    ]


def test_refresh_can_be_cancelled(service: Service, server: LoopbackServer) -> None:
    for i in range(5):
        server.routes[f"/f{i}"] = Route(rss(f"F{i}", [(f"g{i}", "x", server.url("/x"))]))
        service.store.add_feed(server.url(f"/f{i}"))
    cancel = threading.Event()
    cancel.set()
    summary = service.refresh(cancel=cancel)
    assert summary.count("skipped") == 5 and service.count_stories() == 0


def test_samples_load_offline(tmp_path: Path) -> None:
    svc = Service(tmp_path / "cache.sqlite3", extract_workers=2)
    try:
        assert svc.needs_first_run()
        summary = svc.load_samples()
        manifest = json.loads((SAMPLES / "manifest.json").read_text())
        assert summary.count("new") == len(manifest["feeds"]) >= 3
        assert svc.count_stories() == len(manifest["pages"]) >= 15
        assert summary.articles_fetched == len(manifest["pages"])
        assert not svc.needs_first_run()
        for story in svc.list_stories(limit=100):
            art = svc.cached_article(story.id)
            assert art is not None and art.error is None and art.word_count >= 300, story.title
        assert svc.count_stories(StoryFilter(unread=True)) == svc.count_stories()
        # A second load is a no-op on stories (same guids) and costs no downloads twice.
        again = svc.load_samples()
        assert again.new_stories == 0
    finally:
        svc.close()


def test_open_link_fetches_and_keeps_it_offline(tmp_path: Path, server: LoopbackServer) -> None:
    server.routes["/elsewhere"] = Route(page("A page from elsewhere"), content_type="text/html")
    svc = make_service(tmp_path)
    try:
        story, art = svc.open_link(server.url("/elsewhere"))
        assert story.title == "A page from elsewhere" and "breakwater" in art.markdown
        assert story.feed_title == "Linked pages"
        hits = server.hits["/elsewhere"]
        again, _ = svc.open_link(server.url("/elsewhere"))
        assert again.id == story.id and server.hits["/elsewhere"] == hits  # from the cache
        summary = svc.refresh()
        assert summary.results == []  # the pseudo-feed is never fetched
        with pytest.raises(FetchError):
            svc.open_link("javascript:alert(1)")
    finally:
        svc.close()


def test_parser_warnings_are_kept_on_the_feed(service: Service, server: LoopbackServer) -> None:
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "boom">]><rss version="2.0"><channel>'
        b"<title>Odd</title><item><guid>a</guid><title>A</title></item></channel></rss>"
    )
    server.routes["/feed"] = Route(doc)
    feed = service.store.add_feed(server.url("/feed"))
    service.refresh()
    stored = service.store.feed(feed.id)
    assert stored.last_error is None and service.count_stories() == 1
    assert "DOCTYPE" in (stored.last_warning or "")


def test_parsing_workers_store_what_inline_parsing_stores(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh of many feeds parses them in worker processes: the same stories, errors and
    item HTML as parsing in the refresh's own thread, and no worker left behind."""
    import multiprocessing

    for i in range(6):
        items = [(f"f{i}-g{k}", f"Feed {i} item {k}", server.url(f"/f{i}/p{k}")) for k in range(4)]
        body = rss(f"Feed {i}", items).replace(
            b"<description>Summary of",
            b"<content:encoded><![CDATA[<p>Full <b>text</b></p>]]></content:encoded>"
            b"<description>Summary of",
        )
        body = body.replace(
            b'<rss version="2.0">',
            b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        )
        server.routes[f"/f{i}"] = Route(body)
    server.routes["/broken"] = Route(
        b"<html><body>not a feed</body></html>", content_type="text/html"
    )
    submitted: list[str] = []
    real_parse = ParseWorkers.parse

    async def counting_parse(
        self: ParseWorkers, data: bytes, url: str, ctype: str | None
    ) -> ParsedFeed:
        submitted.append(url)
        return await real_parse(self, data, url, ctype)

    monkeypatch.setattr(ParseWorkers, "parse", counting_parse)
    outcomes = {}
    for mode in ("inline", "workers"):
        svc = make_service(tmp_path / mode)
        svc.parse_workers_min_bytes = 0 if mode == "workers" else 10**12
        svc.parse_workers = 1
        try:
            for i in range(6):
                svc.store.add_feed(server.url(f"/f{i}"))
            broken = svc.store.add_feed(server.url("/broken"))
            summary = svc.refresh()
            stories = svc.store.list_stories(limit=100)
            outcomes[mode] = (
                summary.new_stories,
                summary.count("failed"),
                sorted((s.title, s.link) for s in stories),
                {svc.store.story_content(s.id) for s in stories},
                svc.store.feed(broken.id).last_error,
            )
        finally:
            svc.close()
    assert len(submitted) == 7  # every feed of the second refresh went to the workers
    assert outcomes["inline"] == outcomes["workers"]
    new, failed, stories, contents, error = outcomes["workers"]
    assert (new, failed, len(stories)) == (24, 1, 24)
    assert stories[0][1].startswith("http://127.0.0.1:")  # loopback links kept
    assert contents == {"<p>Full <b>text</b></p>"}
    assert error and "HTML page" in error
    assert not multiprocessing.active_children()


def test_parsing_workers_start_only_when_the_bytes_pay_for_them(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers start from the bytes to parse, not the feed count: 30 small feeds parse in the
    refresh's own thread; the same feeds with a threshold below their bytes go to one worker,
    all of them (the refresh's process then never loads the parsers)."""
    import multiprocessing

    for i in range(30):
        items = [(f"s{i}-{k}", f"Small {i} item {k}", server.url(f"/s{i}/p{k}")) for k in range(3)]
        server.routes[f"/s{i}"] = Route(rss(f"Small {i}", items), etag=True)
    size = sum(len(r.body) for r in server.routes.values() if isinstance(r, Route))
    sent: list[str] = []
    real_parse = ParseWorkers.parse

    async def counting_parse(
        self: ParseWorkers, data: bytes, url: str, ctype: str | None
    ) -> ParsedFeed:
        sent.append(url)
        return await real_parse(self, data, url, ctype)

    monkeypatch.setattr(ParseWorkers, "parse", counting_parse)
    results = {}
    for name, threshold in (("small", 2 * size), ("big", size // 2)):
        svc = make_service(tmp_path / name)
        svc.parse_workers = 1
        svc.parse_workers_min_bytes = threshold
        try:
            for i in range(30):
                svc.store.add_feed(server.url(f"/s{i}"))
            summary = svc.refresh()
            results[name] = (summary.new_stories, svc.parse_workers_started, len(sent))
            again = svc.refresh()  # every feed answers 304: nothing to parse, no worker
            results[name + " 304"] = (again.count("unchanged"), svc.parse_workers_started)
        finally:
            svc.close()
        sent.clear()
    assert results["small"] == (90, 0, 0)  # 30 feeds, but too few bytes for a worker
    assert results["big"] == (90, 1, 30)
    assert results["small 304"] == results["big 304"] == (30, 0)
    assert not multiprocessing.active_children()
