"""Page HTML -> :class:`ExtractedArticle` (trafilatura), plus decoding and a bounded worker pool.

:func:`extract_article` is pure: it takes a decoded page and returns the main text as Markdown and
plain text, the page's metadata and its related-article links. Callers that must not stall (the
app) run it through :class:`ExtractorPool`, which bounds each call in time: trafilatura's Python
API has no timeout of its own.

Bytes from the network go through :func:`sniff_not_html` and :func:`decode_html` first: trafilatura
ignores the HTTP charset when handed bytes and mistakes undeclared cp1252 pages for cp1250, so it is
always handed ``str``.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from tuinews.core.errors import ExtractError
from tuinews.core.markdown import html_to_tree, render_markdown, with_lead_image
from tuinews.core.metadata import iter_json_ld, page_author, page_title
from tuinews.core.models import ExtractedArticle
from tuinews.core.related_links import find_related_links_in_tree, strip_terminal_escapes
from tuinews.core.text import clean_text, is_safe_url, same_title
from tuinews.core.workers import WorkerPool

logger = logging.getLogger(__name__)

MAX_HTML_CHARS = 8_000_000
"""Pages longer than this (in characters) are refused rather than parsed."""
MIN_TEXT_CHARS = 200
"""Less main text than this means "no article here" (trafilatura returns text for any page).
A CJK character counts as three: those scripts say as much in a third of the characters."""
DEFAULT_TIMEOUT = 20.0
"""Seconds one extraction may take in :class:`ExtractorPool`."""

_NO_TEXT = "no article text found on this page"

# --------------------------------------------------------------------------------------------
# Bytes -> str
# --------------------------------------------------------------------------------------------

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_META_TAG = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# What browsers do (WHATWG Encoding): these labels all mean windows-1252, and a page can't
# really be UTF-16 when its charset is found by reading it as ASCII.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "x-user-defined": "cp1252",
}


def _normalize_charset(label: str | bytes | None, *, from_meta: bool = False) -> str | None:
    """Return a Python codec name for a charset label, or ``None`` when it is unknown."""
    if not label:
        return None
    name = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
    name = name.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if from_meta and codec.startswith("utf-16"):
        return "utf-8"
    return codec


def _charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type.encode("latin-1", "ignore"))
    return _normalize_charset(match.group(1)) if match else None


def _charset_from_meta(head: bytes) -> str | None:
    for tag in _META_TAG.findall(head):
        lower = tag.lower()
        # <meta charset="..."> or <meta http-equiv="Content-Type" content="...; charset=...">
        if b"charset" not in lower:
            continue
        match = _CHARSET_PARAM.search(tag)
        if match:
            codec = _normalize_charset(match.group(1), from_meta=True)
            if codec:
                return codec
    return None


def decode_html(body: bytes, content_type: str | None) -> str:
    """Decode a fetched page to ``str`` the way a browser would.

    Order: a byte-order mark (it is unambiguous, and the HTML standard puts it before the
    HTTP header), then the HTTP ``Content-Type`` charset, then ``<meta charset>`` /
    ``http-equiv`` in the first 4 KB, then strict UTF-8, then cp1252. ISO-8859-1 and ASCII
    labels decode as cp1252, as browsers do.

    Args:
        body: the response body.
        content_type: the HTTP ``Content-Type`` header, if any.

    Returns:
        The page text, without a BOM. Undecodable bytes become U+FFFD.
    """
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace")
    codec = _charset_from_content_type(content_type) or _charset_from_meta(body[:4096])
    if codec:
        try:
            return body.decode(codec, errors="replace")
        except LookupError:  # pragma: no cover - codecs.lookup succeeded above
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; they are C1 controls in latin-1.
        return body.decode("cp1252", errors="replace")


# --------------------------------------------------------------------------------------------
# Not an HTML page?
# --------------------------------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
    (b"\x00\x00\x01\x00", "an icon file"),
)
_NOT_HTML_TYPES = {
    "application/pdf": "a PDF document",
    "application/zip": "a ZIP archive",
    "application/gzip": "gzip-compressed data",
    "application/x-gzip": "gzip-compressed data",
    "application/json": "JSON data",
    "application/javascript": "a script",
    "text/javascript": "a script",
    "text/css": "a style sheet",
    "application/msword": "a Word document",
    "application/rss+xml": "a feed",
    "application/atom+xml": "a feed",
    "application/feed+json": "a feed",
}
_NOT_HTML_PREFIXES = {
    "image/": "an image",
    "audio/": "an audio file",
    "video/": "a video",
    "font/": "a font",
    "application/vnd.": "a document or binary file",
}


def sniff_not_html(body: bytes, content_type: str | None) -> str | None:
    """Say why ``body`` is clearly not an HTML page, or return ``None``.

    Looks at the declared media type (PDF, images, audio, video, archives, JSON...) and at the
    first bytes (file signatures, NUL bytes). Ambiguous types such as ``text/plain`` or
    ``application/octet-stream`` are judged by the bytes alone.

    Args:
        body: the response body (only the first KB or so is read).
        content_type: the HTTP ``Content-Type`` header, if any.

    Returns:
        A short user-facing reason such as ``"the link points to a PDF document"``, or ``None``.
    """
    if content_type:
        mime = content_type.split(";", 1)[0].strip().lower()
        what = _NOT_HTML_TYPES.get(mime)
        if what is None:
            what = next((w for p, w in _NOT_HTML_PREFIXES.items() if mime.startswith(p)), None)
        if what is not None:
            return f"the link points to {what} ({mime}), not a web page"
    head = body[:1024]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None  # UTF-16 text is full of NUL bytes by nature
    stripped = head.lstrip()
    for magic, what in _MAGIC:
        if stripped.startswith(magic):
            return f"the link points to {what}, not a web page"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "the link points to a WebP image, not a web page"
    if b"\x00" in head:
        return "the link points to binary data, not a web page"
    return None


# --------------------------------------------------------------------------------------------
# HTML -> article
# --------------------------------------------------------------------------------------------

# favor_precision: the same result on all 40 sample pages (comments are off anyway); on the
# 125 readable readability pages it cut the median from 749 to 685 words and lost over 20% of
# the text on 6 pages (gained on 1). Recall matters more to a reader, so it stays off.
_FAVOR_PRECISION = False

_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "article.published",
    "datepublished",
    "date.published",
    "published_time",
    "publish-date",
    "publish_date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "og:published_time",
    "article:published",
    "published-date",
    "publishdate",
    "date_published",
    "datecreated",
    "cxenseparse:recs:publishtime",
)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:['’-][^\W{_CJK}]+)*")
# The same words in a text without CJK characters, without the alternation (3x faster).
_PLAIN_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def _parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO 8601 date or datetime as UTC (naive values are taken as UTC)."""
    if not value:
        return None
    value = value.strip()
    # fromisoformat in 3.11 handles "Z" and offsets; normalise a few common near-ISO forms.
    value = re.sub(r"\s+", "T", value, count=1) if re.match(r"\d{4}-\d\d-\d\d \d", value) else value
    value = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not 1990 <= parsed.year <= 2100:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _published_from_tree(tree: HtmlElement) -> datetime | None:
    """The page's own publication time, with its time of day when the page gives one."""
    metas: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key and content and key not in metas:
            metas[key] = content
    for key in _PUBLISHED_META:
        parsed = _parse_datetime(metas.get(key))
        if parsed:
            return parsed
    for item in iter_json_ld(tree):
        value = item.get("datePublished")
        if isinstance(value, str) and (parsed := _parse_datetime(value)):
            return parsed
    for time_el in tree.iterfind(".//time[@datetime]"):
        if (time_el.get("itemprop") or "").lower() == "datepublished" or time_el.get(
            "pubdate"
        ) is not None:
            parsed = _parse_datetime(time_el.get("datetime"))
            if parsed:
                return parsed
    return None


