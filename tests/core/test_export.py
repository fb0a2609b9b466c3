"""Tests for tuinews.core.export: Markdown + front matter, file names, safe atomic writes."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tuinews.core.errors import ExportError
from tuinews.core.export import (
    MAX_FILENAME_CHARS,
    escape_markdown,
    export_filename,
    export_markdown,
    write_export,
)
from tuinews.core.models import Article, RelatedStory, Story

EXPORTED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def make_story(**changes: Any) -> Story:
    values: dict[str, Any] = {
        "id": 7,
        "feed_id": 1,
        "feed_title": "The Harbour Herald",
        "guid": "hh-7",
        "link": "https://www.harbour-herald.example/2026/11/kessing-bridge-closure",
        "title": "Kessing Bridge to close for six weeks of repairs",
        "author": "Mara Lindqvist",
        "published": PUBLISHED,
        "summary": "The bridge will close from Monday.",
        "starred": True,
    }
    values.update(changes)
    return Story(**values)


def make_article(**changes: Any) -> Article:
    values: dict[str, Any] = {
        "story_id": 7,
        "url": "https://www.harbour-herald.example/2026/11/kessing-bridge-closure",
        "markdown": "The bridge will close.\n\n## Detours\n\nUse the [ferry](https://ferry.example/).",
        "title": "Kessing Bridge to close",
        "site_name": "The Harbour Herald",
        "published": PUBLISHED,
    }
    values.update(changes)
    return Article(**values)


RELATED = [
    RelatedStory(
        group="same",
        title="Bridge closure: traders fear lost trade",
        url="https://civic-ledger.example/2026/11/brannock-traders-bridge-shutdown",
        story_id=12,
        source="The Civic Ledger",
        published=datetime(2026, 11, 19, tzinfo=UTC),
    ),
    RelatedStory(
        group="page",
        title="Ferry timetable extended",
        url="https://northline.example/2026/11/ferry-timetable",
        story_id=None,
        published_text="2 hours ago",
    ),
]


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split off the front matter and read it (our values are JSON scalars, a YAML subset)."""
    assert text.startswith("---\n")
    end = text.index("\n---\n", 4)
    fields: dict[str, Any] = {}
    for line in text[4:end].splitlines():
        key, _, value = line.partition(": ")
        assert re.fullmatch(r"[a-z_]+", key), line
        fields[key] = json.loads(value)  # null/true/false/"strings" are JSON and YAML alike
    return fields, text[end + 5 :]


def tokens(body: str) -> list[Token]:
    return MarkdownIt("commonmark").parse(body)


def links(body: str) -> list[tuple[str, str]]:
    found = []
    for tok in tokens(body):
        children = tok.children or []
        for i, child in enumerate(children):
            if child.type == "link_open":
                text = ""
                for nxt in children[i + 1 :]:
                    if nxt.type == "link_close":
                        break
                    text += nxt.content
                found.append((text, str(child.attrGet("href"))))
    return found


def heading_texts(body: str, tag: str) -> list[str]:
    toks = tokens(body)
    return [
        toks[i + 1].content for i, t in enumerate(toks) if t.type == "heading_open" and t.tag == tag
    ]


def test_export_front_matter_and_structure() -> None:
    text = export_markdown(make_story(), make_article(), RELATED, exported_at=EXPORTED)
    meta, body = parse_front_matter(text)
    assert meta == {
        "title": "Kessing Bridge to close for six weeks of repairs",
        "author": "Mara Lindqvist",
        "published": "2026-11-20T08:30:00Z",
        "site": "The Harbour Herald",
        "url": "https://www.harbour-herald.example/2026/11/kessing-bridge-closure",
        "feed": "The Harbour Herald",
        "starred": True,
        "exported_at": "2026-11-21T09:00:00Z",
    }
    assert heading_texts(body, "h1") == ["Kessing Bridge to close for six weeks of repairs"]
    assert "*By Mara Lindqvist · The Harbour Herald · 20 November 2026*" in body
    assert heading_texts(body, "h2") == ["Detours", "Related"]
    assert ("ferry", "https://ferry.example/") in links(body)
    related_part = body.split("## Related", 1)[1]
    assert links(related_part) == [
        (
            "Bridge closure: traders fear lost trade",
            "https://civic-ledger.example/2026/11/brannock-traders-bridge-shutdown",
        ),
        ("Ferry timetable extended", "https://northline.example/2026/11/ferry-timetable"),
    ]
    assert "(The Civic Ledger, 19 November 2026)" in related_part
    assert "(2 hours ago)" in related_part
    assert text.endswith("\n")


