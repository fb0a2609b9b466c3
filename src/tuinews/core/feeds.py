"""Feed bytes -> :class:`ParsedFeed`; feed autodiscovery; OPML import and export.

Parsing strategy (measured on the 2,179 files of ``data/feeds/``, see ``bench/parser_choice.py``):
feedparser-rs is 16x (corpus) to 26x (100 KB feed) faster than feedparser and finds the same
number of entries on 98.7% of the XML files, so it is the fast path. feedparser (slow, but with
a forgiving loose parser and encoding detection) is the fallback when feedparser-rs is known to
go wrong; the rule is in :func:`_fast_result_is_suspect`. JSON Feed is read here with :mod:`json`.

Everything here is pure (no network, no disk) and every public function is a top-level function
with picklable arguments and results, so :func:`parse_feed` can run in a worker process.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import logging
import re
import time
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser_rs
from lxml import etree
from lxml import html as lxml_html

from tuinews.core.errors import ParseError
from tuinews.core.models import OpmlOutline, ParsedEntry, ParsedFeed
from tuinews.core.text import clean_text, is_safe_url

logger = logging.getLogger(__name__)


def _feedparser_parse(data: bytes, headers: dict[str, str]) -> Any:
    """feedparser, the fallback: imported on first use (it costs 10 MB and 0.1 s to import, and
    the fast path reads 98.7% of feeds alone)."""
    import feedparser  # noqa: PLC0415 - lazy on purpose, see the docstring

    return feedparser.parse(data, response_headers=headers, resolve_relative_uris=True)


def _feedparser_parse_date(text: str) -> Any:
    """feedparser's lenient date parser (a struct_time, or None); imported on first use."""
    from feedparser.datetimes import _parse_date  # noqa: PLC0415 - lazy, see above

    return _parse_date(text)


MAX_FEED_BYTES = 32 * 1024 * 1024
"""Larger bodies are refused outright (the fetcher should cap downloads well below this)."""
MAX_ENTRIES = 5_000
"""Entries kept per feed; beyond this the newest are kept."""
SUMMARY_CHARS = 2_000
"""Plain-text summaries are cut (at a word boundary) to about this many characters."""
MAX_CONTENT_HTML_CHARS = 2_000_000
"""``content_html`` larger than this is dropped (no real article is that big)."""
_MAX_HTML_FOR_TEXT = 200_000
"""Only this much HTML is parsed to make a summary or a title: bounds time and memory."""
_MAX_GUID_CHARS = 1_000
_RS_MAX_ENTRIES = 50_000
"""feedparser-rs keeps the first N entries in document order; we keep the newest MAX_ENTRIES."""

_FUTURE_SLACK = timedelta(days=1)
_HTML_MESSAGE = (
    "Could not read the feed: this looks like an HTML page, not a feed. Try the site's feed "
    "URL, or add the page's address and let tuinews look for its feed."
)

_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/x.atom+xml",
        "application/x-atom+xml",
        "application/x-rss+xml",
    }
)

# The prolog before the root element: whitespace, PIs, comments and at most one DOCTYPE whose
# internal subset ([...]) may hold entity declarations. Used on the first bytes only.
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+([^\s\[>]+)[^\[>]*(\[.*?\]\s*)?>", re.DOTALL | re.IGNORECASE)
_FIRST_ITEM = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>]")
_ITEM_XML_BASE = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)\s[^>]*xml:base", re.IGNORECASE)
_EMBEDDED_FEED = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_XML_DECL_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=", re.IGNORECASE)
_DATE_ELEMENT = re.compile(
    rb"<(?:[\w.-]+:)?(?:pubDate|date|issued|modified|published|updated|created)[\s>]",
    re.IGNORECASE,
)

_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
_TAG = re.compile(r"<[^>]*>")
_ESCAPED_HTML = re.compile(r"\s*</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object", "head"})
# huge_tree lifts libxml2's nesting limit of 256 (deeper content would otherwise come out empty);
# the input is capped at _MAX_HTML_FOR_TEXT characters and the tree is walked iteratively.
_HTML_PARSER = lxml_html.HTMLParser(
    recover=True,
    no_network=True,
    remove_comments=True,
    remove_pis=True,
    default_doctype=False,
    huge_tree=True,
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def parse_feed(data: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed 1.0/1.1).

    Args:
        data: the body as bytes, already decompressed (never a ``str``).
        url: the feed's URL, the base for relative links and the fallback title.
        content_type: the HTTP ``Content-Type`` header, if any (its charset is honoured when the
            document declares no encoding).

    Returns:
        The feed with at most :data:`MAX_ENTRIES` entries, duplicates (same guid) removed.

    Raises:
        ParseError: the bytes are not a feed (empty, an HTML page, JSON that is not a JSON Feed,
            garbage, or too big or too deeply nested to read).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_feed() takes bytes, not str: a str could be taken for a URL")
    data = bytes(data)
    if len(data) > MAX_FEED_BYTES:
        raise ParseError(f"The feed is too big to read ({len(data) // (1024 * 1024)} MiB).")
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data)
    kind, root = _sniff(data, content_type)
    if kind == "empty":
        raise ParseError("The feed is empty: the server sent no data.")
    if kind == "html" and not _EMBEDDED_FEED.search(data[:200_000]):
        raise ParseError(_HTML_MESSAGE)
    now = datetime.now(UTC)
    try:
        if kind == "json":
            return _parse_json_feed(data, url=url, now=now)
        parsed = _parse_xml_feed(data, url=url, content_type=content_type, root=root, now=now)
    except ParseError:
        raise
    except (RecursionError, MemoryError) as exc:
        logger.warning("feed %s too deeply nested or too big: %r", url, exc)
        raise ParseError("The feed is too deeply nested or too big to read.") from exc
    if kind == "html" and not parsed.entries:
        # An HTML page that merely mentions <rss> or <feed> (a few captured feeds are an Atom
        # document wrapped in XHTML, which feedparser does read).
        raise ParseError(_HTML_MESSAGE)
    return parsed


