"""SVG snapshots of the main layouts (pytest-textual-snapshot, Textual pinned to 8.2.8).

Everything shown is fixed: the stories are built here, the clock is frozen (ages such as "2h"),
dates show in UTC, links point at ``.example`` hosts that are never fetched (every story that
is opened has a stored article or a stored error), and each snapshot waits for the workers.
Update with ``pytest tests/ui/test_snapshots.py --snapshot-update`` and read the SVGs' text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import add_feed, main_screen, make_service
from tuinews.config import Config
from tuinews.core.models import ExtractedArticle
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp

FROZEN = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
"""The snapshots' "now"."""

ARTICLE = """The harbour committee voted on Tuesday to repair the **north breakwater** before
the winter storms, after two years of delays.

## What changes

- The ferry quay closes for six weeks from April.
- Fishing boats move to the south basin.

> "We cannot wait for another storm season," the harbour master said.

Work starts once the stone barges arrive from the quarry."""


@pytest.fixture
def snap_service(tmp_path: Path) -> Iterator[Service]:
    """Three feeds (one whose last refresh failed) and two stored articles."""
    service = make_service(tmp_path / "snap.sqlite3")
    herald = add_feed(
        service,
        "Harbour Herald",
        [
            "Council approves harbour breakwater repairs",
            "Ferry timetable changes on Monday",
            "Fishing fleet returns early",
            "Lighthouse keeper retires after 40 years",
            "[bold]Not bold[/bold] title from the web",
            "Quay lights replaced",
        ],
        start=FROZEN - timedelta(minutes=20),
        step=timedelta(hours=5),
        link_base="https://herald.example",
    )
    add_feed(
        service,
        "Valley Courier",
        [
            "Harbour breakwater repairs approved by council",
            "Valley school opens new library",
            "Harbour ferry quay to close for six weeks",
        ],
        start=FROZEN - timedelta(hours=2),
        step=timedelta(days=2),
        link_base="https://courier.example",
    )
    broken = add_feed(
        service,
        "Coast Gazette",
        ["Storm warning for the coast"],
        start=FROZEN - timedelta(days=40),
        link_base="https://gazette.example",
    )
    with service.store.transaction() as conn:
        conn.execute(
            "UPDATE feeds SET last_status = 503, last_error = ? WHERE id = ?",
            ("HTTP 503 Service Unavailable (retrying in 30 min)", broken),
        )
    first = service.list_stories(StoryFilter(feed_id=herald), limit=1)[0]
    service.store.store_article(
        first.id,
        first.link or "",
        ExtractedArticle(markdown=ARTICLE, text=ARTICLE, author="Ada Quill", word_count=420),
    )
    storm = service.list_stories(StoryFilter(feed_id=broken), limit=1)[0]
    service.store.store_article_error(
        storm.id, storm.link or "", "the page has no article text (a cookie wall?)"
    )
    yield service
    service.close()


def snap_app(service: Service, tmp_path: Path) -> TuinewsApp:
    config = Config(
        data_dir=tmp_path,
        config_file=tmp_path / "none.toml",
        theme="textual-dark",
        fold_events=False,
    )
    return TuinewsApp(service, config, now=lambda: FROZEN, timezone=UTC)


async def settled(pilot: Pilot[Any]) -> None:
    """No worker running and nothing left to paint."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def test_main_screen_80x24(snap_compare: Any, snap_service: Service, tmp_path: Path) -> None:
    assert snap_compare(
        snap_app(snap_service, tmp_path), terminal_size=(80, 24), run_before=settled
    )


def test_main_screen_120x40(snap_compare: Any, snap_service: Service, tmp_path: Path) -> None:
    assert snap_compare(
        snap_app(snap_service, tmp_path), terminal_size=(120, 40), run_before=settled
    )


def test_open_article_with_related(
    snap_compare: Any, snap_service: Service, tmp_path: Path
) -> None:
    async def open_first(pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await settled(pilot)
        screen = main_screen(pilot.app)  # type: ignore[arg-type]
        assert screen.article.story is not None
        assert screen.article.story.title == "Council approves harbour breakwater repairs"
        assert screen.sidebar.items and screen.sidebar.items[0] is None  # a group heading

    assert snap_compare(
        snap_app(snap_service, tmp_path), terminal_size=(120, 40), run_before=open_first
    )


def test_help_screen(snap_compare: Any, snap_service: Service, tmp_path: Path) -> None:
    async def help_(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(snap_app(snap_service, tmp_path), terminal_size=(100, 40), run_before=help_)


def test_error_state_failed_feed_and_article(
    snap_compare: Any, snap_service: Service, tmp_path: Path
) -> None:
    async def open_broken(pilot: Pilot[Any]) -> None:
        screen = main_screen(pilot.app)  # type: ignore[arg-type]
        feed = next(f for f in snap_service.feeds() if f.title == "Coast Gazette")
        assert screen.feeds.select_key(f"feed:{feed.id}")
        await pilot.pause()
        await pilot.press("enter")  # the story list has the focus: open the story
        await settled(pilot)
        assert screen.article.state is not None and screen.article.state.error

    assert snap_compare(
        snap_app(snap_service, tmp_path), terminal_size=(120, 40), run_before=open_broken
    )