def test_export_without_article_uses_summary_with_note() -> None:
    text = export_markdown(make_story(), None, [], exported_at=EXPORTED)
    meta, body = parse_front_matter(text)
    assert "Full text not available" in body
    assert "The bridge will close from Monday." in body
    assert "## Related" not in body
    assert meta["site"] is None


def test_export_failed_article_says_why() -> None:
    article = make_article(markdown="", error="extraction took longer than 20 s")
    _, body = parse_front_matter(export_markdown(make_story(), article, [], exported_at=EXPORTED))
    assert "Full text not available" in body and "took longer than 20 s" in body


def test_export_missing_fields() -> None:
    story = make_story(title="", author=None, published=None, link=None, starred=False)
    meta, body = parse_front_matter(export_markdown(story, None, [], exported_at=EXPORTED))
    assert meta["title"] == "Untitled" and meta["author"] is None and meta["published"] is None
    assert meta["url"] is None and meta["starred"] is False
    assert heading_texts(body, "h1") == ["Untitled"]


HOSTILE_TITLES = [
    'He said "no": the end',
    "Title: with colon # and hash",
    "line one\nline two\r\n---\nfake: front matter",
    "---",
    "[click me](javascript:alert(1)) ![img](http://evil.example/x.png)",
    "<script>alert(1)</script> <b>bold</b> &amp; entity",
    "*emphasis* _under_ `code` ~~strike~~ \\backslash",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \x1b[31mred\x1b[0m \x9b2J",
    "rtl \u202eevil\u202c zero\u200bwidth",
    "'single' and \\\"escaped\\\" quotes \\n not a newline",
    "emoji 🚀 and ünïcödé 東京",
    "trailing hashes ##",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_export_hostile_titles(title: str) -> None:
    related = [
        RelatedStory(group="page", title=title, url="https://a.example/2026/x", story_id=None)
    ]
    story = make_story(title=title, author=title, feed_title=title)
    text = export_markdown(story, make_article(site_name=title), related, exported_at=EXPORTED)
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "\u202e" not in text and "\u200b" not in text
    meta, body = parse_front_matter(text)
    # The front matter holds exactly our keys and the title survives as plain text.
    assert set(meta) == {
        "title",
        "author",
        "published",
        "site",
        "url",
        "feed",
        "starred",
        "exported_at",
    }
    expected_title = " ".join(
        re.sub(r"\x1b\][^\x07]*\x07|\x1b\[[0-9;]*m|\x9b2J|[\u202e\u202c\u200b]", "", title).split()
    )
    assert meta["title"] == expected_title
    # One H1, whose rendered text is the title, literally: no link, image or HTML from it.
    toks = tokens(body)
    h1 = [toks[i + 1] for i, t in enumerate(toks) if t.type == "heading_open" and t.tag == "h1"]
    assert len(h1) == 1
    inline = h1[0].children or []
    assert {c.type for c in inline} <= {"text", "softbreak"}
    assert "".join(c.content for c in inline) == expected_title
    # Only the links we made: the article's own, the original URL and the related item.
    hrefs = [href for _, href in links(body)]
    assert hrefs == [
        "https://www.harbour-herald.example/2026/11/kessing-bridge-closure",
        "https://ferry.example/",
        "https://a.example/2026/x",
    ]
    html = MarkdownIt("commonmark").render(body)
    assert "<script" not in html and "<b>" not in html and "<img" not in html


def test_escape_markdown_round_trips_as_text() -> None:
    raw = "a*b_c`d[e](f)<g>&h!i#j|k~l\\m"
    rendered = MarkdownIt("commonmark").renderInline(escape_markdown(raw))
    assert rendered == "a*b_c`d[e](f)&lt;g&gt;&amp;h!i#j|k~l\\m"


def test_unsafe_related_urls_are_not_links() -> None:
    related = [RelatedStory(group="page", title="Bad", url="javascript:alert(1)", story_id=None)]
    _, body = parse_front_matter(export_markdown(make_story(), None, related, exported_at=EXPORTED))
    assert "javascript:" not in body
    assert "- Bad" in body


# ------------------------------------------------------------------------------------------
# export_filename
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "published", "expected"),
    [
        (
            "Kessing Bridge to close for six weeks!",
            PUBLISHED,
            "2026-11-20-kessing-bridge-to-close-for-six-weeks.md",
        ),
        ("Café crème à l'École", None, "undated-cafe-creme-a-l-ecole.md"),
        ("東京", PUBLISHED, "2026-11-20-untitled.md"),
        ("", PUBLISHED, "2026-11-20-untitled.md"),
        ("../../etc/passwd", PUBLISHED, "2026-11-20-etc-passwd.md"),
        ("CON", PUBLISHED, "2026-11-20-con.md"),
        ("\x1b[31mred\x1b[0m title", PUBLISHED, "2026-11-20-red-title.md"),
    ],
)
def test_export_filename(title: str, published: datetime | None, expected: str) -> None:
    assert export_filename(make_story(title=title, published=published), None) == expected


def test_export_filename_long_title_and_article_date() -> None:
    name = export_filename(make_story(title="word " * 100, published=None), make_article())
    assert name.startswith("2026-11-20-word-word")
    slug = name[len("2026-11-20-") : -len(".md")]
    assert len(slug) <= 80 and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug)