def _remove_keeping_tail(element: etree._Element) -> None:
    """Take ``element`` out of its parent; the text after it (its tail) stays in place."""
    parent = element.getparent()
    if parent is None:
        return
    tail, element.tail = element.tail, None
    previous = element.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _plain_text(body: etree._Element) -> str:
    """Plain text of trafilatura's output tree: no link targets, no images, no Markdown."""
    from trafilatura.xml import xmltotxt

    tree = deepcopy(body)
    for graphic in list(tree.iter("graphic")):
        _remove_keeping_tail(graphic)
    etree.strip_tags(tree, "ref")
    text = xmltotxt(tree, False)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _language(tree: HtmlElement, found: str | None) -> str | None:
    lang = found or tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        meta = tree.find(".//meta[@http-equiv='content-language']")
        lang = meta.get("content") if meta is not None else None
    lang = clean_text(lang).split(",")[0].strip()
    return lang[:35] or None


def _weight(text: str) -> int:
    """Length for the "is there an article" test: a CJK character counts as three."""
    return len(text) + 2 * len(_CJK_CHAR.findall(text))


_NOT_ARTICLE = re.compile(
    r"enable javascript|javascript (is )?(disabled|required)|\bcookies?\b|browser (is )?not"
    r" supported|access denied|not found|\b40[34]\b|subscribe|log ?in|sign ?in|loading",
    re.IGNORECASE,
)