def looks_like_feed(data: bytes, content_type: str | None) -> bool:
    """Cheaply tell whether ``data`` is probably a feed (without parsing it).

    Args:
        data: the body (or its first few kilobytes).
        content_type: the HTTP ``Content-Type`` header, if any.

    Returns:
        True for XML whose root is ``rss``, ``feed``, ``rdf:RDF`` (or ``channel``), for JSON that
        names a jsonfeed.org version, and for an XML-looking body served with a feed media type.
    """
    kind, root = _sniff(bytes(data[:65536]), content_type)
    if kind == "json":
        return b"jsonfeed.org/version/" in bytes(data[:1_000_000])
    if kind != "xml":
        return False
    if root in _FEED_ROOTS:
        return True
    return root is None and _media_type(content_type) in _FEED_TYPES


def discover_feed_urls(html: str, base_url: str) -> list[str]:
    """Find feed URLs in an HTML page (no network).

    ``<link rel="alternate">`` elements with an RSS, Atom or JSON Feed type come first, in page
    order; only when there are none, ``<a href>`` links on the same site that look like feeds
    (``feed``, ``rss``, ``atom``, ``.xml`` in the path).

    Args:
        html: the page's HTML.
        base_url: the page's URL (a ``<base href>`` in the page takes precedence).

    Returns:
        Absolute http(s) URLs, de-duplicated.
    """
    if not html or not html.strip():
        return []
    try:
        doc = lxml_html.document_fromstring(html[:5_000_000], parser=_HTML_PARSER)
    except (etree.ParserError, ValueError):
        return []
    if doc is None:
        return []
    base = base_url
    for el in doc.iter("base"):
        href = (el.get("href") or "").strip()
        if href:
            base = urljoin(base_url, href)
            break

    found: list[str] = []
    seen: set[str] = set()

    def add(href: str | None) -> None:
        if not href or not href.strip():
            return
        absolute = urljoin(base, clean_text(href).replace(" ", "%20"))
        absolute = absolute.split("#", 1)[0]
        if is_safe_url(absolute) and absolute not in seen:
            seen.add(absolute)
            found.append(absolute)

    for el in doc.iter("link"):
        rels = (el.get("rel") or "").lower().split()
        if "alternate" not in rels and "feed" not in rels:
            continue
        mtype = (el.get("type") or "").split(";")[0].strip().lower()
        href = el.get("href")
        if mtype in _FEED_TYPES or (mtype == "application/json" and "feed" in (href or "").lower()):
            add(href)
    if found:
        return found

    page_host = _site_host(base)
    for el in doc.iter("a"):
        href = el.get("href")
        if not href:
            continue
        absolute = urljoin(base, href.strip())
        parts = urlsplit(absolute)
        if _site_host(absolute) != page_host or not page_host:
            continue
        if _FEEDLIKE_PATH.search(parts.path.lower()) or _FEEDLIKE_QUERY.search(parts.query.lower()):
            add(absolute)
    return found


