"""Pilot tests of one row per event (issue 13): "+N sources", expanded in place, read state."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from tests.ui.conftest import NOW, add_feed, main_screen, make_service, settle, wait_for
from tuinews.config import Config, load_config
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp

HOUR = timedelta(hours=1)
FILLER = [
    "Library opens a new reading room for children",
    "Cyclists ask for a safer junction at the market",
    "Rowing club celebrates its hundredth season",
    "Bakery on Mill Lane wins a regional prize",
]


def events_service(path: Path) -> tuple[Service, dict[str, int]]:
    svc = make_service(path)
    add_feed(svc, "Herald", ["Kessing bridge to close for six weeks of repairs", *FILLER])
    add_feed(
        svc,
        "Courier",
        ["Kessing bridge closure: six weeks of repairs from January", "Harbour ferry fares rise"],
        start=NOW - 2 * HOUR,
    )
    add_feed(svc, "Ledger", ["Six-week Kessing bridge repairs confirmed"], start=NOW - 3 * HOUR)
    ids = {s.title: s.id for s in svc.list_stories(limit=100)}
    return svc, ids


def wide_row(stories: object, index: int) -> str:
    """Row ``index`` as a 100-column list would show it (the feed pane itself is narrow)."""
    row = stories.row_at(index)  # type: ignore[attr-defined]
    return stories.row_text(row.story, 100, row).plain if row else ""  # type: ignore[attr-defined]


def folding_config(tmp_path: Path, *, together: bool = True) -> Config:
    return dataclasses.replace(
        load_config(data_dir=tmp_path), fold_events=True, fold_read_together=together
    )


async def test_one_row_per_event_expands_in_place(tmp_path: Path) -> None:
    service, ids = events_service(tmp_path / "cache.sqlite3")
    lead = ids["Six-week Kessing bridge repairs confirmed"]  # the first report
    app = TuinewsApp(service, folding_config(tmp_path))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            stories = screen.stories
            await settle(app, pilot)
            await wait_for(pilot, lambda: stories.count == 6)
            rows = [wide_row(stories, i) for i in range(stories.rows)]
            assert len(rows) == 6  # 8 stories, one row for the three reports of the bridge
            (row,) = [r for r in rows if "Kessing" in r]
            assert "Six-week Kessing bridge repairs confirmed" in row and "+2 sources" in row
            assert sum("+" in r for r in rows) == 1
            stories.go_to_story(lead)
            at = stories.cursor
            # In the feed pane too the suffix is never the part cut off (the second line).
            narrow = stories.plain_row(at).split("\n")
            assert len(narrow) == 2 and "+2 sources" in narrow[1]
            await pilot.press("z")
            await pilot.pause()
            assert stories.rows == 8
            shown = [wide_row(stories, i) for i in range(at, at + 3)]
            assert "+2 sources" in shown[0]
            # The other reports, oldest first, indented, each with its source.
            assert shown[1].startswith("  ") and "↳ Kessing bridge closure" in shown[1]
            assert "Courier" in shown[1]
            assert shown[2].startswith("  ") and "↳ Kessing bridge to close" in shown[2]
            assert "Herald" in shown[2]
            assert screen.status.position.startswith(f"{at + 1}/8")
            # Enter on a report opens that report.
            await pilot.press("down", "enter")
            await settle(app, pilot)
            assert screen.article.story is not None
            opened = screen.article.story.title
            assert opened == "Kessing bridge closure: six weeks of repairs from January"
            # z on a report folds its event back, the cursor on the event's row.
            stories.focus()
            await pilot.press("z")
            await pilot.pause()
            assert stories.rows == 6 and stories.cursor == at
            assert stories.current_story is not None and stories.current_story.id == lead
    finally:
        service.close()


async def test_read_state_is_shared_when_set(tmp_path: Path) -> None:
    for together in (True, False):
        service, ids = events_service(tmp_path / f"cache-{together}.sqlite3")
        lead = ids["Six-week Kessing bridge repairs confirmed"]
        others = [ids["Kessing bridge to close for six weeks of repairs"],
                  ids["Kessing bridge closure: six weeks of repairs from January"]]  # fmt: skip
        app = TuinewsApp(service, folding_config(tmp_path, together=together))
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                screen = main_screen(app)
                stories = screen.stories
                await settle(app, pilot)
                await wait_for(pilot, lambda: stories.count == 6)  # noqa: B023 (awaited here)
                stories.go_to_story(lead)
                await pilot.press("enter")
                await settle(app, pilot)
                assert service.story(lead).read
                assert all(service.story(i).read for i in others) is together
                assert not any(service.story(i).read for i in others) is not together
                # The row shows unread while one of its reports is.
                row = wide_row(stories, stories.cursor)
                assert row.startswith("●") is (not together)
                unread = service.count_stories(StoryFilter(unread=True, folded=True))
                assert unread == (5 if together else 7)
                # m marks the event unread again (or only the row's story).
                stories.focus()
                await pilot.press("m")
                await pilot.pause()
                assert not service.story(lead).read
                assert (not any(service.story(i).read for i in others)) is True
        finally:
            service.close()


async def test_folding_off_shows_every_story(tmp_path: Path) -> None:
    service, _ = events_service(tmp_path / "cache.sqlite3")
    config = dataclasses.replace(load_config(data_dir=tmp_path), fold_events=False)
    app = TuinewsApp(service, config)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            await settle(app, pilot)
            assert screen.stories.count == 8 and not screen.stories.filter.folded
            assert not any("source" in wide_row(screen.stories, i) for i in range(8))
    finally:
        service.close()
