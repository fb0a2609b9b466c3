"""Tests for tuinews.core.feeds: real corpora (when present) and our own nasty cases."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from tuinews.core import feeds as feeds_module
from tuinews.core.errors import ParseError
from tuinews.core.feeds import (
    MAX_ENTRIES,
    discover_feed_urls,
    looks_like_feed,
    parse_feed,
    parse_opml,
    write_opml,
)

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
FEEDS = DATA / "feeds"
OPML = DATA / "opml"
SAMPLES = REPO / "sample_articles"
URL = "https://example.com/blog/feed.xml"


def _need(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip("../shared/data is absent (a user's clone)")
    return path


def _feed_files() -> list[Path]:
    return sorted(p for p in _need(FEEDS).rglob("*") if p.is_file() and p.name != "LICENSE")


def rss(items: str, *, head: str = "", channel: str = "<title>T</title>") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<rss version="2.0" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>{channel}'
        f"{items}</channel></rss>"
    ).encode()


# --------------------------------------------------------------------------------------------
# Real corpora
# --------------------------------------------------------------------------------------------


def test_every_corpus_file_parses_or_raises_parse_error() -> None:
    files = _feed_files()
    failures: list[str] = []
    parsed = 0
    for path in files:
        try:
            result = parse_feed(path.read_bytes(), url="http://example.org/feed.xml")
        except ParseError as err:
            assert str(err), path
        except Exception as exc:  # noqa: BLE001 - collecting every failure is the point
            failures.append(f"{path.relative_to(FEEDS)}: {exc!r}")
        else:
            parsed += 1
            for entry in result.entries:
                if entry.link is not None and not entry.link.startswith(("http://", "https://")):
                    failures.append(f"{path.relative_to(FEEDS)}: unsafe link {entry.link!r}")
                if entry.published is not None and entry.published.tzinfo is None:
                    failures.append(f"{path.relative_to(FEEDS)}: naive date")
    assert not failures, "\n".join(failures[:30])
    assert parsed >= 0.99 * len(files) - 20


def test_real_feeds_agree_with_feedparser_on_entry_counts() -> None:
    files = sorted(
        p for p in (_need(FEEDS) / "real").rglob("*") if p.is_file() and p.name != "LICENSE"
    )
    assert len(files) > 50
    agree = 0
    disagree: list[str] = []
    for path in files:
        data = path.read_bytes()
        reference = len(feedparser.parse(data).entries)
        try:
            ours = len(parse_feed(data, url="http://example.org/feed.xml").entries)
        except ParseError:
            ours = 0
        if path.suffix == ".json" and reference == 0:
            agree += ours > 0  # feedparser does not read JSON Feed; we must
        elif ours == reference:
            agree += 1
        else:
            disagree.append(f"{path.name}: feedparser {reference}, ours {ours}")
    assert agree / len(files) >= 0.95, disagree


def test_opml_corpus_recovers_outlines() -> None:
    files = sorted(_need(OPML).rglob("*.opml"))
    assert len(files) > 100
    total = 0
    with_category = 0
    for path in files:
        outlines = parse_opml(path.read_bytes())
        total += len(outlines)
        with_category += sum(1 for o in outlines if o.category)
        assert all(o.xml_url.startswith(("http://", "https://")) for o in outlines), path
    assert total >= 1_500
    assert with_category > 500  # the with_category/ files nest outlines in a category outline


def test_sample_feeds_match_manifest() -> None:
    manifest_path = SAMPLES / "manifest.json"
    if not manifest_path.is_file():
        pytest.skip("sample_articles/manifest.json is not built yet (tools/build_samples.py)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    labels = json.loads((SAMPLES / "labels.json").read_text(encoding="utf-8"))
    stories = labels["stories"]
    assert manifest["feeds"]
    for feed in manifest["feeds"]:
        parsed = parse_feed((SAMPLES / feed["file"]).read_bytes(), url=feed["url"])
        expected = {s["url"] for s in stories.values() if s["site"] == feed["site"]}
        assert len(parsed.entries) == len(expected), feed["file"]
        assert {e.link for e in parsed.entries} == expected, feed["file"]
        assert all(e.title and e.published for e in parsed.entries), feed["file"]
    opml = parse_opml((SAMPLES / manifest["opml"]).read_bytes())
    assert {o.xml_url for o in opml} == {f["url"] for f in manifest["feeds"]}


# --------------------------------------------------------------------------------------------
# Not a feed
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"\xef\xbb\xbf"])
def test_empty_body_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_feed(body, url=URL)


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</p></body></html>",
        b"\n\n<html lang='en'><body>hello</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html><body/></html>',
    ],
)
def test_html_page_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="this looks like an HTML page, not a feed"):
        parse_feed(body, url=URL, content_type="text/html; charset=utf-8")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"\x00\x01\x02garbage\xff\xfe\x80", "not a feed"),
        (b"just some text", "not a feed"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "not a feed"),
        (b'{"name": "not a feed", "items": []}', "not a JSON Feed"),
        (b"[1, 2, 3]", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": ', "invalid"),
    ],
)
def test_garbage_is_a_parse_error(body: bytes, match: str) -> None:
    with pytest.raises(ParseError, match=match):
        parse_feed(body, url=URL)


def test_str_is_refused() -> None:
    with pytest.raises(TypeError):
        parse_feed("https://example.com/feed.xml", url=URL)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Hostile documents
# --------------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs</title>
<item><title>&lol9;</title><link>https://example.com/a</link><description>&lol9;</description></item>
</channel></rss>"""