def parse_opml(data: bytes) -> list[OpmlOutline]:
    """Read subscriptions from an OPML 1.0/2.0 file, recovering what a broken file allows.

    Many real OPML files have unescaped ``&``, ``<`` or quotes in attributes. They are read with
    a recovering parser; ``xmlUrl`` attributes it lost are then found by a plain scan.

    Args:
        data: the file's bytes.

    Returns:
        One outline per ``xmlUrl`` (outlines without one are folders or links, skipped); the
        category is the title of the enclosing outline.

    Raises:
        ParseError: no subscription at all could be found.
    """
    data = bytes(data)
    if len(data) > MAX_FEED_BYTES:
        raise ParseError("The OPML file is too big to read.")
    outlines: list[OpmlOutline] = []
    seen: set[str] = set()
    # Bare "&" (not starting an entity) is the most common breakage: escape it first.
    fixed = _BARE_AMP.sub(b"&amp;", data)
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root: Any = None
    try:
        root = etree.fromstring(fixed, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        logger.info("OPML: lxml could not read the file: %s", exc)
    if root is not None:
        for el in root.iter():
            if not isinstance(el.tag, str) or etree.QName(el).localname.lower() != "outline":
                continue
            attrs = {k.lower(): v for k, v in el.attrib.items() if isinstance(k, str)}
            xml_url = _clean_url(attrs.get("xmlurl"), None)
            if not xml_url or xml_url in seen:
                continue
            seen.add(xml_url)
            # The folder: the titles of the enclosing outlines, outermost first ("News/Tech");
            # else an OPML 2.0 category attribute ("/News/Tech").
            path: list[str] = []
            parent = el.getparent()
            while parent is not None and isinstance(parent.tag, str):
                if etree.QName(parent).localname.lower() == "outline":
                    pattrs = {k.lower(): v for k, v in parent.attrib.items() if isinstance(k, str)}
                    name = clean_text(pattrs.get("title") or pattrs.get("text"))
                    if name:
                        path.insert(0, name.replace("/", "-"))
                parent = parent.getparent()
            if not path and attrs.get("category"):
                first = clean_text(attrs["category"]).split(",")[0]
                path = [p.strip() for p in first.split("/") if p.strip()]
            category = "/".join(path) or None
            outlines.append(
                OpmlOutline(
                    xml_url=xml_url,
                    title=clean_text(attrs.get("title") or attrs.get("text")),
                    html_url=_clean_url(attrs.get("htmlurl"), xml_url),
                    category=category,
                )
            )
    # Unescaped quotes inside an attribute make the parser drop the whole element: find the
    # xmlUrl values it missed with a plain scan of the text.
    text = data.decode("utf-8", errors="replace")
    for match in _XMLURL_ATTR.finditer(text):
        xml_url = _clean_url(html.unescape(match.group(2)), None)
        if not xml_url or xml_url in seen:
            continue
        seen.add(xml_url)
        start = text.rfind("<", 0, match.start())
        tag = text[start : match.end() + 2000] if start >= 0 else ""
        title_match = _TITLE_ATTR.search(tag)
        html_match = _HTMLURL_ATTR.search(tag)
        outlines.append(
            OpmlOutline(
                xml_url=xml_url,
                title=clean_text(html.unescape(title_match.group(2))) if title_match else "",
                html_url=_clean_url(html.unescape(html_match.group(2)), xml_url)
                if html_match
                else None,
            )
        )
    if not outlines:
        raise ParseError("No feed subscriptions were found in this OPML file.")
    return outlines


def write_opml(
    feeds: Iterable[tuple[str, str, str | None] | tuple[str, str, str | None, str | None]],
) -> str:
    """Write subscriptions as an OPML 2.0 document, folders as nested outlines.

    Args:
        feeds: ``(title, xml_url, html_url)`` triples, or ``(..., folder)`` with the folder's
            name ("News/Tech" nests Tech inside News).

    Returns:
        The OPML text (UTF-8, with an XML declaration), every attribute escaped.
    """
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "tuinews subscriptions"
    etree.SubElement(head, "dateCreated").text = time.strftime(
        "%a, %d %b %Y %H:%M:%S GMT", time.gmtime()
    )
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], Any] = {}

    def folder_element(path: tuple[str, ...]) -> Any:
        if not path:
            return body
        if path not in folders:
            parent = folder_element(path[:-1])
            name = _xml_safe(clean_text(path[-1]))
            folders[path] = etree.SubElement(parent, "outline", {"text": name, "title": name})
        return folders[path]

    for row in feeds:
        title, xml_url, html_url = row[0], row[1], row[2]
        folder = row[3] if len(row) > 3 else None
        path = tuple(p for p in (folder or "").split("/") if p.strip())
        attrs = {
            "type": "rss",
            "text": _xml_safe(clean_text(title)),
            "title": _xml_safe(clean_text(title)),
        }
        attrs["xmlUrl"] = _xml_safe(clean_text(xml_url))
        if html_url:
            attrs["htmlUrl"] = _xml_safe(clean_text(html_url))
        etree.SubElement(folder_element(path), "outline", attrs)
    text: str = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


# --------------------------------------------------------------------------------------------
# Sniffing and pre-processing
# --------------------------------------------------------------------------------------------


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1).lower() if match else None


def _head_bytes(data: bytes) -> bytes:
    """The first 64 KiB as ASCII-compatible bytes (UTF-16/32 with a BOM re-encoded)."""
    head = data[:65536]
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="ignore").encode("utf-8")
    return head


def _sniff(data: bytes, content_type: str | None) -> tuple[str, str | None]:
    """Classify a body: ("empty"|"json"|"html"|"xml"|"other", root element local name)."""
    head = _head_bytes(data).lstrip(b"\xef\xbb\xbf \t\r\n\x00")
    if not head:
        return "empty", None
    if head[:1] in (b"{", b"["):
        return "json", None
    prolog = _PROLOG.match(head)
    pos = prolog.end() if prolog else 0
    doctype = _DOCTYPE.match(head, pos)
    html_doctype = False
    if doctype:
        html_doctype = doctype.group(1).lower() == b"html"
        after = _PROLOG.match(head, doctype.end())
        pos = after.end() if after else doctype.end()
    root = _ROOT.match(head, pos)
    if root is None:
        return ("html", None) if html_doctype else ("other", None)
    name = root.group(1).decode("ascii", errors="replace").lower().rsplit(":", 1)[-1]
    if name in {"html", "head", "body"} or (html_doctype and name not in _FEED_ROOTS):
        return "html", name
    if name not in _FEED_ROOTS and _media_type(content_type) in {
        "text/html",
        "application/xhtml+xml",
    }:
        return "html", name
    return "xml", name


