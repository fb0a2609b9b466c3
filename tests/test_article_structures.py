"""The structures readers rely on survive the real pipeline: a page we wrote, shaped like a news
site, served on 127.0.0.1, fetched, extracted in a worker, stored, then read back through the
service, ``tuinews read``, the export and the article pane.

Quotes (issue 17 item 2) must stay quotes; lists, tables, code, figure captions and headings
must stay what they are; the page's title must not open the body a second time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from markdown_it import MarkdownIt
from textual.widgets import Markdown
from textual.widgets._markdown import (
    MarkdownBlockQuote,
    MarkdownBulletList,
    MarkdownFence,
    MarkdownH2,
    MarkdownOrderedList,
    MarkdownTable,
)

from tests.loopback import LoopbackServer, Route, rss
from tests.test_cli import run
from tests.ui.conftest import main_screen, make_service, settle, wait_for
from tuinews.config import load_config
from tuinews.core.export import export_markdown
from tuinews.core.store import StoryFilter
from tuinews.ui.app import TuinewsApp

TITLE = "Harbour board approves the Kessing breakwater after a long night"
QUOTE = "We have waited eleven winters for this wall, and we will not wait a twelfth"
CAPTION = "The old breakwater at low tide, photographed from the ferry pier"

PAGE = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE} | The Harbour Herald</title>
<meta property="og:site_name" content="The Harbour Herald">
<meta name="author" content="Ines Marlow">
</head><body>
<header class="site-header"><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article>
<h1>{TITLE}</h1>
<p class="byline">By Ines Marlow</p>
<p>The harbour board voted seven to two in the early hours of Thursday to build a new
breakwater at Kessing, ending a dispute that has divided the town since the storms of 2015.</p>
<blockquote><p>{QUOTE},</p><p>said the chair of the fishermen's association.</p></blockquote>
<p>The board's engineers said the work would take three summers and would close the outer
quay for part of each year, and that the cost would be shared with the county.</p>
<figure><img src="/img/breakwater.jpg" alt="The breakwater"><figcaption>{CAPTION}</figcaption>
</figure>
<h2>What the plan includes</h2>
<ul><li>A rock armour wall of 340 metres</li><li>A new slipway for the lifeboat
    <ul><li>with a winch house</li></ul></li></ul>
<ol><li>Survey work this winter</li><li>Quarrying in the spring</li></ol>
<table><tr><th>Phase</th><th>Cost</th></tr><tr><td>Wall</td><td>4.1 million</td></tr>
<tr><td>Slipway</td><td>0.6 million</td></tr></table>
<p>The board published the tide model it used, a short script that anyone can run:</p>
<pre><code>for tide in tides:
    print(tide.height)</code></pre>
<p>Objectors said they would ask the county to review the decision before the first stone
is laid, and that the vote had been held too late at night for residents to attend.</p>
</article></main>
<footer>Copyright The Harbour Herald</footer>
</body></html>"""


def serve_page(server: LoopbackServer) -> str:
    server.routes["/news/breakwater"] = Route(
        PAGE.encode(), content_type="text/html; charset=utf-8"
    )
    server.routes["/img/breakwater.jpg"] = Route(b"\xff\xd8\xff", content_type="image/jpeg")
    link = server.url("/news/breakwater")
    server.routes["/feed.xml"] = Route(
        rss("The Harbour Herald", [("g1", TITLE, link)], link=server.url("/"))
    )
    return link