def test_export_filename_uses_utc_day() -> None:
    from datetime import timedelta, timezone

    late = datetime(2026, 11, 20, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert export_filename(make_story(published=late), None).startswith("2026-11-21-")


# ------------------------------------------------------------------------------------------
# write_export
# ------------------------------------------------------------------------------------------


def test_write_export_creates_directory_and_file(tmp_path: Path) -> None:
    directory = tmp_path / "exports" / "nested"
    path = write_export("hello\n", directory, "2026-11-20-story.md")
    assert path == directory / "2026-11-20-story.md"
    assert path.read_text(encoding="utf-8") == "hello\n"
    assert [p.name for p in directory.iterdir()] == ["2026-11-20-story.md"]  # no temp left


def test_write_export_refuses_overwrite_without_force(tmp_path: Path) -> None:
    write_export("first\n", tmp_path, "a.md")
    with pytest.raises(ExportError, match="exists; use --force to overwrite"):
        write_export("second\n", tmp_path, "a.md")
    assert (tmp_path / "a.md").read_text() == "first\n"
    write_export("second\n", tmp_path, "a.md", force=True)
    assert (tmp_path / "a.md").read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]


@pytest.mark.parametrize(
    "name",
    [
        "../escape.md",
        "sub/dir.md",
        "..",
        ".",
        "/etc/passwd",
        "a\x00b.md",
        "..\\evil.md",
        "CON",
        "con.md",
        "NUL.txt",
        "COM1.md",
        "lpt9",
        "C:evil.md",
        "",
        "bad\x1bname.md",
        "trailing.",
        "spaces ",
        "...",
    ],
)
def test_write_export_refuses_unsafe_names(tmp_path: Path, name: str) -> None:
    directory = tmp_path / "out"
    with pytest.raises(ExportError):
        write_export("x", directory, name)
    assert not (tmp_path / "escape.md").exists()
    assert not directory.exists() or list(directory.iterdir()) == []


def test_write_export_truncates_very_long_names(tmp_path: Path) -> None:
    path = write_export("x", tmp_path, "a" * 300 + ".md")
    assert path.parent == tmp_path
    assert path.name.endswith(".md")
    assert len(path.name.encode()) <= MAX_FILENAME_CHARS
    assert path.read_text() == "x"


def test_write_export_end_to_end(tmp_path: Path) -> None:
    story = make_story(title='../../Etc: "quoted" / CON')
    text = export_markdown(story, make_article(), RELATED, exported_at=EXPORTED)
    path = write_export(text, tmp_path, export_filename(story, make_article()))
    assert path.parent == tmp_path
    assert path.name == "2026-11-20-etc-quoted-con.md"
    meta, _ = parse_front_matter(path.read_text(encoding="utf-8"))
    assert meta["title"] == '../../Etc: "quoted" / CON'


def test_write_export_failure_is_export_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ExportError):
        write_export("x", blocker / "sub", "a.md")
    if os.name == "posix" and os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(ExportError):
            write_export("x", ro, "a.md")
