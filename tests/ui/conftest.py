"""Fixtures for the Pilot tests: a real service over a temp-dir cache, filled directly through
the store (fast, no network), and the app built on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.text import Text

from tests.loopback import closed_port
from tuinews.config import Config, load_config
from tuinews.core.fetch import Fetcher, FetchLimits
from tuinews.core.models import ParsedEntry, ParsedFeed
from tuinews.core.service import Service
from tuinews.ui.app import TuinewsApp
from tuinews.ui.screens.main import MainScreen

NOW = datetime.now(UTC).replace(microsecond=0)


def make_service(path: Path) -> Service:
    limits = FetchLimits(connect_timeout=2, read_timeout=3, total_timeout=6, concurrency=8)
    return Service(path, fetcher=Fetcher(limits, serve_samples=False), extract_workers=1)


def add_feed(
    service: Service,
    title: str,
    titles: list[str],
    *,
    start: datetime = NOW,
    step: timedelta = timedelta(hours=1),
    link_base: str | None = None,
) -> int:
    """Subscribe to a fake feed and store its stories (newest first, ``step`` apart)."""
    base = link_base or f"http://127.0.0.1:{closed_port()}"
    feed = service.store.add_feed(f"{base}/{title.replace(' ', '-').lower()}.xml", title)
    entries = [
        ParsedEntry(
            guid=f"{title}-{i}",
            link=f"{base}/{title.replace(' ', '-').lower()}/{i}",
            title=story_title,
            author="Ada Quill",
            published=start - step * i,
            summary=f"Summary of {story_title}.",
        )
        for i, story_title in enumerate(titles)
    ]
    service.store.store_feed(feed.id, ParsedFeed(title, None, entries, "rss"))
    return feed.id


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(data_dir=tmp_path)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """Two feeds whose stories interleave in time: Alpha at :00, Beta at :30."""
    svc = make_service(tmp_path / "cache.sqlite3")
    add_feed(svc, "Alpha", [f"Alpha story {i}" for i in range(6)])
    add_feed(
        svc,
        "Beta",
        [f"Beta story {i}" for i in range(4)],
        start=NOW - timedelta(minutes=30),
    )
    yield svc
    svc.close()


@pytest.fixture
def app(service: Service, config: Config) -> TuinewsApp:
    return TuinewsApp(service, config)


def main_screen(app: TuinewsApp) -> MainScreen:
    screen = app.get_screen("main")
    assert isinstance(screen, MainScreen)
    return screen


def plain(widget: object) -> str:
    """The text a Static shows."""
    content = widget.content  # type: ignore[attr-defined]
    return content.plain if isinstance(content, Text) else str(content)


def visible_rows(screen: MainScreen) -> list[str]:
    """The story rows on screen, as text."""
    stories = screen.stories
    return [stories.plain_row(i) for i in stories.visible_indices]


async def settle(app: TuinewsApp, pilot: object) -> None:
    """Let workers finish and their messages land."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]


def fill_many(service: Service, n: int) -> int:
    """A feed with ``n`` stories, inserted with one executemany (no FTS: not searched)."""
    feed = service.store.add_feed("http://127.0.0.1:9/many.xml", "Many")
    now = int(time.time())
    rows = [
        (
            feed.id,
            f"g{i}",
            f"http://127.0.0.1:9/s/{i}",
            f"Story number {i}",
            now - i * 60,
            now,
            now - i * 60,
            "",
        )
        for i in range(n)
    ]
    with service.store.transaction() as conn:
        conn.executemany(
            "INSERT INTO stories (feed_id, guid, link, title, published, first_seen, sort_key,"
            " summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return feed.id


async def wait_for(pilot: object, condition: object, timeout: float = 5.0) -> None:
    """Pause until ``condition()`` is true (handlers run asynchronously after a key press)."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)  # type: ignore[attr-defined]
