"""One Pilot test: a hostile title reaches the story list as literal text, with no escape byte.

The title is stored raw through the store (bypassing the feed parser's cleaning), so this checks
the widget's own defence. The UI engineer's tests in ``tests/ui/`` cover the other panes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.hostile.faults import TALLY, make_service

ui = pytest.importorskip("tuinews.ui.app", reason="the Textual UI is not importable here")

RAW_TITLE = "\x1b]52;c;cHduZWQ=\x07[b]B[/b]\x1b[31m\x9b2J\u202e\u200b[@click=app.quit]Q[/]\x1b[0m"
ESCAPE_CHARS = ("\x1b", "\x07", "\x9b", "\u202e", "\u200b")


async def test_story_list_shows_hostile_title_literally(tmp_path: Path) -> None:
    from tuinews.config import load_config
    from tuinews.core.models import ParsedEntry, ParsedFeed
    from tuinews.ui.widgets.story_list import StoryList

    svc = make_service(tmp_path / "cache.sqlite3")
    try:
        feed = svc.store.add_feed("http://127.0.0.1:9/evil.xml", "Feed \x1b[2J[italic]F[/italic]")
        svc.store.store_feed(
            feed.id,
            ParsedFeed(
                "Feed \x1b[2J[italic]F[/italic]",
                None,
                [
                    ParsedEntry(
                        "e1",
                        "http://127.0.0.1:9/e1",
                        RAW_TITLE,
                        published=datetime(2030, 1, 1, tzinfo=UTC),
                        summary="s",
                    ),
                ],
                "rss",
            ),
        )
        app = ui.TuinewsApp(svc, load_config(data_dir=tmp_path / "data"))
        async with app.run_test(size=(200, 30)) as pilot:
            await pilot.pause()
            stories = app.screen.query_one(StoryList)
            lines = [
                "".join(seg.text for seg in stories.render_line(y))
                for y in range(stories.size.height)
            ]
            shown = "\n".join(lines)
            assert "[b]B[/b]" in shown and "[@click=app.quit]Q[/]" in shown, shown
            assert not any(ch in shown for ch in ESCAPE_CHARS), repr(shown)
            assert app.is_running  # the [@click=app.quit] markup did not become an action
    finally:
        svc.close()
    TALLY.add("untrusted-text/ui", inputs=1)
