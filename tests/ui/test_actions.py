"""Pilot tests: mark all read, the refresh's list re-reads, palette hints after a remap, the
source column of mixed lists."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette

from tests.ui.conftest import main_screen, visible_rows
from tuinews.config import Config
from tuinews.core.service import FeedResult, RefreshSummary, Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import ReaderCommands, TuinewsApp
from tuinews.ui.screens.dialogs import ConfirmDialog
from tuinews.ui.screens.main import RELOAD_INTERVAL, MainScreen


async def test_mark_all_read_in_a_feed_asks_first(app: TuinewsApp, service: Service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        alpha = next(f for f in service.feeds() if f.title == "Alpha")
        screen.feeds.select_key(f"feed:{alpha.id}")
        await pilot.pause()
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert service.count_stories(StoryFilter(unread=True)) == 10
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert service.count_stories(StoryFilter(unread=True, feed_id=alpha.id)) == 0
        assert service.count_stories(StoryFilter(unread=True)) == 4  # Beta's are untouched
        assert visible_rows(screen)[0].startswith("   Alpha story 0")  # no unread mark
        labels = screen.feeds.labels
        assert "Alpha" in labels and "Unread (4)" in labels
        await pilot.press("A")  # nothing left: no question
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)


async def test_mark_all_read_in_all(app: TuinewsApp, service: Service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await pilot.pause()
        assert service.count_stories(StoryFilter(unread=True)) == 0


async def test_refresh_progress_rereads_the_lists_a_few_times_a_second(
    app: TuinewsApp, service: Service
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("j", "j")
        kept = screen.stories.current_story.id
        before = screen.list_reloads
        result = FeedResult(feed_id=1, url="http://127.0.0.1:9/x.xml", title="x", outcome="new")
        for done in range(1, 41):
            screen.show_refresh_progress(MainScreen.RefreshProgress(done, 40, 0, result))
        assert screen.list_reloads - before == 1  # the first at once, the rest wait
        assert screen.status.activity == "refreshing 40/40 feeds"
        await pilot.pause(RELOAD_INTERVAL + 0.15)
        assert screen.list_reloads - before == 2  # one trailing re-read
        screen.post_message(MainScreen.RefreshDone(RefreshSummary(), "all feeds"))
        await pilot.pause()
        assert screen.list_reloads - before == 3  # and one at the end
        assert screen.stories.current_story.id == kept


async def test_palette_hints_follow_the_keymap(service: Service, tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, config_file=tmp_path / "c.toml", keys={"toggle_star": "x"})
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        provider = ReaderCommands(app.screen)
        hints = {name: help_text for name, help_text, _ in provider._commands()}
        assert hints["Star"] == "keys: x"
        assert hints["Scroll"] == "keys: space, pgdn"
        assert hints["Why related"] == "keys: w"
        assert hints["Mark all read"] == "keys: A"


async def test_source_column_in_every_view_at_the_same_place(
    app: TuinewsApp, service: Service
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        stories = screen.stories
        story = stories.story_at(0)
        assert stories.filter.feed_id is None
        # "Alpha story 0" by Alpha: the title, then the source column when there is room.
        mixed = stories.row_text(story, 60).plain
        assert mixed.count("Alpha") == 2
        assert stories.row_text(story, 20).plain.count("Alpha") == 1  # too narrow
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert stories.filter.feed_id is not None
        alone = stories.row_text(stories.story_at(0), 60).plain
        # Same columns in a feed's own list: the source sits where it sat in All.
        assert alone.split("\n")[1].index("Alpha") == mixed.split("\n")[1].index("Alpha")
