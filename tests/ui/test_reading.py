"""Pilot tests: articles (cache, network, errors), hostile text, search, export, scale."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from textual.widgets import Input, Markdown, Static

from tests.loopback import LoopbackServer, Route
from tests.ui.conftest import (
    NOW,
    add_feed,
    fill_many,
    main_screen,
    plain,
    settle,
    visible_rows,
    wait_for,
)
from tuinews.config import Config, load_config
from tuinews.core.models import ExtractedArticle
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp
from tuinews.ui.screens.dialogs import InputDialog

HOUR = timedelta(hours=1)
LONG = "\n\n".join(
    f"Paragraph {i}: the harbour committee met to discuss the breakwater." for i in range(80)
)


def body(screen: object) -> str:
    return screen.query_one("#article-body", Markdown).source


async def test_stored_article_opens_at_once_offline(app: TuinewsApp, service: Service) -> None:
    # Every story links to a closed port: any network use would fail.
    story = service.list_stories(StoryFilter(), limit=1)[0]
    service.store.store_article(
        story.id,
        story.link or "",
        ExtractedArticle(
            markdown="## Heading\n\nFull **text** here.\n\n> a quote\n\n- one\n- two",
            text="Full text here",
            word_count=690,
        ),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await pilot.pause()
        # Shown without waiting for any worker: it came from the cache.
        header = plain(screen.query_one("#article-header", Static))
        assert "[from cache]" in header and "3 min read" in header
        assert "Full **text** here." in body(screen)
        assert not any(w.group == "article" for w in app.workers)
        await settle(app, pilot)
        assert "Full **text** here." in body(screen)


async def test_fetch_failure_keeps_the_summary_and_says_why(
    service: Service, config: Config, server: LoopbackServer
) -> None:
    # A slow server error: the summary shows with a loading mark, then the reason.
    server.routes["/slow/0"] = Route(b"boom", 503, "text/plain", delay=0.5)
    add_feed(service, "Slow", ["Slow story"], link_base=server.url(""), start=NOW + HOUR)
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.article.story is not None)
        assert "[summary, loading full text…]" in plain(screen.query_one("#article-header"))
        assert "⟳ fetching" in plain(screen.query_one("#article-status"))
        assert "Summary of Slow story." in body(screen)
        await settle(app, pilot)
        status = plain(screen.query_one("#article-status", Static))
        assert status.startswith("✗ full text unavailable: ")
        assert "503" in status
        assert "[summary only]" in plain(screen.query_one("#article-header"))
        assert "Summary of Slow story." in body(screen)


async def test_offline_fetch_error_is_shown(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await settle(app, pilot)
        status = plain(screen.query_one("#article-status", Static))
        assert status.startswith("✗ full text unavailable: ")
        assert "Summary of Alpha story 0." in body(screen)


async def test_article_is_fetched_from_the_network(
    service: Service, config: Config, server: LoopbackServer
) -> None:
    paras = "".join(
        f"<p>Paragraph {i}: the ferry timetable changes on Monday and the quay reopens.</p>"
        for i in range(10)
    )
    html = (
        "<html><head><title>Quay</title></head><body><article><h1>Quay</h1>"
        f"{paras}</article></body></html>"
    )
    server.routes["/quay/0"] = Route(html.encode(), content_type="text/html; charset=utf-8")
    add_feed(service, "Quay", ["Quay reopens"], link_base=server.url(""))
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        assert screen.stories.go_to_story(service.search("Quay reopens")[0].id)
        await pilot.press("enter")
        await settle(app, pilot)
        assert "[fetched]" in plain(screen.query_one("#article-header"))
        assert "ferry timetable changes on Monday" in body(screen)


async def test_hostile_titles_are_shown_literally(service: Service, config: Config) -> None:
    hostile = "[bold]Loud[/bold] [@click=app.quit]Bye[/] \x1b[31mred\x1b[0m"
    add_feed(service, "[red]Evil[/red] feed", [hostile], start=NOW + HOUR)
    app = TuinewsApp(service, config)
    async with app.run_test(size=(200, 40)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        # The pane is at most 60 columns: check the row's text at a width that holds it all.
        row = screen.stories.row_text(screen.stories.story_at(0), 120).plain
        assert row.startswith("●  [bold]Loud[/bold] [@click=app.quit]Bye[/] red")
        assert "[red]Evil[/red]" in row  # the source column
        assert screen.stories.plain_row(0).startswith("●  [bold]Loud[/bold] [@click")
        prompts = screen.feeds.labels
        assert "[red]Evil[/red] feed (1)" in prompts
        await pilot.press("enter")
        await pilot.pause()
        header = plain(screen.query_one("#article-header", Static))
        assert header.startswith("[bold]Loud[/bold] [@click=app.quit]Bye[/] red")
        await pilot.click("#article-header", offset=(20, 0))  # a click on the fake "link"
        await pilot.pause()
        assert app.is_running
        await settle(app, pilot)


async def test_scroll_and_space_at_the_end_opens_next_unread(
    app: TuinewsApp, service: Service
) -> None:
    first, second = service.list_stories(StoryFilter(), limit=2)
    service.store.store_article(
        first.id, first.link or "", ExtractedArticle(markdown=LONG, text="long")
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        assert screen.article.scroll_y > 0
        await pilot.press("b")
        await pilot.pause()
        assert screen.article.scroll_y == 0
        for _ in range(40):
            if screen.article.at_end:
                break
            await pilot.press("pagedown")
            await pilot.pause()
        assert screen.article.at_end and screen.article.story.id == first.id
        await pilot.press("space")
        await pilot.pause()
        assert screen.article.story.id == second.id
        assert service.story(second.id).read
        await settle(app, pilot)


async def test_search_over_the_cache(app: TuinewsApp, service: Service) -> None:
    add_feed(service, "Gamma", ["Zebra crossing repainted", "Nothing to see"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.screen, InputDialog)
        await pilot.press(*"zebra", "enter")
        await pilot.pause()
        assert screen.stories.count == 1
        assert "Zebra crossing repainted" in visible_rows(screen)[0]
        assert "search “zebra”" in screen.status.position
        await pilot.press("escape")
        await pilot.pause()
        assert screen.stories.count == 12


async def test_export_goes_to_the_configured_folder_shown_in_the_dialog(
    service: Service, tmp_path: Path
) -> None:
    story = service.list_stories(StoryFilter(), limit=1)[0]
    service.store.store_article(
        story.id, story.link or "", ExtractedArticle(markdown="Exported body text.", text="x")
    )
    folder = tmp_path / "vault"
    (tmp_path / "config.toml").write_text(f'[export]\ndir = "{folder}"\n', encoding="utf-8")
    config = load_config(data_dir=tmp_path)
    assert config.export_dir == folder
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, InputDialog)
        assert dialog.query_one(Input).value == str(folder)  # never the current directory
        await pilot.press("enter")
        await settle(app, pilot)
        files = list(folder.glob("*.md"))
        assert len(files) == 1
        text = files[0].read_text(encoding="utf-8")
        assert "Alpha story 0" in text and "Exported body text." in text
        # The folder is editable in the dialog, for this export.
        other = tmp_path / "elsewhere"
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one(Input).value = str(other)
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(list(other.glob("*.md"))) == 1


async def test_100k_stories_first_rows_and_G_to_the_end(service: Service, config: Config) -> None:
    fill_many(service, 100_000)
    app = TuinewsApp(service, config)
    started = time.monotonic()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = main_screen(app)
        rows = visible_rows(screen)
        ready = time.monotonic() - started
        assert screen.stories.count == 100_010
        assert "Story number 0" in rows[0] and len(rows) >= 15  # two lines a story
        assert ready < 3.0, ready
        queries = screen.stories.queries
        t0 = time.monotonic()
        await pilot.press("G")
        await pilot.pause()
        jump = time.monotonic() - t0
        assert screen.stories.cursor == 100_009
        rows = visible_rows(screen)
        assert "Story number 99999" in rows[-1]
        assert screen.stories.current_story.title == "Story number 99999"
        t0 = time.monotonic()
        await pilot.press("k", "k", "k", "k", "k")
        steps = time.monotonic() - t0
        assert screen.stories.cursor == 100_004
        assert screen.stories.queries - queries <= 3  # pages, never the whole list
        assert jump < 1.0 and steps < 1.0, (jump, steps)


async def test_related_sidebar_opens_a_cached_story_and_back_returns(
    service: Service, config: Config
) -> None:
    add_feed(service, "Gamma", ["Council approves harbour breakwater repairs"], start=NOW + HOUR)
    add_feed(service, "Delta", ["Harbour breakwater repairs approved by council"])
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        first = screen.article.story
        assert first.title == "Council approves harbour breakwater repairs"
        await settle(app, pilot)
        options = screen.sidebar.options
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts[0] == "Same story elsewhere"
        assert prompts[1].startswith("Harbour breakwater repairs approved by council\n")
        assert prompts[1].endswith(" · Delta")
        options.focus()
        options.highlighted = 1
        await pilot.press("enter")
        await pilot.pause()
        assert screen.article.story.title == "Harbour breakwater repairs approved by council"
        assert service.story(screen.article.story.id).read
        await pilot.press("backspace")
        await pilot.pause()
        assert screen.article.story.id == first.id
        await settle(app, pilot)