def check_structures(markdown: str, server: LoopbackServer) -> None:
    """The Markdown keeps each structure as the block it was on the page."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    types = [t.type for t in tokens]
    assert "blockquote_open" in types
    # The quote's words are inside the quote, not in a plain paragraph.
    inside = 0
    depth = 0
    for token in tokens:
        depth += token.type == "blockquote_open"
        depth -= token.type == "blockquote_close"
        if token.type == "inline" and "eleven winters" in token.content:
            inside = depth
    assert inside == 1
    assert types.count("bullet_list_open") == 2  # the nested list is a list too
    assert "ordered_list_open" in types
    assert "table_open" in types and "th_open" in types
    assert any(t.type == "fence" and "print(tide.height)" in t.content for t in tokens)
    assert any(t.type == "heading_open" and t.tag == "h2" for t in tokens)
    assert CAPTION in markdown
    # Images are links resolved against the page, so the export works outside the app.
    assert f"![The breakwater]({server.url('/img/breakwater.jpg')})" in markdown
    # The page's <h1> is the title: shown by the header, never at the top of the body.
    assert TITLE not in markdown
    assert not any(t.type == "heading_open" and t.tag == "h1" for t in tokens)
    assert "Home" not in markdown and "Copyright" not in markdown


def test_structures_survive_fetch_extract_store(tmp_path: Path, server: LoopbackServer) -> None:
    serve_page(server)
    service = make_service(tmp_path / "cache.sqlite3")
    try:
        service.add_feed(server.url("/feed.xml"))
        story = service.list_stories(StoryFilter(), limit=1)[0]
        article = service.fetch_article(story.id)
        assert article.error is None
        check_structures(article.markdown, server)
        assert article.title == TITLE  # " | The Harbour Herald" removed
        assert article.author == "Ines Marlow"
        # Stored: the same Markdown comes back from the cache, offline.
        check_structures(service.cached_article(story.id).markdown, server)  # type: ignore[union-attr]
    finally:
        service.close()


def test_structures_in_tuinews_read_and_export(tmp_path: Path, server: LoopbackServer) -> None:
    serve_page(server)
    data = tmp_path / "data"
    run(data, "add", server.url("/feed.xml"))
    story = json.loads(run(data, "list", "--json").stdout)[0]
    text = run(data, "read", str(story["id"])).stdout
    check_structures(_body(text), server)
    assert text.count(TITLE) == 1
    out = tmp_path / "out"
    path = Path(run(data, "export", str(story["id"]), "-o", str(out), "--offline").stdout.strip())
    exported = path.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    check_structures(_body(exported), server)
    assert exported.count(TITLE) == 1


def _body(document: str) -> str:
    """The article's text in a ``read``/export document: after our own title, byline and
    "Original:" lines, before the related list."""
    if "\nOriginal: " in document:
        after = document.split("\nOriginal: ", 1)[1].split("\n", 1)[1]
    else:  # `tuinews read`: "# title", then "*byline*"
        after = document.split("\n*", 1)[1].split("\n", 1)[1]
    return after.split("\n## Related\n", 1)[0]


async def test_article_pane_shows_quote_list_table_code(
    tmp_path: Path, server: LoopbackServer
) -> None:
    serve_page(server)
    service = make_service(tmp_path / "cache.sqlite3")
    service.add_feed(server.url("/feed.xml"))
    app = TuinewsApp(service, load_config(data_dir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = main_screen(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.article.state is not None)
        await settle(app, pilot)
        body = screen.query_one("#article-body", Markdown)
        quotes = list(body.query(MarkdownBlockQuote))
        assert len(quotes) == 1
        assert "eleven winters" in _text(quotes[0])
        assert body.query(MarkdownBulletList) and body.query(MarkdownOrderedList)
        assert body.query(MarkdownTable) and body.query(MarkdownFence)
        assert [_text(h) for h in body.query(MarkdownH2)] == ["What the plan includes"]
    service.close()


def _text(widget: object) -> str:
    """The words a Markdown block shows (its source text, as the user reads it)."""
    from textual.widgets._markdown import MarkdownBlock

    assert isinstance(widget, MarkdownBlock)
    parts = [str(getattr(widget, "_content", ""))]
    parts += [str(getattr(child, "_content", "")) for child in widget.query(MarkdownBlock)]
    return " ".join(parts)


def test_title_shown_once_when_the_feed_title_is_the_pages_h1(
    tmp_path: Path, server: LoopbackServer
) -> None:
    # The page declares another title (og:title) than its <h1>, and the feed uses the <h1>:
    # extraction keeps the <h1> (it is not the page's title), the service drops it.
    h1 = "Lifeboat crew rescue two from the Kessing sands at dawn"
    page = PAGE.replace(f"<h1>{TITLE}</h1>", f"<h1>{h1}</h1>").replace(
        "<meta name=", f'<meta property="og:title" content="{TITLE} (updated)"><meta name=', 1
    )
    server.routes["/news/lifeboat"] = Route(page.encode(), content_type="text/html")
    link = server.url("/news/lifeboat")
    server.routes["/feed.xml"] = Route(rss("Herald", [("g2", h1, link)], link=server.url("/")))
    service = make_service(tmp_path / "cache.sqlite3")
    try:
        service.add_feed(server.url("/feed.xml"))
        story = service.list_stories(StoryFilter(), limit=1)[0]
        article = service.fetch_article(story.id)
        stored = service.store.article(story.id)
        assert stored is not None and h1 in stored.markdown  # the page's text, as stored
        assert article.title == h1
        assert h1 not in article.markdown  # what the pane, `read` and the export show
        assert "eleven winters" in article.markdown
    finally:
        service.close()


def test_feed_title_first_with_the_site_suffix_removed(
    tmp_path: Path, server: LoopbackServer
) -> None:
    link = serve_page(server)
    server.routes["/feed.xml"] = Route(
        rss("The Harbour Herald", [("g3", f"{TITLE} | The Harbour Herald", link)])
    )
    service = make_service(tmp_path / "cache.sqlite3")
    try:
        service.add_feed(server.url("/feed.xml"))
        story = service.list_stories(StoryFilter(), limit=1)[0]
        article = service.fetch_article(story.id)
        assert article.title == TITLE
        exported = export_markdown(story, article, [], exported_at=datetime.now(UTC))
        assert f'title: "{TITLE}"' in exported and f"# {TITLE}\n" in exported
    finally:
        service.close()