def _whole_small_page(text: str, tree: HtmlElement) -> bool:
    """A short text is still the article when it is the page: most of the page's visible
    text, a few words at least, and not a notice (JavaScript, cookies, 404, log in)."""
    if count_words(text) < 3 or _NOT_ARTICLE.search(text):
        return False
    body = tree.find(".//body")
    if body is None:
        return False
    visible = " ".join(
        " ".join(t.split())
        for el in body.iter()
        if isinstance(el.tag, str) and el.tag not in ("script", "style", "noscript", "template")
        for t in (el.text, el.tail)
        if t and t.strip()
    )
    return _weight(visible) < 3 * MIN_TEXT_CHARS and len(text) >= 0.5 * len(visible)


_PAYWALL_TEXT = re.compile(
    r"\b(subscribe|subscription|subscribers?|members?)\b.{0,60}\b(to (continue|keep) reading"
    r"|to read (the|this|more)|only|required|exclusive)\b|to continue reading|already an?"
    r" (subscriber|member)|(sign|log) ?in to (continue|read|keep reading)|create a free account"
    r"|register (for free )?to (continue|read)|unlock (this|the full) (article|story)",
    re.IGNORECASE,
)
_CONSENT_TEXT = re.compile(
    r"we (and our partners )?use cookies|cookie (settings|preferences|policy|consent)"
    r"|accept (all )?cookies|manage (your )?(consent|cookies)|your privacy choices"
    r"|consent to (the use of|our use of)",
    re.IGNORECASE,
)
_PAYWALL_MARK = re.compile(
    r"paywall|regwall|premium[-_]?(content|article|wall)|subscriber[-_]?only|meteredcontent"
    r"|piano[-_]?(offer|container|inline)|tp[-_]modal",
    re.IGNORECASE,
)
TEASER_WORDS = 350
"""Fewer words than this on a page that asks the reader to subscribe or to accept cookies
means that only a teaser was available."""


def _paywalled(tree: HtmlElement) -> bool:
    """The page says its article is not free: JSON-LD ``isAccessibleForFree: false``, or an
    element named like a paywall."""
    for item in iter_json_ld(tree):
        free = item.get("isAccessibleForFree")
        if free is False or (isinstance(free, str) and free.strip().lower() == "false"):
            return True
    body = tree.find(".//body")
    if body is None:
        return False
    names = body.xpath(".//@class | .//@id")
    return bool(_PAYWALL_MARK.search(" ".join(str(n) for n in names)))