def test_billion_laughs_does_not_expand() -> None:
    feed = parse_feed(BILLION_LAUGHS, url=URL)
    assert len(feed.entries) == 1
    entry = feed.entries[0]
    assert "lollol" not in entry.title + entry.summary
    assert len(entry.title) < 100 and len(entry.summary) < 100
    assert feed.warning and "DOCTYPE" in feed.warning


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE rss [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
        '<!DOCTYPE rss SYSTEM "file:///etc/passwd">',
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/steal">]>',
    ],
)
def test_xxe_reads_nothing(doctype: str) -> None:
    passwd = Path("/etc/passwd")
    marker = (
        "root:" if passwd.is_file() and "root:" in passwd.read_text(errors="replace") else "root:x"
    )
    body = rss(
        "<item><title>a &xxe; b</title><link>https://example.com/a</link>"
        "<description>&xxe;</description><content:encoded>&xxe;</content:encoded></item>",
        head=doctype,
    )
    try:
        feed = parse_feed(body, url=URL)
    except ParseError:
        return
    for entry in feed.entries:
        text = f"{entry.title} {entry.summary} {entry.content_html} {entry.author}"
        assert marker not in text
        assert "/bin/" not in text


def test_doctype_in_item_content_is_not_stripped() -> None:
    body = rss(
        "<item><title>Doc</title><link>https://example.com/a</link>"
        "<description><![CDATA[<p>Use &lt;!DOCTYPE html [ ]&gt; at the top</p>]]></description></item>"
    )
    feed = parse_feed(body, url=URL)
    assert feed.warning is None
    assert "DOCTYPE" in feed.entries[0].summary


