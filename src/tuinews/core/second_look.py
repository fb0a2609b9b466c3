"""Pages that need a second look: the next pages of a multi-page article, and the AMP or
print version of a page that has no article of its own.

Pure functions over a page's HTML; :class:`tuinews.core.service.Service` fetches what they
point to. Only ``<link>`` elements are read (``rel="next"``, ``rel="amphtml"``,
``rel="alternate" media="print"``): an ``<a rel="next">`` is as often the next story as the
next page of this one.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from tuinews.core.text import is_safe_url

MAX_PAGES = 8
"""A multi-page article is joined up to this many pages."""

_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_PAGE_PART = re.compile(r"(?:[-_/.]?(?:page|seite|pagina|pg|p)?[-_/=]?\d{1,3})(?=[/.?&]|$)", re.I)


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Where a page says its other versions are (absolute http(s) URLs, or ``None``)."""

    next_page: str | None = None
    amp: str | None = None
    print_version: str | None = None


def _attrs(tag: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(tag):
        value = match.group(2) if match.group(2) is not None else match.group(3) or match.group(4)
        found.setdefault(match.group(1).lower(), html_lib.unescape(value or "").strip())
    return found


def page_links(page: str, url: str) -> PageLinks:
    """The next page, the AMP version and the print version that the page declares.

    Args:
        page: the page's HTML.
        url: its URL (relative links resolve against it).
    """
    head = page[: page.lower().find("</head>") + 7] if "</head>" in page.lower() else page[:200_000]
    next_page = amp = print_version = None
    for tag in _LINK_TAG.findall(head):
        attrs = _attrs(tag)
        rel = set(attrs.get("rel", "").lower().split())
        href = attrs.get("href")
        if not href:
            continue
        target = urljoin(url, href)
        if not is_safe_url(target) or target == url:
            continue
        if "next" in rel and next_page is None and is_next_page(url, target):
            next_page = target
        elif "amphtml" in rel and amp is None:
            amp = target
        elif "alternate" in rel and "print" in attrs.get("media", "").lower():
            print_version = print_version or target
    return PageLinks(next_page, amp, print_version)


def _page_key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + ("?" + parts.query if parts.query else "")
    return parts.netloc.lower(), _PAGE_PART.sub("", path).rstrip("/?&")


def is_next_page(current: str, candidate: str) -> bool:
    """True when ``candidate`` is another page of the same article as ``current``: the same
    site and the same address once page numbers are taken out ("/story", "/story/2",
    "/story?page=2", "/story-p2.html")."""
    return _page_key(current) == _page_key(candidate) and current != candidate
