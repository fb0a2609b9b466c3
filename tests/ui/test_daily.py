"""Pilot tests for issue 15: folders in the feed pane, the background refresh schedule, mark all
read with undo, saved searches, the kill-file, exporting the list in view, the daily cleanup."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.loopback import LoopbackServer, Route
from tests.ui.conftest import NOW, add_feed, main_screen, settle, visible_rows, wait_for
from tuinews.config import Config
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp
from tuinews.ui.screens.dialogs import ConfirmDialog, InputDialog
from tuinews.ui.screens.main import MainScreen
from tuinews.ui.widgets.story_list import ROW_HEIGHT


def folders(service: Service) -> None:
    service.store.set_feed_folder(service.find_feed("Alpha").id, "News")
    service.store.set_feed_folder(service.find_feed("Beta").id, "News/Local")
    add_feed(service, "Gamma", [f"Gamma story {i}" for i in range(2)])


async def test_folders_show_counts_collapse_and_brackets_go_into_them(
    service: Service, config: Config
) -> None:
    folders(service)
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        labels = screen.feeds.labels
        assert labels[3:] == [
            "▾ News (10)",
            "  ▾ Local (4)",
            "    Beta (4)",
            "  Alpha (6)",
            "Gamma (2)",
        ]
        screen.feeds.select_key("folder:News")
        await pilot.pause()
        assert screen.stories.count == 10  # the folder holds its subfolder's stories
        screen.feeds.focus()
        await pilot.press("left")  # close it
        await pilot.pause()
        assert screen.feeds.labels[3:] == ["▸ News (10)", "Gamma (2)"]
        assert service.store.get_setting("ui.collapsed_folders") == ["News"]
        # ] goes feed by feed: into the closed folder, which opens for it.
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.feeds.current.label == "Beta"
        assert "    Beta (4)" in screen.feeds.labels
        assert visible_rows(screen)[0].lstrip("● ").startswith("Beta story 0")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert screen.feeds.current.label == "Gamma"
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert screen.feeds.current.label == "Alpha"
        await pilot.press("z")  # on a feed: closes its folder, the cursor on the folder
        await pilot.pause()
        assert screen.feeds.current.key == "folder:News"
        assert screen.feeds.labels[3:] == ["▸ News (10)", "Gamma (2)"]
        assert screen.stories.count == 10
        await pilot.press("z")
        await pilot.pause()
        assert len(screen.feeds.labels) == 8


@pytest.mark.parametrize("in_child", [False, True], ids=["thread", "child-process"])
async def test_the_schedule_refreshes_in_the_background_without_moving_the_reader(
    service: Service,
    config: Config,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    in_child: bool,
) -> None:
    # The first look at the schedule waits until the reader is in place (below).
    monkeypatch.setattr(MainScreen, "SCHEDULE_TICK", 3600.0)
    # A big refresh runs as a `tuinews refresh` child process; a small one in a thread.
    monkeypatch.setattr(MainScreen, "BACKGROUND_PROCESS_MIN_FEEDS", 1 if in_child else 1000)
    # Newer than every stored story: they land above the cursor.
    stamp = format_datetime(datetime.now(UTC) + timedelta(minutes=5), usegmt=True)
    body = "".join(
        f"<item><guid>s{i}</guid><title>Scheduled item {i}</title>"
        f"<link>{server.url(f'/s/{i}')}</link><pubDate>{stamp}</pubDate></item>"
        for i in range(3)
    )
    server.routes["/sched.xml"] = Route(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Sched</title>{body}'
        "</channel></rss>".encode()
    )
    # Alpha and Beta were just checked; the new feed never was, so it is due at once.
    with service.store.transaction() as conn:
        conn.execute("UPDATE feeds SET last_checked = strftime('%s', 'now')")
    # A list longer than the screen, so that keeping the reader's row means scrolling.
    add_feed(service, "Older", [f"Older {i}" for i in range(40)], start=NOW - timedelta(days=3))
    with service.store.transaction() as conn:
        conn.execute("UPDATE feeds SET last_checked = strftime('%s', 'now')")
    feed = service.store.add_feed(server.url("/sched.xml"), "Sched")
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("j", "j", "j")
        await pilot.press("enter")
        await settle(app, pilot)
        opened = screen.article.story
        assert opened is not None
        before_cursor = screen.stories.cursor
        before_line = before_cursor * ROW_HEIGHT - int(screen.stories.scroll_y)
        screen.article.focus()
        screen.check_schedule()  # what the timer does every SCHEDULE_TICK
        await wait_for(pilot, lambda: screen.stories.count == 53, timeout=20)
        await settle(app, pilot)
        assert server.hits["/sched.xml"] == 1  # Alpha and Beta were not due
        assert screen.stories.current_story.id == opened.id  # the cursor kept its story...
        assert screen.stories.cursor == before_cursor + 3  # the new ones are above it...
        line = screen.stories.cursor * ROW_HEIGHT - int(screen.stories.scroll_y)
        assert line == before_line  # ...and it is still on the same screen line
        assert screen.article.story.id == opened.id
        assert "3 new stories" in str(screen.status.render())
        assert f"feed:{feed.id}" in [c.key for c in screen.feeds.choices]
        # Not due again before its interval: the next ticks fetch nothing.
        for _ in range(3):
            screen.check_schedule()
            await settle(app, pilot)
        assert server.hits["/sched.xml"] == 1
        screen.stories.focus()
        await pilot.press("g")
        await pilot.pause()
        assert "new stor" not in str(screen.status.render())


async def test_a_failing_feed_backs_off(
    service: Service, config: Config, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MainScreen, "SCHEDULE_TICK", 0.2)
    with service.store.transaction() as conn:
        conn.execute("UPDATE feeds SET last_checked = strftime('%s', 'now')")
    server.routes["/bad.xml"] = Route(b"", status=503)
    bad = service.store.add_feed(server.url("/bad.xml"), "Bad")
    app = TuinewsApp(service, dataclasses.replace(config, refresh_interval=60))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await wait_for(pilot, lambda: service.store.feed(bad.id).failures == 1, timeout=10)
        checks = screen.schedule_checks
        await wait_for(pilot, lambda: screen.schedule_checks >= checks + 4)
        await settle(app, pilot)
        assert server.hits["/bad.xml"] == 1  # backing off (2 min), not retried every tick
        assert "! Bad" in screen.feeds.labels


async def test_mark_all_read_in_a_folder_then_undo(service: Service, config: Config) -> None:
    folders(service)
    app = TuinewsApp(service, config)
    calls: list[tuple[int, bool]] = []
    original = service.store.set_read

    def spy(ids, read=True):  # type: ignore[no-untyped-def]
        calls.append((len(ids), read))
        original(ids, read)

    service.store.set_read = spy  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        screen.feeds.select_key("folder:News/Local")
        await pilot.pause()
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
        assert service.count_stories(StoryFilter(unread=True)) == 8  # Beta's 4 only
        assert calls == [(4, True)]
        assert "Local" not in " ".join(
            label for label in screen.feeds.labels if label.endswith(")") and "Local" in label
        )
        await pilot.press("u")
        await settle(app, pilot)
        assert service.count_stories(StoryFilter(unread=True)) == 12
        assert calls[-1] == (4, False)
        await pilot.press("u")
        await pilot.pause()
        assert service.count_stories(StoryFilter(unread=True)) == 12
        assert any("Nothing to undo" in str(n.message) for n in app._notifications)


async def test_mark_all_read_of_a_search_result(service: Service, config: Config) -> None:
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(Input).value = "beta story"
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.stories.count == 4
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert service.count_stories(StoryFilter(unread=True)) == 6  # Alpha's untouched


async def test_save_a_search_as_a_virtual_feed(service: Service, config: Config) -> None:
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(Input).value = "feed:alpha is:unread"
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.stories.count == 6
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, InputDialog)
        app.screen.query_one(Input).value = "Alpha unread"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "⌕ Alpha unread (6)" in screen.feeds.labels
        assert screen.feeds.current.label == "Alpha unread"
        await pilot.press("enter")  # open the newest
        await settle(app, pilot)
        assert "⌕ Alpha unread (5)" in screen.feeds.labels
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(Input).value = "is:maybe"
        await pilot.press("enter")
        await pilot.pause()
        assert any("is:maybe is not known" in str(n.message) for n in app._notifications)
        screen.feeds.select_key(screen.feeds.current.key)
        screen.feeds.focus()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
        assert not any("⌕" in label for label in screen.feeds.labels)
        assert len(service.feeds()) == 2  # the feeds stay


async def test_the_kill_file_hides_stories_everywhere_and_says_how_many(
    service: Service, config: Config
) -> None:
    add_feed(service, "Ads", ["Sponsored: a cruise", "Sponsored: a sofa", "Real news"])
    app = TuinewsApp(service, dataclasses.replace(config, hide=("title:sponsored",)))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        assert screen.stories.count == 11
        assert not any("Sponsored" in row for row in visible_rows(screen))
        assert "2 hidden by filters" in str(screen.status.render())
        assert "Ads (1)" in screen.feeds.labels and "All (11)" in screen.feeds.labels
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one(Input).value = "sponsored"
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.stories.count == 0


async def test_export_the_list_in_view(service: Service, config: Config, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    app = TuinewsApp(service, dataclasses.replace(config, export_dir=vault))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        screen.feeds.select_key(f"feed:{service.find_feed('Beta').id}")
        await pilot.pause()
        for round_ in range(2):
            await pilot.press("E")
            await pilot.pause()
            assert isinstance(app.screen, InputDialog)
            assert app.screen.query_one(Input).value == str(vault)
            await pilot.press("enter")
            await settle(app, pilot)
            await wait_for(pilot, lambda: screen.status.activity == "", timeout=20)
            expected = "4 written, 0 unchanged" if round_ == 0 else "0 written, 4 unchanged"
            assert any(expected in str(n.message) for n in app._notifications), round_
        assert len(list(vault.glob("*.md"))) == 4


async def test_the_daily_cleanup_runs_in_the_background(
    service: Service, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MainScreen, "CLEANUP_DELAY", 0.1)
    old = add_feed(
        service,
        "Old",
        [f"Old story {i}" for i in range(5)],
        start=NOW - timedelta(days=200),
    )
    # The feed's latest document no longer carries them.
    with service.store.transaction() as conn:
        conn.execute("UPDATE feeds SET present_ids = '' WHERE id = ?", (old,))
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        assert screen.stories.count == 15
        await wait_for(pilot, lambda: screen.stories.count == 10, timeout=10)
        assert any("5 old stories deleted" in str(n.message) for n in app._notifications)
        assert not service.store.cleanup_due()


async def test_move_a_feed_to_a_folder_from_the_app(service: Service, config: Config) -> None:
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        beta = service.find_feed("Beta")
        screen.feeds.select_key(f"feed:{beta.id}")
        await pilot.pause()
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, InputDialog)
        app.screen.query_one(Input).value = "Sport/Local"
        await pilot.press("enter")
        await settle(app, pilot)
        assert service.store.feed(beta.id).folder == "Sport/Local"
        assert screen.feeds.labels[3:6] == ["▾ Sport (4)", "  ▾ Local (4)", "    Beta (4)"]
        assert screen.feeds.current.key == f"feed:{beta.id}"
        await pilot.press("F")
        await pilot.pause()
        app.screen.query_one(Input).value = "-"
        await pilot.press("enter")
        await settle(app, pilot)
        assert service.store.feed(beta.id).folder is None
        assert not any("▾" in label for label in screen.feeds.labels)