def teaser_notice(text: str, tree: HtmlElement) -> str | None:
    """Say so when the text is a teaser of an article behind a paywall or a consent wall
    rather than the article (``None`` when it reads as the article itself)."""
    words = count_words(text)
    if words >= TEASER_WORDS:
        return None
    tail = "\n".join(text.strip().split("\n")[-3:])
    if _CONSENT_TEXT.search(text) and words < 150:
        return (
            "only a teaser was available: the page showed a cookie consent notice instead "
            "of the article"
        )
    if _PAYWALL_TEXT.search(tail) or _paywalled(tree):
        return "only a teaser was available: the rest of the article is for subscribers"
    return None


_OUTSIDE_TEXT = ("nav", "footer", "aside", "header", "form", "menu")


def _main_block_words(tree: HtmlElement) -> int:
    """Words of the page's main text block: the element whose own ``<p>`` children hold the
    most words (outside menus, headers, footers and forms). Cheap: one pass over ``<p>``."""
    by_parent: dict[Any, int] = {}
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        if parent is None or parent.tag in _OUTSIDE_TEXT:
            continue
        words = len(" ".join(paragraph.itertext()).split())
        by_parent[parent] = by_parent.get(parent, 0) + words
    if not by_parent:
        return 0
    block = max(by_parent, key=by_parent.__getitem__)
    if next(block.iterancestors(_OUTSIDE_TEXT), None) is not None:
        return 0
    return by_parent[block]


def _looks_cut(text: str, tree: HtmlElement) -> bool:
    """trafilatura's text looks wrong: it holds less than 60% of the words of the page's main
    text block (a teaser, a notice, a list of links where the page has an article)."""
    block_words = _main_block_words(tree)
    return block_words >= 60 and count_words(text) < 0.6 * block_words


def _second_opinion(html: str, title: str | None) -> tuple[etree._Element, str] | None:
    """The article as readability-lxml finds it, as a tree like trafilatura's (so it renders
    the same: quotes, lists, links). ``None`` when it finds nothing."""
    import lxml.html
    from readability import Document as ReadabilityDocument

    try:
        summary = ReadabilityDocument(html).summary(html_partial=True)
        if not summary.strip():
            return None
        body = html_to_tree(lxml.html.fragment_fromstring(summary, create_parent="div"))
    except Exception:  # readability-lxml raises its own errors on odd pages
        logger.info("readability-lxml failed on a page", exc_info=True)
        return None
    _drop_leading_title(body, title)
    return body, _plain_text(body)


def _base_url(tree: HtmlElement, url: str) -> str:
    """The URL that the page's relative links are relative to (``<base href>``, else ``url``)."""
    from urllib.parse import urljoin

    base = tree.find(".//base[@href]")
    href = (base.get("href") or "").strip() if base is not None else ""
    return urljoin(url, href) if href else url


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _drop_hidden(tree: HtmlElement) -> None:
    """Remove what a browser would not show (``hidden``, ``display: none``, ``visibility:
    hidden``, ``aria-hidden="true"``), as Reader View does: trafilatura reads it as text."""
    body = tree.find(".//body")
    if body is None:
        return
    # XPath narrows the candidates in C; the exact tests run on those few in Python.
    candidates = body.xpath(
        ".//*[@hidden or @aria-hidden or contains(@style, 'none') or contains(@style, 'hidden')]"
    )
    for el in candidates:
        if el.tag in ("img", "picture", "source"):  # lazy images wait hidden for a script
            continue
        if (
            el.get("hidden") is not None
            or (el.get("aria-hidden") or "").strip().lower() == "true"
            or _HIDDEN_STYLE.search(el.get("style") or "")
        ) and el.getparent() is not None:
            el.drop_tree()


