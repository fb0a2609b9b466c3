"""Pilot tests: moving around, opening stories, marks, layout, keys."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tests.ui.conftest import main_screen, plain, settle, visible_rows
from tuinews.config import Config
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp
from tuinews.ui.screens.dialogs import HelpDialog
from tuinews.ui.widgets.article_view import ArticleView


async def test_start_shows_feeds_and_newest_stories(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = main_screen(app)
        labels = screen.feeds.labels[:5]
        assert labels[:3] == ["All (10)", "Unread (10)", "Starred"]
        assert labels[3:5] == ["Alpha (6)", "Beta (4)"]
        rows = visible_rows(screen)
        assert len(rows) == 10
        assert "Alpha story 0" in rows[0] and "Beta story 0" in rows[1]
        assert rows[0].startswith("●")  # unread mark
        assert screen.focused is screen.stories
        assert screen.status.position.startswith("1/10")


async def test_jk_move_and_enter_opens_and_marks_read(app: TuinewsApp, service: Service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("j", "j", "k", "j")
        assert screen.stories.cursor == 2
        story = screen.stories.current_story
        assert story is not None and story.title == "Alpha story 1"
        await pilot.press("enter")
        await pilot.pause()
        header = plain(screen.query_one("#article-header", Static))
        assert header.startswith("Alpha story 1")
        assert "Alpha · by Ada Quill" in header
        assert service.story(story.id).read
        assert screen.stories.plain_row(2).startswith(" ")  # the unread mark is gone
        assert screen.feeds.labels[3] == "Alpha (5)"
        await settle(app, pilot)


async def test_arrows_move_in_the_focused_pane_and_tab_cycles(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("down", "down")
        assert screen.stories.cursor == 2
        await pilot.press("tab")
        assert isinstance(screen.focused, ArticleView)
        await pilot.press("tab")
        assert screen.focused is screen.sidebar.options
        await pilot.press("tab")
        assert screen.focused is screen.feeds
        await pilot.press("down", "down", "down")  # All -> Unread -> Starred -> Alpha
        await pilot.pause()
        assert screen.feeds.current is not None and screen.feeds.current.label == "Alpha"
        assert screen.stories.count == 6
        await pilot.press("enter")
        assert screen.focused is screen.stories
        await pilot.press("shift+tab")
        assert screen.focused is screen.feeds


async def test_feed_switching_with_brackets(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert screen.feeds.current.key == "starred"
        assert screen.stories.count == 0
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert screen.feeds.current.label == "Beta"
        assert visible_rows(screen)[0].lstrip("● ").startswith("Beta story 0")
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert screen.feeds.current.label == "Alpha"


async def test_next_unread_crosses_feeds(app: TuinewsApp, service: Service) -> None:
    alpha = service.find_feed("Alpha").id
    beta = service.find_feed("Beta").id
    # Everything read except Alpha story 2 (2 h old) and the older Beta story 3 (3.5 h).
    for s in service.list_stories(StoryFilter(), limit=100):
        if s.title not in ("Alpha story 2", "Beta story 3"):
            service.set_read(s.id, True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        screen.feeds.select_key(f"feed:{alpha}")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert screen.article.story.title == "Alpha story 2"
        assert screen.stories.current_story.title == "Alpha story 2"
        await pilot.press("n")
        await pilot.pause()
        assert screen.article.story.title == "Beta story 3"
        assert screen.feeds.current.key == f"feed:{beta}"  # the list followed it
        assert screen.stories.current_story.title == "Beta story 3"
        await pilot.press("n")
        await pilot.pause()
        assert screen.article.story.title == "Beta story 3"  # nothing left: stays
        await pilot.press("p")
        await pilot.pause()
        assert screen.article.story.title == "Beta story 3"  # both are read now
        assert service.count_stories(StoryFilter(unread=True)) == 0
        await settle(app, pilot)


async def test_star_and_read_toggles(app: TuinewsApp, service: Service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        story = screen.stories.current_story
        await pilot.press("s")
        assert service.story(story.id).starred
        assert screen.stories.plain_row(0).startswith("●★")
        assert screen.feeds.labels[2] == "Starred (1)"
        await pilot.press("m")
        assert service.story(story.id).read
        assert screen.stories.plain_row(0).startswith(" ★")
        await pilot.press("m", "s")
        assert not service.story(story.id).read and not service.story(story.id).starred
        assert screen.feeds.labels[2] == "Starred"


async def test_g_and_G_go_to_top_and_bottom(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("G")
        assert screen.stories.cursor == 9
        assert screen.stories.current_story.title == "Alpha story 5"
        await pilot.press("g")
        assert screen.stories.cursor == 0


async def test_narrow_terminal_hides_sidebar_and_backslash_toggles(app: TuinewsApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        assert not screen.sidebar.display
        assert screen.article.region.width >= 38
        assert len(visible_rows(screen)) > 5
        await pilot.press("backslash")
        await pilot.pause()
        assert screen.sidebar.display
        await pilot.press("backslash")
        await pilot.pause()
        assert not screen.sidebar.display


async def test_wide_terminal_uses_the_width(app: TuinewsApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        assert screen.sidebar.display
        assert screen.query_one("#feed-pane").region.width >= 60
        assert screen.article.region.width >= 80
        assert "Alpha" in visible_rows(screen)[0]  # the source column shows when wide


async def test_keys_are_remappable_from_config(service: Service, tmp_path: Path) -> None:
    config = Config(
        data_dir=tmp_path,
        config_file=tmp_path / "c.toml",
        keys={"next_story": "x"},
        fold_events=False,
    )
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("x", "x")
        assert screen.stories.cursor == 2
        await pilot.press("j")  # no longer bound
        assert screen.stories.cursor == 2
        rows = dict((i, (k, d)) for k, d, i in app.binding_rows())
        assert rows["next_story"][0] == "x"


async def test_help_lists_every_binding(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpDialog)
        text = plain(app.screen.query_one("#help-text", Static))
        for needle in ("next_unread", "Refresh all", "export", "toggle_sidebar", "quit"):
            assert needle in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpDialog)


async def test_position_is_restored_at_next_start(service: Service, config: Config) -> None:
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.press("j", "enter")
        await pilot.pause()
        opened = screen.article.story.id
        await settle(app, pilot)
        await pilot.press("q")
    app2 = TuinewsApp(service, config)
    async with app2.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = main_screen(app2)
        assert screen.feeds.current.label == "Alpha"
        assert screen.stories.cursor == 1
        assert screen.article.story is not None and screen.article.story.id == opened
        await settle(app2, pilot)


async def test_back_returns_to_the_previous_story(app: TuinewsApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        first = screen.article.story.id
        await pilot.press("j", "enter")
        await pilot.pause()
        assert screen.article.story.id != first
        await pilot.press("backspace")
        await pilot.pause()
        assert screen.article.story.id == first
        assert screen.stories.current_story.id == first
        await settle(app, pilot)