def test_deep_nesting_does_not_crash() -> None:
    depth = 100_000
    cases = [
        # nested XML elements inside an item
        rss(
            f"<item><title>x</title><link>https://example.com/a</link><foo>{'<a>' * depth}y{'</a>' * depth}</foo></item>"
        ),
        # nested HTML inside a description (escaped): our HTML-to-text must cope
        rss(
            "<item><title>x</title><link>https://example.com/b</link><description>"
            + "&lt;div&gt;" * depth
            + "deep"
            + "&lt;/div&gt;" * depth
            + "</description></item>"
        ),
        # a document that is nothing but nesting
        b"<?xml version='1.0'?>" + b"<a>" * depth + b"</a>" * depth,
        # deeply nested JSON
        b'{"version": "https://jsonfeed.org/version/1.1", "items": '
        + b"[" * depth
        + b"]" * depth
        + b"}",
    ]
    nested_xml, nested_html, only_nesting, nested_json = cases
    feed = parse_feed(nested_xml, url=URL)
    assert [e.title for e in feed.entries] == ["x"]
    feed = parse_feed(nested_html, url=URL)
    assert [e.title for e in feed.entries] == ["x"]
    assert len(feed.entries[0].summary) <= feeds_module.SUMMARY_CHARS + 1
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(only_nesting, url=URL)
    # A feed root with nothing but nesting below it: an error, not an empty feed.
    for deep_feed in (
        b"<rss>" * depth + b"</rss>" * depth,
        b'<rss version="2.0"><channel>' + b"<a>" * depth + b"</a>" * depth + b"</channel></rss>",
    ):
        with pytest.raises(ParseError, match="too deeply nested"):
            parse_feed(deep_feed, url=URL)
    assert parse_feed(rss(""), url=URL).entries == []  # a feed that is merely empty is fine
    with pytest.raises(ParseError, match="nested"):
        parse_feed(nested_json, url=URL)


def test_deeply_nested_html_summary_keeps_its_text() -> None:
    html_body = "<div>" * 1_000 + "deep text" + "</div>" * 1_000
    body = rss(
        f"<item><title>x</title><guid>1</guid><description><![CDATA[{html_body}]]></description></item>"
    )
    assert parse_feed(body, url=URL).entries[0].summary == "deep text"


def test_ten_thousand_items() -> None:
    items = "".join(
        f"<item><title>Story {i}</title><link>https://example.com/s/{i}</link><guid>g{i}</guid>"
        f"<pubDate>{(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for i in range(10_000)
    )
    feed = parse_feed(rss(items), url=URL)
    assert len(feed.entries) == MAX_ENTRIES
    assert feed.warning and f"{MAX_ENTRIES:,}" in feed.warning and "newest" in feed.warning
    kept = {e.guid for e in feed.entries}
    assert "g9999" in kept and "g0" not in kept  # newest kept
    assert feed.parser == "feedparser-rs"  # the fast path must hold for big plain feeds


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------


def test_items_without_title_link_or_guid() -> None:
    body = rss(
        "<item><description>Only a description here.</description></item>"
        "<item><title>Only a title</title></item>"
        "<item><link>https://example.com/only-link</link></item>"
    )
    feed = parse_feed(body, url=URL)
    assert len(feed.entries) == 3
    first, second, third = feed.entries
    assert (
        first.title == "" and first.link is None and first.guid and first.guid.startswith("sha256:")
    )
    assert first.summary == "Only a description here."
    assert second.title == "Only a title" and second.guid != first.guid
    assert third.guid == "https://example.com/only-link" and third.link == third.guid
    # the hash is stable: the same document gives the same guids
    assert [e.guid for e in parse_feed(body, url=URL).entries] == [e.guid for e in feed.entries]


def test_duplicate_guids_keep_the_first() -> None:
    body = rss(
        "<item><title>First</title><guid>same</guid><link>https://example.com/1</link></item>"
        "<item><title>Second</title><guid>same</guid><link>https://example.com/2</link></item>"
        "<item><title>Third</title><guid>other</guid><link>https://example.com/3</link></item>"
    )
    feed = parse_feed(body, url=URL)
    assert [e.title for e in feed.entries] == ["First", "Third"]


