"""Pilot tests: links, clipboard, theme, command palette, and one snapshot of the layout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.ui.conftest import add_feed, main_screen, make_service
from tuinews.config import Config
from tuinews.core.service import Service
from tuinews.ui.app import THEME_KEY, TuinewsApp


async def test_open_in_browser_only_for_http_links(
    service: Service, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = service.store.add_feed("http://127.0.0.1:9/js.xml", "Scripts")
    from tuinews.core.models import ParsedEntry, ParsedFeed

    service.store.store_feed(
        feed.id,
        ParsedFeed(
            "Scripts",
            None,
            [
                ParsedEntry(
                    "x",
                    "javascript:alert(1)",
                    "Sneaky link",
                    published=datetime(2030, 1, 1, tzinfo=UTC),
                ),
            ],
            "rss",
        ),
    )
    app = TuinewsApp(service, config)
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        assert screen.stories.current_story.title == "Sneaky link"
        await pilot.press("o")
        assert opened == []
        await pilot.press("y")
        assert app.clipboard == "javascript:alert(1)"  # copying text is harmless
        await pilot.press("j", "o")
        assert len(opened) == 1 and opened[0].startswith("http://127.0.0.1:")
        await pilot.press("y")
        assert app.clipboard == opened[0]


async def test_theme_choice_is_remembered(service: Service, config: Config) -> None:
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = "nord"
        await pilot.pause()
    assert service.store.get_setting(THEME_KEY) == "nord"
    app2 = TuinewsApp(service, config)
    async with app2.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app2.theme == "nord"


async def test_command_palette_runs_reader_actions(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Bottom")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.stories.cursor == 9
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Go to feed: Beta")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.feeds.current.label == "Beta"


def test_main_layout_snapshot(snap_compare, tmp_path) -> None:  # type: ignore[no-untyped-def]
    service = make_service(tmp_path / "snap.sqlite3")
    old = datetime(2020, 3, 4, 12, 0, tzinfo=UTC)
    add_feed(service, "Harbour Herald", [f"Ferry story {i}" for i in range(8)], start=old)
    add_feed(service, "Valley Courier", ["[bold]Not bold[/bold] title", "Second"], start=old)
    config = Config(
        data_dir=tmp_path,
        config_file=tmp_path / "none.toml",
        theme="textual-dark",
        fold_events=False,
    )
    try:
        app = TuinewsApp(service, config, now=lambda: datetime(2026, 3, 4, tzinfo=UTC))
        assert snap_compare(app, terminal_size=(120, 30))
    finally:
        service.close()
