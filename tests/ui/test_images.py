"""Pilot tests: the article's images are fetched in the background from 127.0.0.1, kept with
the article, drawn inline under their paragraph, and not at all with ``images = false``."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image as PILImage
from textual.widgets import Markdown

from tests.loopback import LoopbackServer, Route, rss
from tests.ui.conftest import main_screen, make_service, settle, wait_for
from tuinews.config import load_config
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp

TEXT = (
    "The new lifeboat arrived at Kessing harbour on Saturday after a two-day passage from the "
    "yard, and the crew took her out for a first exercise in the bay that afternoon. "
)


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (64, 32), colour).save(out, "PNG")
    return out.getvalue()


def serve(server: LoopbackServer, *, slow_image: float = 0.0) -> None:
    body = (
        f"<p>First. {TEXT}</p><figure><img src='/img/boat.png' alt='The lifeboat'>"
        f"<figcaption>The lifeboat at her mooring</figcaption></figure><p>Second. {TEXT}</p>"
        f"<p>Third. {TEXT}</p><img src='/img/broken.png' alt='Broken'><p>Fourth. {TEXT}</p>"
    )
    page = (
        "<html lang='en'><head><title>Lifeboat</title>"
        "<meta property='og:image' content='/img/lead.png'></head>"
        f"<body><article><h1>Lifeboat</h1>{body}</article></body></html>"
    )
    server.routes["/news/lifeboat"] = Route(page.encode(), content_type="text/html")
    server.routes["/img/boat.png"] = Route(
        png((200, 40, 40)), content_type="image/png", delay=slow_image
    )
    server.routes["/img/lead.png"] = Route(png((40, 40, 200)), content_type="image/png")
    server.routes["/img/broken.png"] = Route(b"not a png", content_type="image/png")
    link = server.url("/news/lifeboat")
    server.routes["/feed.xml"] = Route(rss("Herald", [("g", "Lifeboat", link)]))


async def test_images_show_inline_and_stay_cached(tmp_path: Path, server: LoopbackServer) -> None:
    serve(server, slow_image=0.5)
    service = make_service(tmp_path / "cache.sqlite3")
    service.add_feed(server.url("/feed.xml"))
    app = TuinewsApp(service, load_config(data_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.article.state is not None)
        await wait_for(pilot, lambda: screen.article.state.source == "network")
        body = screen.query_one("#article-body", Markdown)
        # The text is there while the (slow) image is still on its way: never blocking.
        assert "Second." in body.source and not body.query(".article-image")
        await wait_for(pilot, lambda: len(body.query(".article-image")) == 2, timeout=10)
        images = list(body.query(".article-image"))
        # The lead image first (it opens the article), then the boat under its paragraph.
        assert images[0].tooltip.endswith("/img/lead.png")
        assert images[1].tooltip.endswith("/img/boat.png")
        children = list(body.children)
        boat = children.index(images[1])
        start, end = children[boat - 1].source_range  # the block just above it links it
        assert any("boat.png" in line for line in body.source.splitlines()[start:end])
        assert "Broken" in body.source  # an undecodable image stays a link in the text
        await settle(app, pilot)
    story = service.list_stories(StoryFilter(), limit=1)[0]
    kept = service.store.images(story.id)
    assert kept[server.url("/img/boat.png")][1] == png((200, 40, 40))
    assert server.hits["/img/boat.png"] == 1
    # Offline (the server answers nothing now): the images come from the cache.
    server.routes.clear()
    again = service.article_images(story.id, fetch=False)
    assert [u for u, _ in again][:2] == [server.url("/img/lead.png"), server.url("/img/boat.png")]
    service.close()


async def test_images_off_with_one_switch(tmp_path: Path, server: LoopbackServer) -> None:
    serve(server)
    (tmp_path / "config.toml").write_text("[reader]\nimages = false\n", encoding="utf-8")
    config = load_config(data_dir=tmp_path, config_file=str(tmp_path / "config.toml"))
    assert config.images is False
    service = make_service(tmp_path / "cache.sqlite3")
    service.add_feed(server.url("/feed.xml"))
    app = TuinewsApp(service, config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.article.state is not None)
        await settle(app, pilot)
        assert not screen.query(".article-image")
    assert server.hits["/img/boat.png"] == 0
    # The links stay in the text either way.
    story = service.list_stories(StoryFilter(), limit=1)[0]
    assert "/img/boat.png" in service.cached_article(story.id).markdown  # type: ignore[union-attr]
    service.close()