def test_dates_unparseable_future_and_timezones() -> None:
    future = (datetime.now(UTC) + timedelta(days=400)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = rss(
        "<item><title>bad</title><guid>1</guid><pubDate>not a date at all</pubDate></item>"
        f"<item><title>future</title><guid>2</guid><pubDate>{future}</pubDate></item>"
        "<item><title>tz</title><guid>3</guid><pubDate>Tue, 21 Aug 2012 10:33:00 -0500</pubDate></item>"
        "<item><title>est</title><guid>4</guid><pubDate>Tue, 21 Aug 2012 10:33:00 EST</pubDate></item>"
    )
    before = datetime.now(UTC)
    bad, fut, tz, est = parse_feed(body, url=URL).entries
    assert bad.published is None
    assert fut.published is not None and before <= fut.published <= datetime.now(UTC)
    assert tz.published == datetime(2012, 8, 21, 15, 33, tzinfo=UTC)
    assert est.published == datetime(2012, 8, 21, 15, 33, tzinfo=UTC)


def test_updated_is_used_when_published_is_missing() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2024-05-01T00:00:00Z</updated>
<entry><title>E</title><id>urn:e</id><updated>2024-04-30T12:00:00+02:00</updated>
<link href="https://example.com/e"/></entry></feed>"""
    (entry,) = parse_feed(body, url=URL).entries
    assert entry.published == datetime(2024, 4, 30, 10, 0, tzinfo=UTC)


def test_relative_links_are_resolved() -> None:
    body = rss(
        "<item><title>rel</title><link>posts/1.html</link></item>"
        "<item><title>root</title><link>/about</link></item>"
        "<item><title>proto</title><link>//cdn.example.net/x</link></item>",
        channel="<title>T</title><link>/</link>",
    )
    feed = parse_feed(body, url=URL)
    assert [e.link for e in feed.entries] == [
        "https://example.com/blog/posts/1.html",
        "https://example.com/about",
        "https://cdn.example.net/x",
    ]
    assert feed.site_url == "https://example.com/"


def test_item_scoped_xml_base() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xml:base="https://example.com/"><channel><title>B</title><link>https://example.com/</link>
<item xml:base="https://example.com/first/"><title>One</title><link>a</link></item>
<item xml:base="https://example.com/second/"><title>Two</title><link>b</link></item>
</channel></rss>"""
    feed = parse_feed(body, url=URL)
    assert [e.link for e in feed.entries] == [
        "https://example.com/first/a",
        "https://example.com/second/b",
    ]


def test_unsafe_links_are_dropped() -> None:
    body = rss(
        "<item><title>js</title><guid>1</guid><link>javascript:alert(1)</link></item>"
        "<item><title>js2</title><guid>2</guid><link> JavaScript:alert(1)</link></item>"
        "<item><title>data</title><guid>3</guid><link>data:text/html,&lt;script&gt;x&lt;/script&gt;</link></item>"
        "<item><title>file</title><guid>4</guid><link>file:///etc/passwd</link></item>"
        "<item><title>ok</title><guid>5</guid><link>https://example.com/ok</link></item>",
        channel="<title>T</title><link>javascript:alert(2)</link>",
    )
    feed = parse_feed(body, url=URL)
    assert [e.link for e in feed.entries] == [None, None, None, None, "https://example.com/ok"]
    assert feed.site_url is None


def test_escape_sequences_and_html_are_removed_from_text() -> None:
    body = rss(
        "<item><title>Red &#x1b;[31mALERT&#x1b;[0m &lt;b&gt;bold&lt;/b&gt; AT&amp;amp;T \u202eevil</title>"
        "<author>bob@example.com (Bob &#x1b;]8;;http://x&#x7;Bobby)</author>"
        "<guid>1</guid><link>https://example.com/1</link>"
        "<description>&lt;p&gt;First &amp;amp; para&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Second&amp;nbsp;para&lt;/p&gt;</description>"
        "</item>",
        channel="<title>My &#x1b;[2J&lt;i&gt;Feed&lt;/i&gt;</title>",
    )
    feed = parse_feed(body, url=URL)
    (entry,) = feed.entries
    assert entry.title == "Red ALERT bold AT&T evil"
    assert "\x1b" not in (entry.author or "") and "\x07" not in (entry.author or "")
    assert entry.summary == "First & para\n\nSecond para"
    assert feed.title == "My Feed"


def test_summary_is_bounded_plain_text_and_content_html_is_kept() -> None:
    long_html = "<p>" + "word " * 5_000 + "</p>"
    body = rss(
        f"<item><title>Long</title><link>https://example.com/l</link><description><![CDATA[{long_html}]]></description>"
        "<content:encoded><![CDATA[<h1>Full</h1><p>Body <b>text</b></p>]]></content:encoded></item>"
    )
    (entry,) = parse_feed(body, url=URL).entries
    assert len(entry.summary) <= feeds_module.SUMMARY_CHARS + 1
    assert "<" not in entry.summary and entry.summary.endswith("…")
    assert entry.content_html is not None and "<b>text</b>" in entry.content_html


def test_latin1_feed_without_declaration() -> None:
    body = (
        "<rss version='2.0'><channel><title>Café</title><item><title>Crème brûlée à Noël</title>"
        "<link>https://example.com/c</link><description>Déjà vu</description></item></channel></rss>"
    ).encode("latin-1")
    feed = parse_feed(body, url=URL)
    assert feed.title == "Café"
    assert feed.entries[0].title == "Crème brûlée à Noël"
    assert feed.entries[0].summary == "Déjà vu"


def test_http_charset_is_honoured_without_declaration() -> None:
    body = "<rss version='2.0'><channel><title>Ελληνικά</title><item><title>Καλημέρα</title><guid>1</guid></item></channel></rss>".encode(
        "iso-8859-7"
    )
    feed = parse_feed(body, url=URL, content_type="application/rss+xml; charset=ISO-8859-7")
    assert feed.title == "Ελληνικά" and feed.entries[0].title == "Καλημέρα"


def test_feed_title_falls_back_to_host() -> None:
    feed = parse_feed(rss("<item><title>x</title><guid>1</guid></item>", channel=""), url=URL)
    assert feed.title == "example.com"


def test_empty_but_valid_feed() -> None:
    feed = parse_feed(rss(""), url=URL)
    assert feed.entries == [] and feed.title == "T" and feed.format == "rss"


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1"]
)
def test_json_feed(version: str) -> None:
    doc = {
        "version": version,
        "title": "JSON \u001b[1mFeed",
        "home_page_url": "https://example.org/",
        "author": {"name": "Old Style"},
        "items": [
            {
                "id": "1",
                "url": "/posts/1",
                "title": "First &amp; best",
                "content_html": "<p>Hello <em>world</em></p>",
                "date_published": "2024-02-03T04:05:06-01:00",
                "authors": [{"name": "Ann"}, {"name": "Ben"}],
            },
            {
                "id": 2,
                "content_text": "Plain\n\ntext body",
                "date_modified": "2024-02-01T00:00:00Z",
            },
            {"id": "3", "url": "javascript:alert(1)", "summary": "s", "date_published": "garbage"},
            "not an item",
            {"id": "1", "title": "duplicate"},
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), url="https://example.org/feed.json")
    assert feed.format == "json" and feed.title == "JSON Feed"
    assert feed.site_url == "https://example.org/"
    first, second, third = feed.entries
    assert first.link == "https://example.org/posts/1" and first.title == "First & best"
    assert first.content_html == "<p>Hello <em>world</em></p>" and first.summary == "Hello world"
    assert first.published == datetime(2024, 2, 3, 5, 5, 6, tzinfo=UTC)
    assert first.author == "Ann, Ben"
    assert second.guid == "2" and second.summary == "Plain\n\ntext body" and second.title == ""
    assert second.author == "Old Style" and second.published == datetime(2024, 2, 1, tzinfo=UTC)
    assert third.link is None and third.published is None


