"""The page's own title and byline, chosen the way readers (Firefox's Reader View) choose them.

trafilatura takes the ``<h1>`` or the ``<title>`` with its site-name suffix (" | Site") more
often than not. :func:`page_title` prefers what the page declares as the article's title
(JSON-LD ``headline``, Dublin Core, Open Graph, Twitter, Parse.ly), then the ``<title>`` with
a site-name part removed when what is left is still a title (the rule Readability.js uses:
cut at the last " | ", " - ", " – ", " — ", " / ", " > ", " » " when at least three words are
left, else the first part; an "A: B" title keeps the part after the colon unless a heading
says the whole). :func:`clean_site_suffix` removes a known site name around any title.

Pure functions over an lxml tree; the feed entry's own title comes first in the service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lxml.html import HtmlElement

from tuinews.core.text import clean_site_suffix, clean_text

_SEPARATOR = re.compile(r" [|\-\\/>»–—] ")
_HIERARCHICAL = re.compile(r" [\\/>»] ")
_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "blogposting",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "reviewnewsarticle",
    "backgroundnewsarticle",
    "techarticle",
    "scholarlyarticle",
    "socialmediaposting",
    "liveblogposting",
    "report",
}
_META_TITLE_KEYS = (
    "dc:title",
    "dcterm:title",
    "og:title",
    "weibo:article:title",
    "weibo:webpage:title",
    "title",
    "twitter:title",
    "parsely-title",
)
_CDATA = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$")


def iter_json_ld(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page (``@graph`` members and list items included).

    Scripts wrapped in ``<![CDATA[ ... ]]>`` (as some CMSs write them) are read too.
    """
    for script in tree.iterfind(".//script[@type]"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        source = _CDATA.sub("", (script.text or "").strip())
        try:
            data = json.loads(source)
        except (ValueError, RecursionError):
            continue
        stack: list[Any] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))


def _types(item: dict[str, Any]) -> set[str]:
    value = item.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.lower() for v in values if isinstance(v, str)}


def _metas(tree: HtmlElement) -> dict[str, str]:
    """``<meta>`` values by lowercased name/property (a space-separated property counts for
    each of its names); the first one wins."""
    found: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        content = meta.get("content")
        if not content or not content.strip():
            continue
        keys = (meta.get("property") or "") + " " + (meta.get("name") or "")
        for key in keys.lower().split():
            found.setdefault(key, content.strip())
    return found


def _words(text: str) -> int:
    return len(text.split())


def _inner(el: HtmlElement) -> str:
    return " ".join(" ".join(el.itertext()).split())


def title_from_title_tag(tree: HtmlElement) -> str | None:
    """The ``<title>`` with its site-name part removed (Readability.js's rule)."""
    element = tree.find(".//title")
    original = _inner(element) if element is not None else ""
    if not original:
        return None
    current = original
    hierarchical = False
    separators = list(_SEPARATOR.finditer(original))
    if separators:
        hierarchical = bool(_HIERARCHICAL.search(original))
        current = original[: separators[-1].start()]
        if _words(current) < 3:
            current = original[separators[0].end() :]
    elif ": " in current:
        headings = [_inner(h) for h in tree.iter("h1", "h2")]
        if original.strip() not in headings:
            current = original[original.rfind(":") + 1 :]
            if _words(current) < 3:
                current = original[original.find(":") + 1 :]
            elif _words(original[: original.find(":")]) > 5:
                current = original
    elif len(current) > 150 or len(current) < 15:
        h1s = list(tree.iter("h1"))
        if len(h1s) == 1:
            current = _inner(h1s[0])
    current = " ".join(current.split())
    count = _words(current)
    if count <= 4 and (
        not hierarchical or count != _words(re.sub(r"[|\-\\/>»]+", "", original)) - 1
    ):
        current = original
    return current or None


def _similarity(a: str, b: str) -> float:
    """How much of ``b``'s text is made of ``a``'s words (Readability.js's measure)."""
    tokens_a = set(re.findall(r"\w+", a.casefold()))
    tokens_b = re.findall(r"\w+", b.casefold())
    if not tokens_a or not tokens_b:
        return 0.0
    unique_b = " ".join(t for t in tokens_b if t not in tokens_a)
    return 1 - len(unique_b) / len(" ".join(tokens_b))


def declared_title(tree: HtmlElement) -> str | None:
    """The title the page declares in its metadata (JSON-LD, then ``<meta>`` tags)."""
    for item in iter_json_ld(tree):
        if not _types(item) & _ARTICLE_TYPES:
            continue
        name, headline = item.get("name"), item.get("headline")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        headline = " ".join(headline.split()) if isinstance(headline, str) else ""
        if name and headline and name != headline:
            # Some sites put their own name in "name": take the one closer to the <title>.
            element = tree.find(".//title")
            tag_title = _inner(element) if element is not None else ""
            if _similarity(headline, tag_title) > _similarity(name, tag_title):
                return headline
            return name
        if name or headline:
            return name or headline
    metas = _metas(tree)
    for key in _META_TITLE_KEYS:
        if key in metas:
            return " ".join(metas[key].split())
    return None


def page_title(tree: HtmlElement, found: str | None, site_name: str | None) -> str | None:
    """The article's title on its page.

    Args:
        tree: the page.
        found: trafilatura's title, the last resort.
        site_name: the site's name, removed when it is stuck to the title.
    """
    title = declared_title(tree) or title_from_title_tag(tree) or found
    title = clean_text(title)
    if not title:
        return None
    metas = _metas(tree)
    names = [n for n in (site_name, metas.get("og:site_name"), metas.get("application-name")) if n]
    return clean_site_suffix(title, names) or None


def page_author(tree: HtmlElement) -> str | None:
    """The byline the page declares: JSON-LD ``author`` names of the article, then
    ``<meta name="author">`` (or ``article:author`` when it is a name, not a URL)."""
    for item in iter_json_ld(tree):
        if not _types(item) & _ARTICLE_TYPES:
            continue
        author = item.get("author")
        authors = author if isinstance(author, list) else [author]
        names = []
        for entry in authors:
            name = entry.get("name") if isinstance(entry, dict) else entry
            if isinstance(name, str) and name.strip() and not name.strip().startswith("http"):
                names.append(" ".join(name.split()))
        if names:
            return ", ".join(dict.fromkeys(names))
    metas = _metas(tree)
    for key in ("author", "article:author", "dc.creator", "dc:creator", "parsely-author"):
        value = metas.get(key)
        if value and not value.startswith(("http://", "https://")):
            return " ".join(value.split())
    return None
