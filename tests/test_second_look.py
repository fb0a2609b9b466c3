"""Pages that need a second look, served on 127.0.0.1 (pages we wrote, shaped like real sites):
a multi-page article joined, an AMP version used when the page has no article, a paywall or
consent wall reported as a teaser, the feed's own full text preferred to a teaser."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tests.loopback import LoopbackServer, Route, rss
from tests.ui.conftest import main_screen, make_service, plain, settle, wait_for
from tuinews.config import load_config
from tuinews.core.second_look import is_next_page, page_links
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp

WORDS = (
    "The county's ferry service will add a late sailing on Fridays from March, after a "
    "petition from shift workers at the hospital gathered more than four thousand names. "
)


def page(title: str, body: str, head: str = "") -> bytes:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"{head}</head><body><nav><a href='/'>Home</a></nav><main><article><h1>{title}</h1>"
        f"{body}</article></main><footer>The Quay Gazette</footer></body></html>"
    ).encode()


def paragraphs(tag: str, n: int = 4) -> str:
    return "".join(f"<p>{tag} paragraph {i}. {WORDS}</p>" for i in range(n))


def subscribe(service: Service, server: LoopbackServer, link: str, title: str) -> int:
    server.routes["/feed.xml"] = Route(rss("Quay Gazette", [("g", title, link)]))
    service.add_feed(server.url("/feed.xml"))
    return service.list_stories(StoryFilter(), limit=1)[0].id


@pytest.fixture
def service(tmp_path: Path) -> Service:
    service = make_service(tmp_path / "cache.sqlite3")
    yield service  # type: ignore[misc]
    service.close()


def test_page_links_and_next_page_rule() -> None:
    links = page_links(
        "<html><head><link rel='next' href='/news/ferry/2'><link rel='amphtml' "
        "href='/amp/news/ferry'><link rel='alternate' media='print' href='/news/ferry?print=1'>"
        "</head><body><a rel='next' href='/news/another-story'>Next story</a></body></html>",
        "https://quay.example/news/ferry",
    )
    assert links.next_page == "https://quay.example/news/ferry/2"
    assert links.amp == "https://quay.example/amp/news/ferry"
    assert links.print_version == "https://quay.example/news/ferry?print=1"
    assert is_next_page("https://q.example/a/story", "https://q.example/a/story?page=3")
    assert is_next_page("https://q.example/a/story.html", "https://q.example/a/story-2.html")
    assert not is_next_page("https://q.example/a/story", "https://q.example/a/another-story")
    assert not is_next_page("https://q.example/a/story", "https://other.example/a/story/2")
    # An <a rel="next"> (often the next story) is not followed; a <link> to another story
    # is not either.
    other = page_links("<head><link rel='next' href='/b/x'></head>", "https://q.example/a/story")
    assert other.next_page is None


def test_multi_page_article_is_joined(service: Service, server: LoopbackServer) -> None:
    base = "/news/ferry-late-sailing"
    server.routes[base] = Route(
        page("Late ferry", paragraphs("First-page"), f"<link rel='next' href='{base}/2'>"),
        content_type="text/html",
    )
    server.routes[f"{base}/2"] = Route(
        page("Late ferry", paragraphs("Second-page"), f"<link rel='next' href='{base}/3'>"),
        content_type="text/html",
    )
    # The last page points at another story: not joined.
    server.routes[f"{base}/3"] = Route(
        page("Late ferry", paragraphs("Third-page"), "<link rel='next' href='/news/other'>"),
        content_type="text/html",
    )
    server.routes["/news/other"] = Route(
        page("Other", paragraphs("Other-story")), content_type="text/html"
    )
    story_id = subscribe(service, server, server.url(base), "Late ferry")
    article = service.fetch_article(story_id)
    md = article.markdown
    assert md.index("First-page paragraph 3") < md.index("Second-page paragraph 0")
    assert md.index("Second-page paragraph 3") < md.index("Third-page paragraph 0")
    assert "Other-story" not in md and server.hits["/news/other"] == 0
    assert article.word_count > 3 * 4 * 30
    # Stored joined: read offline, the three pages are there.
    cached = service.cached_article(story_id)
    assert cached is not None and "Third-page paragraph 3" in cached.markdown


def test_amp_version_used_when_the_page_has_no_article(
    service: Service, server: LoopbackServer
) -> None:
    server.routes["/news/app-shell"] = Route(
        b"<html><head><title>Ferry</title><link rel='amphtml' href='/amp/news/app-shell'>"
        b"</head><body><div id='root'>Loading</div><script>start()</script></body></html>",
        content_type="text/html",
    )
    server.routes["/amp/news/app-shell"] = Route(
        page("Late ferry", paragraphs("Amp")), content_type="text/html"
    )
    story_id = subscribe(service, server, server.url("/news/app-shell"), "Late ferry")
    article = service.fetch_article(story_id)
    assert article.error is None
    assert "Amp paragraph 3" in article.markdown


PAYWALL_HEAD = (
    '<script type="application/ld+json">{"@context": "https://schema.org", "@type": '
    '"NewsArticle", "headline": "Harbour fees", "isAccessibleForFree": false}</script>'
)
PAYWALL_BODY = (
    f"<p>Harbour fees will rise by a fifth next year. {WORDS}</p>"
    "<div class='paywall-prompt'><p>Subscribe to continue reading this story.</p>"
    "<p>Already a subscriber? Log in.</p></div>"
)


def test_paywall_teaser_is_reported(service: Service, server: LoopbackServer) -> None:
    server.routes["/news/fees"] = Route(
        page("Harbour fees", PAYWALL_BODY, PAYWALL_HEAD), content_type="text/html"
    )
    story_id = subscribe(service, server, server.url("/news/fees"), "Harbour fees")
    article = service.fetch_article(story_id)
    assert article.notice is not None and article.notice.startswith("only a teaser")
    assert "rise by a fifth" in article.markdown


def test_consent_wall_is_reported(service: Service, server: LoopbackServer) -> None:
    consent = (
        "<div class='consent'><h2>We value your privacy</h2><p>We and our partners use cookies "
        "to store and access information on your device. Accept all cookies or manage your "
        "consent to continue to the site.</p><button>Accept</button></div>"
    )
    server.routes["/news/consent"] = Route(page("Ferry", consent), content_type="text/html")
    story_id = subscribe(service, server, server.url("/news/consent"), "Ferry")
    article = service.fetch_article(story_id)
    assert article.notice is not None and "consent" in article.notice


def test_feed_full_text_preferred_to_a_teaser(service: Service, server: LoopbackServer) -> None:
    server.routes["/news/fees"] = Route(
        page("Harbour fees", PAYWALL_BODY, PAYWALL_HEAD), content_type="text/html"
    )
    full = "".join(f"<p>Feed paragraph {i}. {WORDS}</p>" for i in range(8))
    link = server.url("/news/fees")
    server.routes["/feed.xml"] = Route(
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            "<title>Quay Gazette</title><link>http://127.0.0.1/</link><description>d</description>"
            f"<item><guid>g</guid><title>Harbour fees</title><link>{link}</link>"
            "<description>Harbour fees will rise.</description>"
            f"<content:encoded><![CDATA[{full}]]></content:encoded></item></channel></rss>"
        ).encode()
    )
    service.add_feed(server.url("/feed.xml"))
    story_id = service.list_stories(StoryFilter(), limit=1)[0].id
    article = service.fetch_article(story_id)
    assert "Feed paragraph 7" in article.markdown
    assert article.notice is not None and "feed's text" in article.notice


async def test_article_pane_says_only_a_teaser_was_available(
    tmp_path: Path, service: Service, server: LoopbackServer
) -> None:
    server.routes["/news/fees"] = Route(
        page("Harbour fees", PAYWALL_BODY, PAYWALL_HEAD), content_type="text/html"
    )
    subscribe(service, server, server.url("/news/fees"), "Harbour fees")
    app = TuinewsApp(service, load_config(data_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.article.state is not None)
        await settle(app, pilot)
        status = plain(screen.query_one("#article-status", Static))
        assert "only a teaser was available" in status
        header = plain(screen.query_one("#article-header", Static))
        assert "min read" in header and " · en" in header


def test_prefetch_keeps_the_teaser_notice(service: Service, server: LoopbackServer) -> None:
    # The prefetch extracts in worker processes fed through pipes: the notice comes back too.
    server.routes["/news/fees"] = Route(
        page("Harbour fees", PAYWALL_BODY, PAYWALL_HEAD), content_type="text/html"
    )
    story_id = subscribe(service, server, server.url("/news/fees"), "Harbour fees")
    assert service.fetch_articles([story_id]) == (1, 0)
    stored = service.store.article(story_id)
    assert stored is not None and stored.notice is not None
    assert stored.notice.startswith("only a teaser was available")


def test_prefetch_joins_a_multi_page_article(service: Service, server: LoopbackServer) -> None:
    base = "/news/ferry-late-sailing"
    server.routes[base] = Route(
        page("Late ferry", paragraphs("First-page"), f"<link rel='next' href='{base}/2'>"),
        content_type="text/html",
    )
    server.routes[f"{base}/2"] = Route(
        page("Late ferry", paragraphs("Second-page")), content_type="text/html"
    )
    story_id = subscribe(service, server, server.url(base), "Late ferry")
    assert service.fetch_articles([story_id]) == (1, 0)
    stored = service.store.article(story_id)
    assert stored is not None and "Second-page paragraph 3" in stored.markdown


def test_read_and_export_say_only_a_teaser_was_available(
    tmp_path: Path, server: LoopbackServer
) -> None:
    from tests.test_cli import run

    server.routes["/news/fees"] = Route(
        page("Harbour fees", PAYWALL_BODY, PAYWALL_HEAD), content_type="text/html"
    )
    server.routes["/feed.xml"] = Route(
        rss("Quay Gazette", [("g", "Harbour fees", server.url("/news/fees"))])
    )
    data = tmp_path / "data"
    run(data, "add", server.url("/feed.xml"))
    text = run(data, "read", "1").stdout
    assert "> (only a teaser was available" in text and "rise by a fifth" in text
    out = tmp_path / "out"
    path = Path(run(data, "export", "1", "-o", str(out), "--offline").stdout.strip())
    assert "*Note: only a teaser was available" in path.read_text(encoding="utf-8")
