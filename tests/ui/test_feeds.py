"""Pilot tests against a real HTTP server on 127.0.0.1: add, remove, refresh, first run."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from tests.loopback import LoopbackServer, Route, rss
from tests.ui.conftest import main_screen, make_service, plain, settle, visible_rows
from tuinews.config import Config
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp
from tuinews.ui.screens.dialogs import ConfirmDialog, InputDialog


def items(server: LoopbackServer, prefix: str, n: int) -> list[tuple[str, str, str]]:
    return [(f"{prefix}{i}", f"{prefix} item {i}", server.url(f"/{prefix}/{i}")) for i in range(n)]


async def test_add_then_remove_a_feed(
    app: TuinewsApp, service: Service, server: LoopbackServer
) -> None:
    server.routes["/loop.xml"] = Route(rss("Loop News", items(server, "loop", 3)))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, InputDialog)
        app.screen.query_one(Input).value = server.url("/loop.xml")
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.feeds.current is not None and screen.feeds.current.label == "Loop News"
        assert screen.stories.count == 3
        assert "loop item 2" in visible_rows(screen)[0]  # the newest
        assert "Loop News (3)" in screen.feeds.labels

        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "Loop News" in plain(app.screen.query_one(".dialog-question", Static))
        await pilot.press("y")
        await settle(app, pilot)
        assert [f.title for f in service.feeds()] == ["Alpha", "Beta"]
        assert all("Loop News" not in label for label in screen.feeds.labels)
        assert screen.feeds.current.key == "all" and screen.stories.count == 10


async def test_remove_asks_first_and_no_keeps_the_feed(app: TuinewsApp, service: Service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("d")  # on "All": nothing to remove
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        screen.feeds.select_key(f"feed:{service.find_feed('Beta').id}")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(app, pilot)
        assert len(service.feeds()) == 2


async def test_add_feed_failure_is_notified(
    app: TuinewsApp, service: Service, server: LoopbackServer
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one(Input).value = server.url("/nothing-here")
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(service.feeds()) == 2
        assert any("404" in str(n.message) for n in app._notifications)
        assert app.is_running


async def test_refresh_all_shows_progress_and_failures(
    service: Service, config: Config, server: LoopbackServer
) -> None:
    server.routes["/fast.xml"] = Route(rss("Fast", items(server, "fast", 2)))
    server.routes["/slow.xml"] = Route(rss("Slow", items(server, "slow", 2)), delay=0.8)
    fast = service.store.add_feed(server.url("/fast.xml"), "Fast")
    service.store.add_feed(server.url("/slow.xml"), "Slow")
    broken = service.store.add_feed(server.url("/gone.xml"), "Broken [b]feed[/b]")
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("R")
        seen: set[str] = set()
        for _ in range(100):
            await pilot.pause(0.02)
            seen.add(screen.status.activity)
            if "4/5" in screen.status.activity:
                break
        # Alpha and Beta point at a closed port: with Broken, 3 failures; Fast is done and
        # Slow is still out.
        assert "refreshing 4/5 feeds, 3 failed" in seen
        # The user can keep moving while it runs.
        await pilot.press("j")
        assert screen.stories.cursor == 1
        await settle(app, pilot)
        assert screen.status.activity == ""
        assert service.count_stories(StoryFilter(feed_id=fast.id)) == 2
        assert service.count_stories() == 14
        prompts = screen.feeds.labels
        assert "! Broken [b]feed[/b]" in prompts
        screen.feeds.select_key(f"feed:{broken.id}")
        await pilot.pause()
        error = screen.query_one("#feed-error", Static)
        assert error.display and "404" in plain(error)


async def test_refresh_this_feed_only(
    service: Service, config: Config, server: LoopbackServer
) -> None:
    server.routes["/one.xml"] = Route(rss("One", items(server, "one", 2)))
    server.routes["/two.xml"] = Route(rss("Two", items(server, "two", 2)))
    one = service.store.add_feed(server.url("/one.xml"), "One")
    service.store.add_feed(server.url("/two.xml"), "Two")
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        screen.feeds.select_key(f"feed:{one.id}")
        await pilot.pause()
        await pilot.press("r")
        await settle(app, pilot)
        assert server.hits["/one.xml"] == 1 and server.hits["/two.xml"] == 0
        assert screen.stories.count == 2
        assert "one item 1" in visible_rows(screen)[0]  # the newest


async def test_first_run_loads_the_samples_in_the_background(
    tmp_path: Path, config: Config
) -> None:
    service = make_service(tmp_path / "fresh.sqlite3")
    service.fetcher.close()
    from tuinews.core.fetch import Fetcher

    service.fetcher = Fetcher()  # the real fetcher: it serves the bundled samples offline
    try:
        assert service.needs_first_run()
        app = TuinewsApp(service, config, first_run=True)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            await pilot.pause()
            # Usable at once: the lists exist and keys work while the samples load.
            await pilot.press("j", "question_mark", "escape")
            await settle(app, pilot)
            assert len(service.feeds()) >= 2
            assert screen.stories.count > 10
            assert len(visible_rows(screen)) > 10
            await pilot.press("enter")
            await pilot.pause()
            assert "[from cache]" in plain(screen.query_one("#article-header"))
            await settle(app, pilot)
    finally:
        service.close()