def _gunzip(data: bytes) -> bytes:
    """Decompress a gzip body a server sent without Content-Encoding (bounded in size)."""
    decompressor = zlib.decompressobj(wbits=47)
    try:
        out = decompressor.decompress(data, MAX_FEED_BYTES + 1)
    except zlib.error as exc:
        raise ParseError("The feed is compressed and could not be decompressed.") from exc
    if len(out) > MAX_FEED_BYTES:
        raise ParseError("The feed is too big to read once decompressed.")
    return out


def _strip_doctype_subset(data: bytes) -> tuple[bytes, bool]:
    """Remove a prolog DOCTYPE that has an internal subset (entity declarations).

    Feeds have no legitimate use for entity declarations; removing them before any parser sees
    the bytes defeats "billion laughs" and external-entity (XXE) payloads whatever the parser.
    Only the prolog is looked at: a "<!DOCTYPE" inside an item's CDATA is content.
    """
    prolog = _PROLOG.match(data)
    pos = prolog.end() if prolog else 0
    doctype = _DOCTYPE.match(data, pos)
    if doctype is None:
        # An unterminated internal subset would not match _DOCTYPE: drop up to the root tag.
        if data[pos : pos + 9].upper() == b"<!DOCTYPE" and b"[" in data[pos : pos + 4096]:
            root = re.compile(rb"\]\s*>").search(data, pos)
            end = root.end() if root else len(data)
            return data[:pos] + data[end:], True
        return data, False
    if doctype.group(2) is None:
        return data, False  # e.g. the Netscape RSS 0.91 DOCTYPE: harmless, feedparser uses it
    return data[: doctype.start()] + data[doctype.end() :], True


def _apply_http_charset(data: bytes, content_type: str | None) -> tuple[bytes, bool]:
    """Transcode to UTF-8 when HTTP names a charset and the document declares none."""
    charset = _charset(content_type)
    if not charset or charset in {"utf-8", "utf8", "us-ascii", "ascii"}:
        return data, False
    if data[:3] == b"\xef\xbb\xbf" or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data, False
    if _XML_DECL_ENCODING.match(data):
        return data, False
    try:
        return data.decode(charset, errors="replace").encode("utf-8"), True
    except LookupError:
        return data, False


# --------------------------------------------------------------------------------------------
# XML feeds: feedparser-rs, feedparser as the fallback
# --------------------------------------------------------------------------------------------


def _parse_xml_feed(
    data: bytes, *, url: str, content_type: str | None, root: str | None, now: datetime
) -> ParsedFeed:
    warnings: list[str] = []
    data, stripped = _strip_doctype_subset(data)
    if stripped:
        warnings.append("ignored the feed's DOCTYPE entity declarations")
        logger.info("feed %s: stripped a DOCTYPE with an internal subset", url)
    data, transcoded = _apply_http_charset(data, content_type)

    result, parser_name = _parse_with_fallback(
        data, url=url, content_type=content_type, transcoded=transcoded
    )
    version = str(result.get("version") or "")
    raw_entries = list(result.get("entries") or [])
    if not raw_entries:
        if not version and root not in _FEED_ROOTS:
            raise ParseError("This is not a feed (no RSS, Atom or JSON Feed content was found).")
        if _too_deep(data):
            # Both parsers give up silently past their depth limits: an empty result here is
            # a feed we could not read, not a feed with nothing in it.
            raise ParseError(
                f"The feed is too deeply nested to read (more than {_MAX_DEPTH} levels of"
                " elements); no stories could be found in it."
            )
    elif result.get("bozo"):
        # Don't reject on bozo alone (FACTS: 60% of real feeds are bozo, entries still parsed).
        warnings.append(f"the feed is not well-formed ({_short(result.get('bozo_exception'))})")

    feed = result.get("feed") or {}
    title = _text_of(feed.get("title_detail"), feed.get("title")) or _host(url)
    site_url = _clean_url(feed.get("link"), url)

    links: list[str | None] = [None] * len(raw_entries)
    if parser_name == "feedparser-rs" and any(e.get("link") == "" for e in raw_entries):
        recovered = _recover_links(data, len(raw_entries))
        if recovered is None:
            headers = {"content-location": url, "content-type": "application/xml"}
            result = _feedparser_parse(data, headers)
            parser_name = "feedparser"
            raw_entries = list(result.get("entries") or [])
            links = [None] * len(raw_entries)
        else:
            links = recovered
    entries = _dedupe(
        _entry_from_raw(e, url=url, now=now, link=link)
        for e, link in zip(raw_entries, links, strict=True)
    )
    entries, capped = _cap_entries(entries)
    if capped:
        warnings.append(capped)
    return ParsedFeed(
        title=title,
        site_url=site_url,
        entries=entries,
        format=_format_of(version),
        parser=parser_name,
        warning="; ".join(warnings) or None,
        ttl=_ttl_seconds(feed.get("ttl")),
    )


