"""Tests for tuinews.core.markdown: trafilatura's tree -> Markdown, HTML -> that tree."""

from __future__ import annotations

import lxml.html
from lxml import etree
from markdown_it import MarkdownIt

from tuinews.core.markdown import (
    html_to_tree,
    image_urls,
    render_markdown,
    with_lead_image,
)
from tuinews.core.text import drop_leading_title

BASE = "https://news.example/2026/11/story"


def tree(xml: str) -> etree._Element:
    return etree.fromstring(f"<body>{xml}</body>")


def tokens(markdown: str) -> list[str]:
    return [t.type for t in MarkdownIt("commonmark").enable("table").parse(markdown)]


def test_page_indentation_never_becomes_a_code_block() -> None:
    md = render_markdown(
        tree("<list rend='ul'><item>\n            <head rend='h2'>WebIDE</head> Develop apps"
             "\n          </item></list>")
    )  # fmt: skip
    assert "code_block" not in tokens(md)
    assert md.startswith("- ")


def test_nested_quotes_and_lists() -> None:
    md = render_markdown(
        tree(
            "<quote><p>Outer words here.</p><quote><p>Inner words.</p></quote></quote>"
            "<list rend='ol'><item>One</item><item>Two<list rend='ul'><item>Sub</item></list>"
            "</item></list>"
        )
    )
    assert "> Outer words here.\n>\n> > Inner words." in md
    assert "1. One\n2. Two\n   - Sub" in md
    assert tokens(md).count("blockquote_open") == 2


def test_links_resolved_and_unsafe_ones_dropped() -> None:
    md = render_markdown(
        tree(
            "<p>See <ref target='/plans'>the plans</ref>, "
            "<ref target='javascript:alert(1)'>this</ref> and "
            "<ref target='https://x.example/a (b)'>that</ref>.</p>"
        ),
        BASE,
    )
    assert "[the plans](https://news.example/plans)" in md
    assert "javascript" not in md and "this" in md
    assert "[that](<https://x.example/a%20(b)>)" in md


def test_page_text_with_markdown_characters_shows_as_written() -> None:
    md = render_markdown(
        tree(
            "<p>5 * 3 * 2 = 30 and [not a link](x) <hi rend='#b'>bold</hi></p><p># not a heading</p>"
        )
    )
    rendered = MarkdownIt("commonmark").render(md)
    assert "<em>" not in rendered and "<a " not in rendered and "<h1>" not in rendered
    assert "<strong>bold</strong>" in rendered
    assert "5 * 3 * 2" in rendered


def test_code_with_backtick_fences_and_tables() -> None:
    md = render_markdown(
        tree(
            "<code>```\nnot the end\n```</code><table><row><cell role='head'>A|B</cell>"
            "<cell role='head'>C</cell></row><row><cell>1</cell><cell>2<lb/>3</cell></row></table>"
        )
    )
    assert md.startswith("````\n```\nnot the end\n```\n````")
    assert "| A\\|B | C |" in md and "| 1 | 2 3 |" in md
    assert "table_open" in tokens(md)


def test_one_column_layout_table_is_paragraphs() -> None:
    md = render_markdown(
        tree("<table><row><cell>First box.</cell></row><row><cell>Second.</cell></row></table>")
    )
    assert md == "First box.\n\nSecond."


def test_html_to_tree_renders_like_trafilatura() -> None:
    html = lxml.html.fragment_fromstring(
        "<div><h2>Sub</h2><p>Text <a href='/a'>link</a> <em>it</em></p><blockquote>Quote"
        "</blockquote><ul><li>x</li></ul><pre>code  kept</pre><img src='/i.png' alt='I'>"
        "<script>bad()</script></div>"
    )
    md = render_markdown(html_to_tree(html), BASE)
    assert md.splitlines()[0] == "## Sub"
    assert "Text [link](https://news.example/a) *it*" in md
    assert "> Quote" in md and "- x" in md and "```\ncode  kept\n```" in md
    assert "![I](https://news.example/i.png)" in md and "bad()" not in md


def test_images_and_lead_image() -> None:
    md = "Text\n\n![a](https://x.example/1.png)\n\n![b](<https://x.example/2 (1).png>)"
    assert image_urls(md) == ["https://x.example/1.png", "https://x.example/2 (1).png"]
    assert with_lead_image(md, "https://x.example/1.png") == md  # already in the body
    lead = with_lead_image(md, "https://x.example/lead.jpg", "The [lead]")
    assert lead.startswith("![The \\[lead\\]](https://x.example/lead.jpg)\n\nText")
    assert with_lead_image(md, "javascript:x") == md


def test_drop_leading_title() -> None:
    md = "![](https://x.example/l.jpg)\n\nKicker\n\n# Ferry fares rise\n\nBody text."
    assert drop_leading_title(md, "Ferry fares rise") == (
        "![](https://x.example/l.jpg)\n\nKicker\n\nBody text."
    )
    long_first = " ".join(["word"] * 30) + "\n\n# Ferry fares rise\n\nMore."
    assert drop_leading_title(long_first, "Ferry fares rise") == long_first  # a section title
    assert drop_leading_title("# Other\n\nBody", "Ferry fares rise") == "# Other\n\nBody"