def _keep_captions(tree: HtmlElement) -> None:
    """Turn ``<figcaption>`` into a paragraph after its figure: trafilatura drops captions,
    and a photo's caption or a chart's source is part of what a reader reads."""
    for caption in list(tree.iter("figcaption")):
        if not " ".join(caption.itertext()).strip():
            continue
        caption.tag = "p"
        figure = next(caption.iterancestors("figure"), None)
        parent = caption.getparent()
        if figure is None or parent is None or figure.getparent() is None:
            continue
        # Out of the figure, right after it, with the text kept around it.
        _remove_keeping_tail(caption)
        caption.tail, figure.tail = figure.tail, None
        figure.addnext(caption)


def _drop_leading_title(body: etree._Element, title: str | None) -> None:
    """Remove the article's title from the top of the body: the article pane and the export
    show it in their header, so it must not open the text a second time. "The top" is what
    comes before the first real paragraph (25 words or more): a kicker, a standfirst, the lead
    image may stand above the page's ``<h1>``."""
    for el in list(body)[:6]:
        text = " ".join(" ".join(el.itertext()).split())
        if el.tag == "head" and same_title(text, title):
            parent = el.getparent()
            if parent is not None and not (el.tail or "").strip():
                parent.remove(el)
            return
        if len(text.split()) >= 25:
            return


def count_words(text: str) -> int:
    """Count words; each CJK character counts as one (those scripts have no spaces)."""
    if _CJK_CHAR.search(text) is None:
        return len(_PLAIN_WORD.findall(text))
    return len(_WORD.findall(text))


def extractor_options(url: str) -> Any:
    """trafilatura's options for a page at ``url``, as :func:`extract_article` uses them:
    Markdown with formatting, links, images and tables, metadata, no comments."""
    from trafilatura.settings import Extractor

    return Extractor(
        output_format="markdown",
        precision=_FAVOR_PRECISION,
        comments=False,
        formatting=True,
        links=True,
        images=True,
        tables=True,
        dedup=False,
        url=url,
        with_metadata=True,
    )


def extract_article(html: str, url: str) -> ExtractedArticle:
    """Extract the main text, metadata and related links of one page.

    Pure (no I/O); safe to run in threads or worker processes. Comments are left out.

    Args:
        html: the decoded page (see :func:`decode_html`).
        url: the page's URL, used to resolve relative links.

    Returns:
        The article. ``markdown`` and ``text`` are cleaned of terminal escapes and invisible
        characters; ``published`` is UTC-aware.

    Raises:
        ExtractError: the page is too large, unreadable, or has no article text.
    """
    from trafilatura.core import bare_extraction
    from trafilatura.settings import Document
    from trafilatura.utils import load_html

    if len(html) > MAX_HTML_CHARS:
        raise ExtractError("page too large")
    # NUL and other C0 controls make libxml2 stop or mis-parse; they are never content.
    if "\x00" in html:
        html = html.replace("\x00", "")
    html = strip_terminal_escapes(html)
    options = extractor_options(url)
    try:
        tree = load_html(html)
        if tree is None:
            raise ExtractError("this page could not be read as HTML")
        published = _published_from_tree(tree)
        related = find_related_links_in_tree(tree, url)
        base_url = _base_url(tree, url)
        # What the page says but trafilatura would drop (figure captions): moved into the
        # tree before extraction. The metadata and related links were read above.
        _keep_captions(tree)
        _drop_hidden(tree)
        document = bare_extraction(tree, options=options)
        if not isinstance(document, Document) or document.body is None:
            raise ExtractError(_NO_TEXT)
        title = page_title(tree, document.title, document.sitename)
        # trafilatura's own title may be the <h1> the body opens with: drop either.
        _drop_leading_title(document.body, title)
        if document.title and document.title != title:
            _drop_leading_title(document.body, clean_text(document.title))
        author = clean_text(document.author) or page_author(tree) or None
        body = document.body
        text = _plain_text(body)
        extractor = "trafilatura"
        if _looks_cut(text, tree):
            second = _second_opinion(html, title)
            if second is not None and count_words(second[1]) >= 1.3 * count_words(text):
                body, text = second
                extractor = "readability"
        markdown = clean_text(
            unicodedata.normalize("NFC", render_markdown(body, base_url)),
            keep_newlines=True,
        )
        text = clean_text(unicodedata.normalize("NFC", text), keep_newlines=True)
        notice = teaser_notice(text, tree)
        if (
            _weight(text) < MIN_TEXT_CHARS
            and not _whole_small_page(text, tree)
            and (notice is None or count_words(text) < 10)
        ):
            raise ExtractError(_NO_TEXT)
        if published is None and document.date:
            published = _parse_datetime(document.date)
    except ExtractError:
        raise
    except RecursionError as exc:
        logger.warning("extraction of %s hit the recursion limit", url)
        raise ExtractError("this page is too deeply nested to read") from exc
    except MemoryError as exc:
        raise ExtractError("page too large") from exc
    except Exception as exc:  # trafilatura/lxml bugs on odd markup must not reach the user raw
        logger.warning("extraction of %s failed", url, exc_info=True)
        raise ExtractError("this page could not be read") from exc

    from urllib.parse import urljoin

    image = urljoin(base_url, document.image.strip()) if document.image else None
    image = image if is_safe_url(image) else None
    if image:
        markdown = with_lead_image(markdown, clean_text(image), "")
    return ExtractedArticle(
        markdown=markdown,
        text=text,
        title=title,
        author=author,
        published=published,
        site_name=clean_text(document.sitename) or None,
        language=_language(tree, document.language),
        top_image=clean_text(image) or None,
        word_count=count_words(text),
        related_links=related,
        extractor=extractor,
        notice=notice,
    )