def _ttl_seconds(value: Any) -> int | None:
    """RSS ``<ttl>`` (minutes) as seconds; None when absent or not a number."""
    text = str(value or "").strip()
    if not text.isdigit() or int(text) <= 0:
        return None
    return int(text) * 60


_MAX_DEPTH = 255
"""libxml2's own limit without ``huge_tree`` (feedparser-rs stops at 100)."""


def _too_deep(data: bytes) -> bool:
    """True when the document nests elements deeper than :data:`_MAX_DEPTH` (only asked of a
    feed that gave no entries, so a normal refresh never pays for it)."""
    parser = etree.XMLParser(
        recover=False, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return "depth" in str(exc).lower()
    except ValueError:
        return False
    return False


def _recover_links(data: bytes, count: int) -> list[str | None] | None:
    """Item links in document order, read with lxml; None when they cannot be aligned.

    feedparser-rs blanks every link to a loopback or private address (``http://127.0.0.1/``,
    ``http://192.168.1.5/``: its SSRF guard), but a reader's feeds may well live there (a
    self-hosted bridge, a home server). Those links are read back from the XML itself.
    """
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    links: list[str | None] = []
    # "{*}name": the element in any namespace or none, filtered by lxml itself.
    for el in root.iter("{*}item", "{*}entry"):
        link: str | None = None
        for child in el.iterchildren("{*}link"):
            href = child.get("href")
            if href is not None:
                if child.get("rel", "alternate") == "alternate":
                    link = href.strip()
                    break
            elif child.text and child.text.strip():
                link = child.text.strip()
                break
        links.append(link)
    return links if len(links) == count else None


def _parse_with_fallback(
    data: bytes, *, url: str, content_type: str | None, transcoded: bool
) -> tuple[Any, str]:
    """Run feedparser-rs, and feedparser when the fast result is missing or suspect."""
    fast: Any = None
    reason: str | None
    try:
        fast = feedparser_rs.parse_with_limits(
            data,
            limits=feedparser_rs.ParserLimits(
                max_entries=_RS_MAX_ENTRIES, max_feed_size_bytes=MAX_FEED_BYTES
            ),
        )
        reason = _fast_result_is_suspect(fast, data)
    except Exception as exc:  # noqa: BLE001 - any failure of the fast path means "try the other"
        reason = f"feedparser-rs raised {exc!r}"
    if reason is None:
        return fast, "feedparser-rs"
    logger.debug("feed %s: falling back to feedparser: %s", url, reason)
    # content-location makes feedparser resolve relative links against the feed URL. The
    # content-type is always an XML one: a missing one is flagged as bozo, "text/xml" without a
    # charset means US-ASCII to feedparser (RFC 3023) and "text/html" is flagged too. An HTTP
    # charset is kept unless we already transcoded to UTF-8 (_apply_http_charset).
    charset = _charset(content_type)
    headers = {
        "content-location": url,
        "content-type": "application/xml"
        + (f"; charset={charset}" if charset and not transcoded else ""),
    }
    try:
        # Bytes only: a str could be taken for a URL or a file name by feedparser.
        slow = _feedparser_parse(data, headers)
    except (RecursionError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - feedparser is not supposed to raise at all
        logger.warning("feed %s: feedparser raised %r", url, exc)
        if fast is not None and fast.get("entries"):
            return fast, "feedparser-rs"
        raise ParseError("The feed could not be read.") from exc
    fast_count = len(fast.get("entries") or []) if fast is not None else 0
    slow_count = len(slow.get("entries") or [])
    if fast_count and not slow_count:
        return fast, "feedparser-rs"
    if reason.startswith("XML error") and fast_count >= slow_count:
        # Both stopped or recovered at an XML error: keep the one that read more entries.
        return fast, "feedparser-rs"
    return slow, "feedparser"


def _fast_result_is_suspect(result: Any, data: bytes) -> str | None:
    """Why feedparser-rs's result should not be trusted alone, or None when it is fine.

    Evidence, from comparing both parsers on the 2,182 files of ``data/feeds/``:

    - 0 entries where feedparser finds some: 27 files (CDF, RSS with unknown or missing default
      namespaces, truncated feeds, XHTML nested deeper than its limit of 100 levels).
    - an XML syntax error: it stops at the error; feedparser's loose parser read more entries on
      1 of the 6 such files with entries (``saxerror.xml``: 3 vs 2), so both run and the larger
      count wins.
    - U+FFFD in the text (not in the input): it has no encoding detection, so an undeclared
      latin-1/cp1252 feed comes out as replacement characters; feedparser falls back to
      windows-1252 (``chardet/*.xml``, and our latin-1 test).
    - no date on any entry while the document has date elements: it misses ``dcterms:issued``,
      ``dcterms:modified`` and some RSS-1.0 module dates (11 files).
    - ``xml:base`` on an item/entry: it ignores it (node-feedparser's
      ``rss-with-item-scoped-html-base.xml`` gets the wrong links). A root or content-level
      xml:base (WordPress Atom) is handled, so only the item-level one sends us to feedparser.

    Titles differ on ~120 files but only in HTML escaping and sanitizer output (``&amp;`` vs
    ``&``, added ``rel`` attributes), which disappears once both go through :func:`_html_to_text`.
    """
    entries = result.get("entries") or []
    if not entries:
        return "no entries"
    exc = str(result.get("bozo_exception") or "")
    if result.get("bozo") and ("XML parsing error" in exc or "truncated" in exc):
        return f"XML error: {exc[:80]}"
    if b"\xef\xbf\xbd" not in data:
        feed = result.get("feed") or {}
        texts = [feed.get("title") or ""]
        for entry in entries[:50]:
            texts.append(entry.get("title") or "")
            texts.append((entry.get("summary") or "")[:500])
        if any("\ufffd" in t for t in texts):
            return "encoding: replacement characters in the output"
    if not any(_has_date(e) for e in entries):
        first_item = _FIRST_ITEM.search(data)
        if first_item and _DATE_ELEMENT.search(data, first_item.start()):
            return "dates: no entry date read although the entries have dates"
    if _ITEM_XML_BASE.search(data):
        return "xml:base: an item-scoped xml:base"
    return None


def _has_date(entry: Any) -> bool:
    return any(
        entry.get(k)
        for k in ("published_parsed", "updated_parsed", "published", "updated", "dc_date")
    )


def _format_of(version: str) -> str:
    if version.startswith("rss"):
        return "rss"
    if version.startswith("atom"):
        return "atom"
    if version.startswith("json"):
        return "json"
    return "unknown"


def _short(exc: object) -> str:
    text = clean_text(str(exc or "unknown problem"))
    return text[:120]


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------


def _get(obj: Any, key: str) -> Any:
    """Read ``key`` from a feedparser dict or a feedparser-rs object."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _text_of(detail: Any, fallback: Any) -> str:
    """Plain text of a title-like field, using its declared type when there is one."""
    value = _get(detail, "value")
    if value is None:
        value = fallback
    if not isinstance(value, str) or not value:
        return ""
    mtype = str(_get(detail, "type") or "text/html").lower()
    if "html" in mtype or "&" in value or "<" in value:
        return clean_text(_html_to_text(value, limit=SUMMARY_CHARS))
    return clean_text(value)[:SUMMARY_CHARS]


def _entry_from_raw(e: Any, *, url: str, now: datetime, link: str | None = None) -> ParsedEntry:
    """Build a :class:`ParsedEntry` from either parser's entry (``link``: a recovered link)."""
    title = _text_of(e.get("title_detail"), e.get("title"))
    link = _clean_url(e.get("link") or link, url)
    author = clean_text(e.get("author") or e.get("dc_creator")) or None

    raw_date, published = _entry_date(e, now)

    content_html: str | None = None
    for block in e.get("content") or []:
        value = _get(block, "value")
        if isinstance(value, str) and value.strip():
            mtype = str(_get(block, "type") or "text/html").lower()
            content_html = value if "html" in mtype else _plain_to_html(value)
            break
    if content_html is not None and len(content_html) > MAX_CONTENT_HTML_CHARS:
        content_html = None

    summary_source = e.get("summary") or ""
    if not summary_source and content_html:
        summary_source = content_html
    summary_type = str(_get(e.get("summary_detail"), "type") or "text/html").lower()
    if "html" in summary_type or "<" in summary_source or "&" in summary_source:
        summary = _html_to_text(summary_source, limit=SUMMARY_CHARS)
    else:
        summary = _truncate(clean_text(summary_source, keep_newlines=True), SUMMARY_CHARS)

    guid = clean_text(str(e.get("id") or "")) or None
    if guid is None and link:
        guid = link
    if guid is None:
        guid = _stable_guid(title, summary, raw_date)
    elif len(guid) > _MAX_GUID_CHARS:
        guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()[:40]
    return ParsedEntry(
        guid=guid,
        link=link,
        title=title,
        author=author[:500] if author else None,
        published=published,
        summary=summary,
        content_html=content_html,
    )


def _entry_date(e: Any, now: datetime) -> tuple[str, datetime | None]:
    """(the raw date text, for hashing; the UTC datetime or None)."""
    raw = ""
    for parsed_key, raw_key in (
        ("published_parsed", "published"),
        ("updated_parsed", "updated"),
        ("dc_date_parsed", "dc_date"),
        ("created_parsed", "created"),
    ):
        raw_value = e.get(raw_key)
        if raw_value and not raw:
            raw = str(raw_value)
        parsed = e.get(parsed_key)
        if parsed is None and raw_value:
            # feedparser-rs leaves some dates unparsed (e.g. "EST" zones): try feedparser's.
            try:
                parsed = _feedparser_parse_date(str(raw_value)[:200])
            except Exception:  # noqa: BLE001 - a date we can't read is just no date
                parsed = None
        stamp = _struct_to_utc(parsed, now)
        if stamp is not None:
            return raw or str(raw_value or ""), stamp
    return raw, None


def _struct_to_utc(value: Any, now: datetime) -> datetime | None:
    if not isinstance(value, time.struct_time | tuple) or len(value) < 6:
        return None
    try:
        stamp = datetime.fromtimestamp(calendar.timegm(tuple(value)), UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
    return _clamp_future(stamp, now)


def _clamp_future(stamp: datetime, now: datetime) -> datetime:
    # A date far in the future would pin the story at the top of the list forever.
    return now if stamp > now + _FUTURE_SLACK else stamp


def _stable_guid(title: str, summary: str, raw_date: str) -> str:
    digest = hashlib.sha256("\x1f".join((title, summary, raw_date)).encode("utf-8", "replace"))
    return "sha256:" + digest.hexdigest()[:40]


def _dedupe(entries: Iterable[ParsedEntry]) -> list[ParsedEntry]:
    seen: set[str | None] = set()
    out: list[ParsedEntry] = []
    for entry in entries:
        if entry.guid in seen:
            continue
        seen.add(entry.guid)
        out.append(entry)
    return out


def _cap_entries(entries: list[ParsedEntry]) -> tuple[list[ParsedEntry], str | None]:
    """Keep the newest :data:`MAX_ENTRIES` entries, in feed order."""
    if len(entries) <= MAX_ENTRIES:
        return entries, None
    oldest = datetime.min.replace(tzinfo=UTC)
    order = sorted(
        range(len(entries)), key=lambda i: (entries[i].published or oldest, -i), reverse=True
    )
    keep = sorted(order[:MAX_ENTRIES])
    message = f"the feed has {len(entries):,} entries; only the newest {MAX_ENTRIES:,} were kept"
    return [entries[i] for i in keep], message


# An absolute http(s) URL with a host, printable ASCII, no spaces, backslashes or dot
# segments: nothing for urljoin or the safety checks to change.
_PLAIN_ABSOLUTE_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#](?:(?!/\.)[!-\[\]-~])*)?"
)


def _clean_url(value: Any, base: str | None) -> str | None:
    """An absolute http(s) URL, or None (javascript:, data:, file: and garbage are dropped)."""
    if not isinstance(value, str) or not value.strip():
        return None
    if _PLAIN_ABSOLUTE_URL.fullmatch(value):
        # Already absolute and clean (the common case): urljoin would return it unchanged.
        return value
    candidate = clean_text(value).strip().replace(" ", "%20")
    if base:
        try:
            candidate = urljoin(base, candidate)
        except ValueError:
            return None
    if not is_safe_url(candidate):
        return None
    try:
        if not urlsplit(candidate).hostname:
            return None
    except ValueError:
        return None
    return candidate


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def _site_host(url: str) -> str:
    host = _host(url).lower()
    return host[4:] if host.startswith("www.") else host


_FEEDLIKE_PATH = re.compile(r"(?:^|[/._-])(?:feeds?|rss|atom)(?:[/._-]|\d|$)|\.(?:xml|rss|atom)$")
_FEEDLIKE_QUERY = re.compile(r"(?:^|&)(?:feed|format)=(?:rss|rss2|atom|json|feed)")
_BARE_AMP = re.compile(rb"&(?!(?:#[0-9]{1,8}|#x[0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});)")
_XMLURL_ATTR = re.compile(r"\bxmlUrl\s*=\s*([\"'])(.*?)\1", re.IGNORECASE | re.DOTALL)
_TITLE_ATTR = re.compile(r"\b(?:title|text)\s*=\s*([\"'])(.*?)\1", re.IGNORECASE | re.DOTALL)
_HTMLURL_ATTR = re.compile(r"\bhtmlUrl\s*=\s*([\"'])(.*?)\1", re.IGNORECASE | re.DOTALL)


def _xml_safe(text: str) -> str:
    # lxml refuses characters XML 1.0 cannot carry; clean_text already removed most of them.
    return "".join(
        ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20 and ch not in "\ufffe\uffff"
    )


# --------------------------------------------------------------------------------------------
# HTML -> plain text
# --------------------------------------------------------------------------------------------


def _html_to_text(fragment: str, *, limit: int, second_pass: bool = True) -> str:
    """Plain text of an HTML fragment: tags and entities gone, blocks become paragraphs.

    Text that still starts with HTML tags after one pass was escaped twice (common in the wild,
    and what feedparser-rs's sanitizer does to HTML nested deeper than ~100 levels): it gets
    one more pass.
    """
    text = _html_to_text_once(fragment, limit=_MAX_HTML_FOR_TEXT)
    if second_pass and _ESCAPED_HTML.match(text) and len(_TAG.findall(text[:2000])) >= 2:
        return _html_to_text_once(text, limit=limit)
    return _truncate(text, limit)


def _html_to_text_once(fragment: str, *, limit: int) -> str:
    if not fragment:
        return ""
    fragment = fragment[:_MAX_HTML_FOR_TEXT]
    if "<" not in fragment and "&" not in fragment:
        return _truncate(_paragraphs(fragment), limit)
    try:
        doc = lxml_html.document_fromstring(
            "<html><body>" + fragment + "</body></html>", parser=_HTML_PARSER
        )
    except (etree.ParserError, ValueError):
        return _strip_tags(fragment, limit)
    parts: list[str] = []
    size = 0
    skipping = 0
    for event, el in etree.iterwalk(doc, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _SKIP_TAGS:
                skipping += 1
            elif not skipping:
                if tag in _BLOCK_TAGS:
                    parts.append("\n\n")
                elif tag == "br":
                    parts.append("\n")
                if el.text:
                    parts.append(el.text)
                    size += len(el.text)
        else:
            if tag in _SKIP_TAGS:
                skipping -= 1
            elif not skipping and tag in _BLOCK_TAGS:
                parts.append("\n\n")
            if not skipping and el.tail:
                parts.append(el.tail)
                size += len(el.tail)
        if size > limit * 4:
            break
    text = _paragraphs("".join(parts))
    if not text and _TAG.sub("", fragment).strip():
        # libxml2 gave up (nesting deeper than even huge_tree allows): strip tags by pattern.
        return _strip_tags(fragment, limit)
    return _truncate(text, limit)


def _strip_tags(fragment: str, limit: int) -> str:
    return _truncate(_paragraphs(html.unescape(_TAG.sub(" ", fragment))), limit)


def _paragraphs(text: str) -> str:
    """Clean ``text`` and normalise it to paragraphs separated by one blank line."""
    text = clean_text(text, keep_newlines=True)
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _plain_to_html(text: str) -> str:
    return "".join(
        f"<p>{html.escape(p.strip())}</p>" for p in re.split(r"\n\s*\n", text) if p.strip()
    )


# --------------------------------------------------------------------------------------------
# JSON Feed
# --------------------------------------------------------------------------------------------


def _parse_json_feed(data: bytes, *, url: str, now: datetime) -> ParsedFeed:
    try:
        doc = json.loads(data)
    except RecursionError as exc:
        raise ParseError("The JSON feed is too deeply nested to read.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError("This is not a feed: the JSON in it is invalid.") from exc
    if not isinstance(doc, dict) or not _JSON_FEED_VERSION.match(str(doc.get("version") or "")):
        raise ParseError("This is JSON, but not a JSON Feed (no jsonfeed.org version).")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("This JSON Feed has no list of items.")
    title = clean_text(_str(doc.get("title"))) or _host(url)
    site_url = _clean_url(_str(doc.get("home_page_url")), url)
    feed_author = _json_author(doc)
    entries: list[ParsedEntry] = []
    for item in items[:_RS_MAX_ENTRIES]:
        if isinstance(item, dict):
            entries.append(_json_entry(item, url=url, now=now, feed_author=feed_author))
    entries, capped = _cap_entries(_dedupe(entries))
    return ParsedFeed(
        title=title,
        site_url=site_url,
        entries=entries,
        format="json",
        parser="json",
        warning=capped,
    )


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_author(obj: dict[str, Any]) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [clean_text(_str(a.get("name"))) for a in authors if isinstance(a, dict)]
        names = [n for n in names if n]
        if names:
            return ", ".join(names)[:500]
    author = obj.get("author")
    if isinstance(author, dict):
        return clean_text(_str(author.get("name")))[:500] or None
    return None


def _json_entry(
    item: dict[str, Any], *, url: str, now: datetime, feed_author: str | None
) -> ParsedEntry:
    title_raw = _str(item.get("title"))
    title = _text_of(None, title_raw) if title_raw else ""
    link = _clean_url(_str(item.get("url")), url) or _clean_url(_str(item.get("external_url")), url)
    content_html = _str(item.get("content_html")) or None
    content_text = _str(item.get("content_text"))
    if content_html is None and content_text:
        content_html = _plain_to_html(content_text)
    if content_html is not None and len(content_html) > MAX_CONTENT_HTML_CHARS:
        content_html = None
    summary_raw = _str(item.get("summary"))
    if summary_raw:
        summary = _html_to_text(summary_raw, limit=SUMMARY_CHARS)
    elif _str(item.get("content_html")):
        summary = _html_to_text(_str(item.get("content_html")), limit=SUMMARY_CHARS)
    else:
        summary = _truncate(_paragraphs(content_text), SUMMARY_CHARS)
    raw_date = _str(item.get("date_published")) or _str(item.get("date_modified"))
    published = _json_date(raw_date, now)
    guid = clean_text(_str(item.get("id"))) or link or _stable_guid(title, summary, raw_date)
    if len(guid) > _MAX_GUID_CHARS:
        guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()[:40]
    return ParsedEntry(
        guid=guid,
        link=link,
        title=title,
        author=_json_author(item) or feed_author,
        published=published,
        summary=summary,
        content_html=content_html,
    )


def _json_date(raw: str, now: datetime) -> datetime | None:
    if not raw:
        return None
    raw = raw.strip()[:100]
    try:
        stamp = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        try:
            return _struct_to_utc(_feedparser_parse_date(raw), now)
        except Exception:  # noqa: BLE001 - unreadable date: no date
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return _clamp_future(stamp.astimezone(UTC), now)
    except (OverflowError, ValueError):
        return None
