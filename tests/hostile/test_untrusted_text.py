"""Untrusted text in every CLI output: escapes stripped, markup shown literally, bad links unused.

Titles, authors, bodies and feed names carry ANSI/OSC escape sequences (colours, cursor moves,
OSC 52 clipboard writes, OSC 8 links), C0 and C1 controls, bidi overrides, zero-width characters
and Rich/Textual markup. They come in through a JSON Feed (which can carry any control as
``\\u001b``), an RSS feed (numeric character references) and an article page, and are checked in
the output of ``add``, ``refresh``, ``list``, ``feeds``, ``read``, ``related`` (text and JSON) and
in exported files. ``tests/test_cli.py::test_hostile_titles_are_printed_clean`` covers ``list``
with one title; ``tests/core/test_export.py`` the export renderer alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.hostile.faults import TALLY, HostileServer, cli
from tests.loopback import Route
from tuinews.core.errors import FetchError
from tuinews.core.fetch import check_url
from tuinews.core.text import clean_text, is_safe_url

ESCAPES = {
    "sgr": "\x1b[31;1mRED\x1b[0m",
    "cursor": "\x1b[2J\x1b[H\x1b[10A\x1b[?25l",
    "osc52": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "osc52-st": "\x1b]52;p;ZWNobyBwd25lZA==\x1b\\",
    "osc8": "\x1b]8;;http://evil.invalid/\x1b\\click\x1b]8;;\x1b\\",
    "title-set": "\x1b]0;pwned\x07",
    "c1-csi": "\x9b31m",
    "c1-osc": "\x9d0;x\x9c",
    "dcs": "\x1bPq#0;2;0;0;0\x1b\\",
    "c0": "a\x01b\x08c\x7fd\x0b",
    "bidi": "\u202eevil\u202c \u2066iso\u2069",
    "zero-width": "z\u200bw\u200cs\u2060p\ufeff",
}
# An OSC without its terminator: the sequence (up to the first space) goes, the text after it
# stays (issue 15: it used to swallow the rest of the title).
UNTERMINATED = "\x1b]52;c;QUFBQQ== still shown"
MARKUP = "[bold]B[/bold] [@click=app.quit]Q[/] [link=file:///etc/passwd]L[/link]"
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff]"
)


def hostile(label: str) -> str:
    return f"{label} " + " ".join(ESCAPES.values()) + f" {MARKUP} {UNTERMINATED}"


def _check_clean(where: str, text: str) -> None:
    bad = FORBIDDEN.search(text)
    assert bad is None, (where, repr(text[max(0, bad.start() - 40) : bad.end() + 40]))
    assert "pwned" not in text and "evil.invalid" not in text, where
    assert "QUFBQQ" not in text, where


def _json_feed(server: HostileServer) -> bytes:
    para = (
        "The harbour committee met on Tuesday to discuss the breakwater and the ferry timetable. "
    )
    items = [
        {
            "id": "j1",
            "url": server.url("/page"),
            "title": hostile("Title"),
            "authors": [{"name": hostile("Author")}],
            "content_html": f"<p>{hostile('Body')}</p>" + f"<p>{para * 3}</p>" * 3,
            "summary": hostile("Summary"),
            "date_published": "2026-06-01T10:00:00Z",
        },
        {"id": "j2", "url": "javascript:fetch('http://evil.invalid/')", "title": "JS link"},
        {"id": "j3", "url": "file:///etc/passwd", "title": "File link"},
        {"id": "j4", "url": "data:text/html,<script>alert(1)</script>", "title": "Data link"},
        {
            "id": "j5",
            "url": server.url("/page2"),
            "title": "Harbour committee breakwater",
            "summary": "The harbour committee and the breakwater again.",
        },
    ]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": hostile("Feed"), "items": items}
    ).encode()


def _rss_feed(server: HostileServer) -> bytes:
    def refs(text: str) -> str:
        out = text.replace("&", "&amp;").replace("<", "&lt;")
        return "".join(
            f"&#{ord(c)};" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else c for c in out
        )

    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{refs(hostile('RssFeed'))}</title>"
        f"<item><guid>r1</guid><title>{refs(hostile('RssTitle'))}</title>"
        f"<author>{refs(hostile('RssAuthor'))}</author>"
        f"<link>{server.url('/page')}</link>"
        f"<description>{refs(hostile('RssBody'))}</description></item>"
        "</channel></rss>"
    ).encode()


def _page() -> bytes:
    body = "".join(
        f"<p>{hostile(f'Para{i}')} The harbour committee met on Tuesday to discuss the "
        "breakwater, the ferry timetable and the fish market lease.</p>"
        for i in range(6)
    )
    links = (
        '<aside><h2>Related</h2><ul><li><a href="javascript:alert(1)">Bad related</a></li>'
        '<li><a href="/2026/06/harbour-news">Harbour news</a></li></ul></aside>'
    )
    return (
        f"<html><head><title>{hostile('PageTitle')}</title></head><body><article>"
        f"<h1>{hostile('Heading')}</h1>{body}</article>{links}</body></html>"
    ).encode()


def test_cli_output_and_exports_are_clean_and_literal(
    tmp_path: Path, hostile: HostileServer
) -> None:
    hostile.routes["/feed.json"] = Route(_json_feed(hostile), content_type="application/feed+json")
    hostile.routes["/feed.rss"] = Route(_rss_feed(hostile))
    hostile.routes["/page"] = Route(_page(), content_type="text/html; charset=utf-8")
    data = tmp_path / "data"
    outputs: dict[str, str] = {}
    outputs["add-json"] = cli(data, "add", hostile.url("/feed.json")).stdout
    outputs["add-rss"] = cli(data, "add", hostile.url("/feed.rss")).stdout
    proc = cli(data, "refresh")
    outputs["refresh"] = proc.stdout + proc.stderr
    outputs["list"] = cli(data, "list").stdout
    outputs["list-json"] = cli(data, "list", "--json").stdout
    outputs["feeds"] = cli(data, "feeds").stdout
    outputs["feeds-json"] = cli(data, "feeds", "--json").stdout
    stories = json.loads(outputs["list-json"])
    by_guid_title = {s["title"].split(" ")[0]: s for s in stories}
    main_id = str(by_guid_title["Title"]["id"])
    rss_id = str(by_guid_title["RssTitle"]["id"])
    outputs["read"] = cli(data, "read", main_id).stdout
    outputs["read-rss"] = cli(data, "read", rss_id).stdout
    outputs["related"] = cli(data, "related", main_id).stdout
    outputs["related-json"] = cli(data, "related", main_id, "--json").stdout
    export_dir = tmp_path / "export"
    outputs["export"] = cli(data, "export", main_id, rss_id, "-o", str(export_dir)).stdout
    files = sorted(export_dir.glob("*.md"))
    assert len(files) == 2
    for f in files:
        outputs[f"file:{f.name}"] = f.read_text(encoding="utf-8")
        assert f.name.isascii() and FORBIDDEN.search(f.name) is None

    for where, text in outputs.items():
        _check_clean(where, text)
    # Markup is shown literally: the brackets reach the terminal as text.
    for where in ("list", "feeds", "read", "read-rss"):
        assert "[bold]B[/bold]" in outputs[where], (where, outputs[where][:500])
        assert "[@click=app.quit]Q[/]" in outputs[where], where
    assert "[bold]B[/bold]" in outputs["add-json"]
    for s in stories:
        _check_clean("list-json value", json.dumps(s, ensure_ascii=False))
    # The visible words survive the cleaning.
    assert "RED" in outputs["list"] and "click" in outputs["list"]
    # In Markdown exports, markup is escaped so a renderer shows it as typed.
    exported = outputs[f"file:{files[0].name}"] + outputs[f"file:{files[1].name}"]
    assert re.sub(r"\\(.)", r"\1", exported).count("[bold]B[/bold]") >= 2
    # Unsafe links were dropped, never stored, fetched or exported as links.
    links = [s["link"] for s in stories]
    assert not any(link and not is_safe_url(link) for link in links)
    for guid_title in ("JS", "File", "Data"):
        assert by_guid_title[guid_title]["link"] is None
    assert not re.search(r"\]\(<?\s*(?:javascript|file|data|vbscript):", exported, re.I), exported
    assert "javascript:" not in exported.lower()
    assert set(hostile.hits) <= {"/feed.json", "/feed.rss", "/page", "/page2"}
    TALLY.add("untrusted-text", inputs=len(ESCAPES) + 2, crashes=0)


def test_unsafe_link_story_is_never_fetched(tmp_path: Path, hostile: HostileServer) -> None:
    hostile.routes["/feed.json"] = Route(_json_feed(hostile), content_type="application/feed+json")
    data = tmp_path / "data"
    cli(data, "add", hostile.url("/feed.json"))
    stories = json.loads(cli(data, "list", "--json").stdout)
    js = next(s for s in stories if s["title"] == "JS link")
    before = dict(hostile.hits)
    out = cli(data, "read", str(js["id"])).stdout
    assert "no link" in out
    assert dict(hostile.hits) == before
    TALLY.add("untrusted-text", inputs=1)


UNSAFE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "\x00javascript:x",
    "java\tscript:alert(1)",
    "\u202ejavascript:x",
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "data:text/html,<script>",
    "vbscript:msgbox",
    "ftp://127.0.0.1/x",
    "//127.0.0.1/x",
    "about:blank",
    "\x1b]8;;file:///etc/passwd\x07",
    "",
    "   ",
    "http:",
    "https://",
]


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError):
        check_url(url)
    if url != "https://":  # a scheme with no host: is_safe_url only looks at the scheme
        assert not is_safe_url(url)


def test_clean_text_strips_every_escape_and_keeps_markup() -> None:
    for name, seq in ESCAPES.items():
        out = clean_text(f"x {seq} y {MARKUP}")
        assert FORBIDDEN.search(out) is None, (name, out)
        assert MARKUP in out, name
    TALLY.add("untrusted-text", inputs=len(ESCAPES))


def test_unterminated_sequences_keep_the_text_after_them() -> None:
    assert clean_text(f"Harbour {UNTERMINATED} today") == "Harbour still shown today"
    assert clean_text("Tide \x1b]8;;http://evil.invalid/ tables") == "Tide tables"
    assert clean_text("Ferry \x1bPq#0;2;0 times") == "Ferry times"
    assert clean_text("Late \x9d0;pwned") == "Late"
    # A terminated sequence still goes whole, spaces and all.
    assert clean_text("a \x1b]0;pwned title\x07b") == "a b"