# --------------------------------------------------------------------------------------------
# Bounded extraction in worker processes
# --------------------------------------------------------------------------------------------

ExtractFunction = Callable[[str, str], ExtractedArticle]


def extract_page(body: bytes, content_type: str | None, url: str) -> ExtractedArticle:
    """A page as fetched -> its article: refuse what is not HTML, decode with the HTTP charset,
    extract. Pure; what the extraction workers run for fetched pages.

    Raises:
        ExtractError: not HTML, or no article.
    """
    reason = sniff_not_html(body, content_type)
    if reason:
        raise ExtractError(reason)
    return extract_article(decode_html(body, content_type), url)


def _warm_up() -> None:
    """Import trafilatura once per worker, before the first page arrives."""
    import trafilatura  # noqa: F401


class ExtractorPool(WorkerPool):
    """Run :func:`extract_article` in worker processes, each call bounded in time.

    A call that takes longer than ``timeout`` seconds raises :class:`ExtractError`; its pool is
    then killed and replaced so later calls work. A worker that dies (segfault, out of memory)
    gives an :class:`ExtractError` and a fresh pool too (see :class:`WorkerPool`).

    Use as a context manager, or call :meth:`close`::

        with ExtractorPool(max_workers=2) as pool:
            article = pool.extract(html, url)

    Args:
        max_workers: worker processes (and concurrent calls).
        timeout: seconds one extraction may take.
        function: what the workers run; a picklable module-level callable taking
            ``(html, url)``. Tests pass a slow or crashing one.
    """

    error_type = ExtractError
    what = "extraction"

    def __init__(
        self,
        max_workers: int = 2,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        function: ExtractFunction = extract_article,
    ) -> None:
        super().__init__(max_workers, timeout, initializer=_warm_up)
        self._function = function

    def extract(self, html: str, url: str) -> ExtractedArticle:
        """Extract one decoded page in a worker."""
        article: ExtractedArticle = self.run(self._function, (html, url), url)
        return article

    def extract_page(self, body: bytes, content_type: str | None, url: str) -> ExtractedArticle:
        """Sniff, decode and extract a page as fetched, all in a worker (the caller's process
        only moves bytes)."""
        article: ExtractedArticle = self.run(extract_page, (body, content_type, url), url)
        return article
