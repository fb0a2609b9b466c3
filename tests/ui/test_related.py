"""Pilot tests of the related sidebar: layout of the items, "why" on demand, and opening a page
that is not in the cache (fetched from a real server on 127.0.0.1)."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Markdown, Static

from tests.loopback import LoopbackServer, Route
from tests.ui.conftest import NOW, add_feed, main_screen, plain, settle, wait_for
from tuinews.config import Config
from tuinews.core.models import ExtractedArticle, RelatedLink
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp

HOUR = timedelta(hours=1)

PAGE = """<!doctype html><html><head><title>Breakwater report</title></head><body>
<article><h1>Breakwater report</h1>{paras}</article></body></html>"""


def page() -> bytes:
    paras = "".join(
        f"<p>Paragraph {i}: the stone barges for the breakwater arrived from the quarry and "
        f"the divers inspected the foundations before the storm season.</p>"
        for i in range(12)
    )
    return PAGE.format(paras=paras).encode()


def prompts(screen: object) -> list[str]:
    options = screen.sidebar.options  # type: ignore[attr-defined]
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_items_are_grouped_and_why_shows_on_demand(service: Service, config: Config) -> None:
    add_feed(service, "Gamma", ["Council approves harbour breakwater repairs"], start=NOW + HOUR)
    add_feed(service, "Delta", ["Harbour breakwater repairs approved by council"])
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        assert "Open a story" in prompts(screen)[0]
        await pilot.press("enter")
        await settle(app, pilot)
        shown = prompts(screen)
        assert shown[0] == "Same story elsewhere"
        title, meta = shown[1].split("\n")
        assert title == "Harbour breakwater repairs approved by council"
        assert meta.endswith(" · Delta")  # the age first: it is never the part cut off
        assert "why:" not in "".join(shown)
        item = screen.sidebar.items[1]
        assert item is not None and item.reason
        screen.sidebar.options.highlighted = 1
        await pilot.press("w")
        await pilot.pause()
        shown = prompts(screen)
        assert shown[1].split("\n")[2] == f"why: {item.reason}"
        assert screen.sidebar.options.highlighted == 1  # the cursor stays on its item
        await pilot.press("w")
        await pilot.pause()
        assert "why:" not in "".join(prompts(screen))


async def test_why_shows_the_hidden_sidebar(app: TuinewsApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = main_screen(app)
        assert not screen.sidebar.display
        await pilot.press("w")
        await pilot.pause()
        assert screen.sidebar.display and screen.sidebar.show_reasons


async def test_uncached_related_page_is_fetched_kept_and_back_returns(
    service: Service, config: Config, server: LoopbackServer
) -> None:
    server.routes["/elsewhere"] = Route(page(), content_type="text/html; charset=utf-8")
    feed = add_feed(service, "Gamma", ["Harbour news"], start=NOW + HOUR)
    story = service.list_stories(StoryFilter(feed_id=feed), limit=1)[0]
    service.store.store_article(
        story.id,
        story.link or "",
        ExtractedArticle(
            markdown="The harbour news of the day.",
            text="The harbour news of the day.",
            related_links=[RelatedLink(server.url("/elsewhere"), "Breakwater report", "Quay Post")],
        ),
    )
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await settle(app, pilot)
        shown = prompts(screen)
        assert "From this page" in shown[0]
        assert shown[1] == "Breakwater report\nQuay Post · not cached"
        screen.sidebar.options.focus()
        screen.sidebar.options.highlighted = 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.article.story.id != story.id)
        assert server.hits["/elsewhere"] == 1
        body = screen.query_one("#article-body", Markdown).source
        assert "stone barges for the breakwater" in body
        header = plain(screen.query_one("#article-header", Static))
        assert header.startswith("Breakwater report") and "[fetched]" in header
        linked = screen.article.story
        assert linked.feed_title == "Linked pages" and service.story(linked.id).read
        assert "Linked pages" in [c.label for c in screen.feeds.choices]
        await pilot.press("backspace")
        await pilot.pause()
        assert screen.article.story.id == story.id
        await settle(app, pilot)
        # Kept: opening it again reads the cache, not the server.
        screen.sidebar.options.highlighted = 1
        screen.sidebar.options.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.article.story.id == linked.id)
        await settle(app, pilot)
        assert server.hits["/elsewhere"] == 1


async def test_uncached_related_page_failure_is_notified(
    service: Service, config: Config, server: LoopbackServer
) -> None:
    server.routes["/gone"] = Route(b"gone", 410, "text/plain")
    feed = add_feed(service, "Gamma", ["Harbour news"], start=NOW + HOUR)
    story = service.list_stories(StoryFilter(feed_id=feed), limit=1)[0]
    service.store.store_article(
        story.id,
        story.link or "",
        ExtractedArticle(
            markdown="News.",
            text="News.",
            related_links=[RelatedLink(server.url("/gone"), "Gone page")],
        ),
    )
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await settle(app, pilot)
        screen.sidebar.options.focus()
        screen.sidebar.options.highlighted = 1
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.article.story.id == story.id  # still on the story
        assert any("410" in str(n.message) for n in app._notifications)
        assert screen.status.activity == ""
