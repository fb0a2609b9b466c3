"""Issue 17: the reading experience as a new user meets it (headlines, the sidebar, what `o`
and `y` act on, the Unread view, messages in words, 80x24) and issue 15's cursor after the
first load of the samples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey

from tests.loopback import closed_port
from tests.ui.conftest import NOW, add_feed, main_screen, make_service, settle, wait_for
from tuinews.config import Config
from tuinews.core.models import RelatedStory
from tuinews.core.service import FeedResult, RefreshSummary, Service
from tuinews.ui.app import TuinewsApp
from tuinews.ui.screens.main import LIST_WIDTH_KEY

LONG = [
    "Brannock traders fear lost custom as Kessing Bridge shutdown looms",
    "Harbour committee votes to repair the north breakwater before winter storms",
    "Ferry timetable changes on Monday as the quay closes for six weeks",
    "Lighthouse keeper retires after forty years on Gullhaven point",
]


@pytest.fixture
def news(tmp_path: Path) -> Iterator[Service]:
    """Four feeds with long headlines, one story an hour apart across them."""
    service = make_service(tmp_path / "news.sqlite3")
    for n, name in enumerate(["The Harbour Herald", "Valley Courier", "Northline", "Ledger"]):
        add_feed(
            service,
            name,
            [f"{title} ({name})" for title in LONG],
            start=NOW - timedelta(minutes=10 * n),
        )
    yield service
    service.close()


def _title_shown(row: str) -> str:
    """The headline text of a row: both lines, without the marks and the columns."""
    first, second = row.split("\n")
    return (first[3:].rstrip() + " " + second[3:].split("  ")[0].strip()).strip()


async def test_headlines_get_two_lines_and_columns_line_up_in_every_view(
    news: Service, config: Config
) -> None:
    app = TuinewsApp(news, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        stories = screen.stories
        width = stories.scrollable_content_region.width

        def columns() -> list[tuple[int, int]]:
            """(where the source starts, where the age ends) on every visible row."""
            found = []
            for i in stories.visible_indices:
                story = stories.story_at(i)
                assert story is not None
                last = stories.plain_row(i).split("\n")[-1]
                found.append((last.index(story.feed_title[:5]), len(last.rstrip())))
            return found

        row = stories.plain_row(0)
        assert len(_title_shown(row)) >= 45, row  # the old one-line row showed 22 characters
        seen = set(columns())
        assert len(seen) == 1 and seen.pop()[1] == width, columns()
        all_columns = columns()[0]

        for key in ("feed:1", "unread"):
            assert screen.feeds.select_key(key)
            await pilot.pause()
            assert set(columns()) == {all_columns}, key
        await pilot.press("slash")
        await pilot.press(*"breakwater", "enter")
        await pilot.pause()
        assert stories.count == 4
        assert set(columns()) == {all_columns}, "search"


async def test_star_and_unread_mark_have_their_own_cells(news: Service, config: Config) -> None:
    app = TuinewsApp(news, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        await pilot.press("s")
        row = screen.stories.plain_row(0)
        assert row[:2] == "●★", row
        await pilot.press("m")  # read: the star stays, the unread mark goes
        assert screen.stories.plain_row(0)[:2] == " ★"


def _rendered(widget: object) -> list[str]:
    height = widget.size.height  # type: ignore[attr-defined]
    return [widget.render_line(y).text for y in range(height)]  # type: ignore[attr-defined]


async def test_sidebar_items_keep_their_age_and_rule_when_the_source_line_is_long(
    news: Service, config: Config
) -> None:
    app = TuinewsApp(news, config, now=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await settle(app, pilot)
        sidebar = screen.sidebar
        story_id = screen.article.story.id  # type: ignore[union-attr]
        items = [
            RelatedStory(
                "topic",
                f"A long related headline number {i} about the harbour and its repairs",
                None,
                story_id,
                source="The Very Long Name Of A Regional Newspaper",
                published=NOW - timedelta(days=i + 2),
            )
            for i in range(8)
        ]
        sidebar.show_items(story_id, items)
        await pilot.pause()
        lines = _rendered(sidebar.options)
        lines += [""]
        # Scroll to the end too: every item shows "Nd · source…" and a rule under it.
        sidebar.options.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        text = "\n".join(lines + _rendered(sidebar.options))
        words = text.split()
        for i in range(8):
            assert f"{i + 2}d" in words, text
        # The age line is one line, cut with an ellipsis: never a source that wraps.
        assert "Newspaper" not in text and "The Very Long" in text, text
        rules = [line for line in lines if line.strip().startswith("───")]
        shown_items = sum(1 for line in lines if line.strip().startswith("A long related"))
        assert len(rules) >= shown_items - 1 >= 2, text


async def test_enter_on_the_first_tab_into_the_sidebar_opens_the_first_item(
    tmp_path: Path, config: Config
) -> None:
    service = make_service(tmp_path / "rel.sqlite3")
    add_feed(service, "Alpha", ["Harbour breakwater repairs approved by the council"])
    add_feed(service, "Beta", ["Council approves harbour breakwater repairs"])
    try:
        app = TuinewsApp(service, config)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            await pilot.press("enter")
            await settle(app, pilot)
            first = screen.article.story
            assert first is not None and any(screen.sidebar.items)
            while not screen.sidebar.options.has_focus:
                await pilot.press("tab")
            await pilot.press("enter")
            await settle(app, pilot)
            assert screen.article.story is not None
            assert screen.article.story.id != first.id
    finally:
        service.close()


async def test_o_and_y_act_on_the_article_on_screen(
    news: Service, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = TuinewsApp(news, config)
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await settle(app, pilot)
        reading = screen.article.story
        assert reading is not None and screen.stories.has_focus
        await pilot.press("j", "j")  # the cursor moves on; the article stays
        assert screen.stories.current_story.id != reading.id  # type: ignore[union-attr]
        await pilot.press("y")
        assert app.clipboard == reading.link
        await pilot.press("o")
        assert opened == [reading.link]


async def test_escape_from_a_search_puts_the_cursor_back_on_the_open_story(
    news: Service, config: Config
) -> None:
    app = TuinewsApp(news, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("j", "j", "j", "enter")
        await settle(app, pilot)
        reading = screen.article.story
        assert reading is not None
        await pilot.press("slash", *"lighthouse", "enter")
        await pilot.pause()
        assert screen.stories.filter.search == "lighthouse"
        await pilot.press("escape")
        await pilot.pause()
        assert screen.stories.filter.search is None
        assert screen.stories.current_story.id == reading.id  # type: ignore[union-attr]


async def test_the_unread_view_keeps_the_story_being_read_until_it_is_left(
    news: Service, config: Config
) -> None:
    app = TuinewsApp(news, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        assert screen.feeds.select_key("unread")
        await pilot.pause()
        stories = screen.stories
        total = stories.count
        await pilot.press("j", "enter")
        await settle(app, pilot)
        reading = screen.article.story
        assert reading is not None and reading.read
        screen.reload_lists()  # as a refresh would
        assert stories.count == total
        assert stories.current_story.id == reading.id  # type: ignore[union-attr]
        await pilot.press("m")  # unread again: in place
        assert not news.story(reading.id).read
        assert stories.current_story.id == reading.id  # type: ignore[union-attr]
        assert stories.plain_row(stories.cursor).startswith("●")
        await pilot.press("m")  # read again, then leave the view and come back
        assert screen.feeds.select_key("all")
        await pilot.pause()
        assert screen.feeds.select_key("unread")
        await pilot.pause()
        assert stories.count == total - 1


async def test_a_failed_add_says_what_happened_in_words(news: Service, config: Config) -> None:
    app = TuinewsApp(news, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("a", *"notaurl", "enter")
        await settle(app, pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any(
            m.startswith("notaurl is not a web address: type a feed URL or a site's address")
            for m in messages
        ), messages
        assert screen.status.activity == ""
        await pilot.press("a", *f"http://127.0.0.1:{closed_port()}/feed.xml", "enter")
        await settle(app, pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any(m.startswith("Could not add the feed: ") for m in messages), messages
        assert not any("worker" in m for m in messages), messages
        assert screen.status.activity == ""


async def test_80x24_keeps_quit_and_keys_four_feeds_and_a_readable_article(
    news: Service, config: Config
) -> None:
    app = TuinewsApp(news, config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        keys = {k.description: k.region for k in screen.query(FooterKey) if k.display}
        for name in ("Quit", "Keys"):
            assert name in keys and keys[name].width and keys[name].right <= 80, keys
        feeds = screen.feeds
        assert feeds.scrollable_content_region.height >= 7  # All, Unread, Starred + 4 feeds
        await pilot.press("enter")
        await settle(app, pilot)
        article_width = screen.article.size.width
        await pilot.press("backslash")
        await pilot.pause()
        assert screen.sidebar.display and screen.sidebar.options.has_focus
        assert screen.article.size.width == article_width >= 40  # the drawer floats over it
        assert screen.sidebar.options.highlighted is not None
        await pilot.press("backslash")
        await pilot.pause()
        assert not screen.sidebar.display and not screen.sidebar.options.has_focus
        # Escape closes the drawer too; choosing an item closes it and opens the story.
        await pilot.press("backslash")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not screen.sidebar.display and screen.article.has_focus
        await pilot.press("backslash")
        await settle(app, pilot)
        before = screen.article.story
        await pilot.press("enter")
        await settle(app, pilot)
        assert not screen.sidebar.display
        assert screen.article.story is not None and screen.article.story != before


async def test_the_list_pane_is_resizable_and_keeps_its_width(
    news: Service, config: Config
) -> None:
    app = TuinewsApp(news, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.pause()
        before = screen.query_one("#feed-pane").outer_size.width
        await pilot.press("greater_than_sign", "greater_than_sign")
        await pilot.pause()
        after = screen.query_one("#feed-pane").outer_size.width
        assert after == before + 8
        assert news.store.get_setting(LIST_WIDTH_KEY) == after
        row = screen.stories.plain_row(0)
        assert len(row.split("\n")[0]) == screen.stories.scrollable_content_region.width
    app2 = TuinewsApp(news, config)
    async with app2.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert main_screen(app2).query_one("#feed-pane").outer_size.width == after


async def test_feeds_arriving_one_by_one_at_first_start_leave_the_cursor_on_top(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The samples' feeds land one after another; the newest stories come with the later
    ones. The list was first read with only the older feed in it: its top story must not pull
    the cursor down when newer ones arrive above it."""
    import time

    service = make_service(tmp_path / "first.sqlite3")

    def load_samples(progress=None, cancel=None):  # type: ignore[no-untyped-def]
        results = []
        feeds = [
            ("Older", [f"Older story {i}" for i in range(5)], NOW - timedelta(days=3)),
            ("Newer", [f"Newer story {i}" for i in range(5)], NOW),
        ]
        for done, (name, titles, start) in enumerate(feeds, 1):
            feed_id = add_feed(service, name, titles, start=start)
            results.append(FeedResult(feed_id, name, f"http://{name}", "new", len(titles)))
            if progress is not None:
                progress(done, len(feeds), results[-1])
            time.sleep(0.5)  # the UI re-reads the list between the two
        service.store.set_setting("initialized", True)
        return RefreshSummary(results)

    monkeypatch.setattr(service, "load_samples", load_samples)
    try:
        app = TuinewsApp(service, config, first_run=True)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            await settle(app, pilot)
            stories = screen.stories
            assert stories.count == 10
            assert stories.cursor == 0
            assert stories.current_story.title == "Newer story 0"  # type: ignore[union-attr]
    finally:
        service.close()