def test_rss_10_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.com/"><title>RDF feed</title><link>https://example.com/</link></channel>
<item rdf:about="https://example.com/1"><title>One</title><link>https://example.com/1</link>
<dc:date>2003-12-31T10:14:55Z</dc:date><dc:creator>Zed</dc:creator></item>
<item rdf:about="https://example.com/2"><title>Two</title><link>https://example.com/2</link></item>
</rdf:RDF>"""
    feed = parse_feed(body, url=URL)
    assert feed.format == "rss" and feed.title == "RDF feed"
    assert [e.title for e in feed.entries] == ["One", "Two"]
    assert feed.entries[0].published == datetime(2003, 12, 31, 10, 14, 55, tzinfo=UTC)
    assert feed.entries[0].author == "Zed"


def test_atom_03() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old Atom</title>
<link rel="alternate" type="text/html" href="https://example.com/"/>
<entry><title>Entry</title><link rel="alternate" type="text/html" href="https://example.com/e1"/>
<id>tag:example.com,2004:1</id><issued>2004-01-02T03:04:05Z</issued><modified>2004-01-02T03:04:05Z</modified>
<content type="text/html" mode="escaped">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>"""
    feed = parse_feed(body, url=URL)
    assert feed.format == "atom" and feed.title == "Old Atom"
    (entry,) = feed.entries
    assert entry.link == "https://example.com/e1" and entry.guid == "tag:example.com,2004:1"
    assert entry.published == datetime(2004, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert entry.content_html and "Body" in entry.content_html


def test_atom_10_with_html_content() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A &amp;amp; B</title><id>urn:f</id>
<link href="https://example.com/"/><updated>2024-01-01T00:00:00Z</updated>
<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">X <b>Y</b></div></title><id>urn:1</id>
<link rel="alternate" href="https://example.com/1"/><author><name>Ann</name></author>
<published>2024-01-01T00:00:00Z</published><summary>Short</summary>
<content type="html">&lt;p&gt;Long &lt;a href="/x"&gt;link&lt;/a&gt;&lt;/p&gt;</content></entry></feed>"""
    feed = parse_feed(body, url=URL)
    assert feed.title == "A & B"
    (entry,) = feed.entries
    assert entry.title == "X Y" and entry.author == "Ann" and entry.summary == "Short"
    assert entry.content_html and "link" in entry.content_html


def test_gzipped_body_is_read() -> None:
    import gzip

    feed = parse_feed(gzip.compress(rss("<item><title>z</title><guid>1</guid></item>")), url=URL)
    assert feed.entries[0].title == "z"


def test_parse_feed_results_pickle() -> None:
    feed = parse_feed(
        rss(
            "<item><title>p</title><guid>1</guid><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>"
        ),
        url=URL,
    )
    assert pickle.loads(pickle.dumps(feed)) == feed
    err = pickle.loads(pickle.dumps(ParseError("boom")))
    assert isinstance(err, ParseError) and str(err) == "boom"


# --------------------------------------------------------------------------------------------
# Sniffing and discovery
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (rss(""), None, True),
        (
            b'\xef\xbb\xbf  <?xml version="1.0"?><!-- hi --><feed xmlns="http://www.w3.org/2005/Atom"/>',
            None,
            True,
        ),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', None, True),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "application/json", True),
        (b'{"version": "2"}', "application/json", False),
        (b"<!doctype html><html></html>", "text/html", False),
        (b"<html><body>rss</body></html>", "application/rss+xml", False),
        (b"", None, False),
        (b"<svg/>", None, False),
    ],
)
def test_looks_like_feed(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_feed(body, content_type) is expected


def test_discover_feed_urls_from_link_alternate() -> None:
    page = """<html><head>
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" href="https://example.com/atom.xml">
<link rel="alternate" type="application/feed+json" href="feed.json">
<link rel="alternate" type="application/rss+xml" href="/feed.xml">
<link rel="alternate" type="text/html" href="/other.html">
<link rel="stylesheet" type="application/rss+xml" href="/nope.xml">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body><a href="/rss">rss</a></body></html>"""
    assert discover_feed_urls(page, "https://example.com/blog/") == [
        "https://example.com/feed.xml",
        "https://example.com/atom.xml",
        "https://example.com/blog/feed.json",
    ]


def test_discover_feed_urls_falls_back_to_anchors_on_the_same_site() -> None:
    page = """<html><body>
<a href="/about">About</a><a href="/rss">RSS</a><a href="https://www.example.com/feeds/all.atom.xml">Atom</a>
<a href="https://other.net/feed">Other site</a><a href="/sitemap.xml">Sitemap</a><a href="/?feed=rss2">WP</a>
</body></html>"""
    urls = discover_feed_urls(page, "https://example.com/")
    assert urls[:2] == ["https://example.com/rss", "https://www.example.com/feeds/all.atom.xml"]
    assert "https://other.net/feed" not in urls and "https://example.com/about" not in urls
    assert "https://example.com/?feed=rss2" in urls
    assert discover_feed_urls("", "https://example.com/") == []


# --------------------------------------------------------------------------------------------
# OPML
# --------------------------------------------------------------------------------------------


def test_opml_nested_categories_and_broken_attributes() -> None:
    body = b"""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
<outline text="Tech &amp; Science">
  <outline text="Ars" title="Ars Technica" type="rss" xmlUrl="https://arstechnica.com/feed/" htmlUrl="https://arstechnica.com"/>
  <outline text="Q&A Site" xmlUrl="https://qa.example.com/rss?a=1&b=2"/>
</outline>
<outline text="Folder without feeds"/>
<outline text="Broken "quoted" name" xmlUrl="https://quotes.example.com/feed"/>
<outline text="Top" xmlurl="https://top.example.com/atom.xml"/>
<outline text="Bad" xmlUrl="javascript:alert(1)"/>
</body></opml>"""
    outlines = parse_opml(body)
    by_url = {o.xml_url: o for o in outlines}
    assert set(by_url) == {
        "https://arstechnica.com/feed/",
        "https://qa.example.com/rss?a=1&b=2",
        "https://quotes.example.com/feed",
        "https://top.example.com/atom.xml",
    }
    assert by_url["https://arstechnica.com/feed/"].title == "Ars Technica"
    assert by_url["https://arstechnica.com/feed/"].category == "Tech & Science"
    assert by_url["https://arstechnica.com/feed/"].html_url == "https://arstechnica.com"
    assert by_url["https://qa.example.com/rss?a=1&b=2"].title == "Q&A Site"
    assert by_url["https://top.example.com/atom.xml"].category is None


@pytest.mark.parametrize(
    "body", [b"", b"<opml><body><outline text='x'/></body></opml>", b"\x00junk"]
)
def test_opml_without_subscriptions_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_opml(body)


def test_write_opml_round_trips_and_escapes() -> None:
    feeds = [
        ('A & B <"quoted">', "https://example.com/feed?a=1&b=2", "https://example.com/"),
        ("Ctrl \x1b[31mred\x07", "https://x.example/rss", None),
    ]
    text = write_opml(feeds)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "\x1b" not in text and "a=1&amp;b=2" in text
    outlines = parse_opml(text.encode())
    assert [(o.title, o.xml_url, o.html_url) for o in outlines] == [
        ('A & B <"quoted">', "https://example.com/feed?a=1&b=2", "https://example.com/"),
        ("Ctrl red", "https://x.example/rss", None),
    ]


def test_core_feeds_does_not_import_ui_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tuinews.core.feeds; print('textual' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loopback_and_private_links_are_kept() -> None:
    """feedparser-rs blanks links to private addresses; a self-hosted feed needs them."""
    rss_doc = (
        b'<rss version="2.0"><channel><title>Home</title>'
        b"<item><title>A</title><link>http://127.0.0.1:8080/a</link></item>"
        b"<item><title>B</title><link>http://192.168.1.5/b</link></item>"
        b"<item><title>C</title><link>https://example.com/c</link></item>"
        b"</channel></rss>"
    )
    atom_doc = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Home</title>'
        b'<entry><title>A</title><id>a</id><link href="http://localhost/a"/></entry></feed>'
    )
    parsed = parse_feed(rss_doc, url="http://127.0.0.1:8080/feed")
    assert [e.link for e in parsed.entries] == [
        "http://127.0.0.1:8080/a",
        "http://192.168.1.5/b",
        "https://example.com/c",
    ]
    assert parse_feed(atom_doc, url="http://localhost/feed").entries[0].link == "http://localhost/a"