async def test_after_the_first_load_of_the_samples_the_cursor_is_on_the_first_story(
    tmp_path: Path, config: Config
) -> None:
    service = make_service(tmp_path / "fresh.sqlite3")
    service.fetcher.close()
    from tuinews.core.fetch import Fetcher

    service.fetcher = Fetcher()  # the real fetcher: it serves the bundled samples offline
    try:
        app = TuinewsApp(service, config, first_run=True)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            await wait_for(pilot, lambda: screen.stories.count >= 30, timeout=60)
            await settle(app, pilot)
            stories = screen.stories
            assert stories.cursor == 0
            newest = service.list_stories(limit=1)[0]
            assert stories.current_story.id == newest.id  # type: ignore[union-attr]
            assert stories.scroll_y == 0
    finally:
        service.close()


def test_layout_row_keeps_columns_and_the_suffix_for_folded_rows() -> None:
    """The row renderer H13's event folding builds on: a suffix ("+2 sources") is never cut,
    a child row (indented) keeps the source and age columns where its parent has them."""
    from tuinews.ui.widgets.story_list import StoryRow, layout_row

    title = "Harbour committee votes to repair the north breakwater before winter storms"
    parent = StoryRow(title, "The Harbour Herald", "3h", unread=True, suffix="+2 sources")
    child = StoryRow(title, "Valley Courier", "5h", indent=2)
    top = [line.plain for line in layout_row(parent, 40)]
    sub = [line.plain for line in layout_row(child, 40)]
    assert all(len(line) == 40 for line in top + sub)
    assert "+2 sources" in top[1] and top[1].endswith("3h")
    assert top[1].index("The Harb") == sub[1].index("Valley C")
    assert sub[0].startswith("  ") and sub[1].endswith("5h")
