"""Find the "Related" / "Read next" / "More on this" links of a page.

Main-text extraction drops these boxes on purpose; the related-stories sidebar wants them back.
This works on the raw page with lxml: it looks for blocks (aside, section, div, lists) whose
class, id, label or heading marks them as related-article boxes, and keeps the links in them
that point to articles (not to tag, section, author, login or share pages). Pure, no I/O.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from tuinews.core.models import RelatedLink
from tuinews.core.text import clean_text, is_safe_url

logger = logging.getLogger(__name__)

# Class/id/aria-label/data-* words of a related box ("related-stories", "read_next", "recirc",
# "articulos-relacionados", "mehr-zum-thema"...), in the languages news sites are written in.
_BOX_ATTR = re.compile(
    r"related|similar|recirc|recommend|read[-_ ]?next|up[-_ ]?next|"
    r"more[-_ ]?(?:on|from|about|stories|articles|news|coverage|like[-_ ]?this|to[-_ ]?read|"
    r"to[-_ ]?explore)|also[-_ ]?(?:like|read)|you[-_ ]?(?:may|might)[-_ ]?(?:also[-_ ]?)?like|"
    r"further[-_ ]?reading|see[-_ ]?also|what[-_ ]?to[-_ ]?read|keep[-_ ]?reading|"
    r"dont[-_ ]?miss|correlat|relacionad|relacionat|verwandt|connexe|gerelateerd|powiazan|"
    r"souvisejici|lire[-_ ]?aussi|leia[-_ ]?tambem|leggi[-_ ]?anche|lee[-_ ]?tambien|"
    r"lies[-_ ]?auch|mehr[-_ ]?zum[-_ ]?thema|weitere[-_ ]?artikel|meme[-_ ]?sujet",
    re.IGNORECASE,
)
# A box's heading ("Related", "More on this story", "You may also like", "À lire aussi",
# "Noticias relacionadas", "Читайте также", "相关新闻"...): the words a reader sees over one.
_BOX_HEADING = re.compile(
    r"^\W*(?:"
    # English
    r"related\b|more (?:on|about) (?:this|the)\b|more stories\b|more (?:from|on) \w|more articles\b|other \w+ (?:stories|articles|"
    r"columns|posts)\b|next up\b|read next\b|"
    r"read more\b|up next\b|recommended\b|you (?:may|might) (?:also )?(?:like|enjoy|be "
    r"interested)|further reading\b|see also\b|also read\b|also on\b|what to read next\b|"
    r"more coverage\b|more like this\b|similar (?:articles|stories|posts)\b|more to "
    r"(?:read|explore)\b|other people are reading\b|people also read\b|keep reading\b|"
    r"don.?t miss\b|in case you missed|recommended for you\b|"
    # German, Dutch, Scandinavian
    r"mehr zum thema\b|mehr (?:dazu|aus|von)\b|weitere (?:artikel|beiträge|meldungen|"
    r"nachrichten)\b|verwandte\b|ähnliche (?:artikel|beiträge)\b|das könnte sie (?:auch )?"
    r"interessieren|auch interessant\b|lesen sie (?:auch|mehr)\b|zum thema\b|lees (?:ook|meer)\b|"
    r"gerelateerd|meer over\b|läs (?:också|mer)\b|relaterade?\b|relaterte?\b|les også\b|"
    r"læs også\b|lue myös\b|"
    # French, Spanish, Portuguese, Italian, Romanian, Catalan
    r"(?:à |a )?lire aussi\b|lire la suite\b|sur le même sujet\b|articles? (?:similaires|"
    r"connexes|liés)\b|voir aussi\b|vous (?:aimerez|aimeriez|pourriez aimer)|dans la même "
    r"rubrique|(?:noticias|artículos|articulos|notícias|artigos|articoli|notizie|articole|"
    r"notícies) (?:relacionad[oa]s|relacionats|correlat[ei]|similare|similar(?:es)?)\b|"
    r"te (?:puede|podría) interesar|también te puede|lee también\b|leer más\b|ver también\b|"
    r"más (?:noticias|información|sobre)\b|leia (?:também|mais)\b|veja também\b|saiba mais\b|"
    r"leggi anche\b|potrebbe interessarti|vedi anche\b|citește și\b|"
    # Central and Eastern European, Greek, Turkish
    r"související|čtěte (?:také|též)|další články|súvisiace|zobacz (?:także|też)|czytaj (?:także|"
    r"też|również)|powiązane|kapcsolódó|σχετικά|διαβάστε (?:επίσης|ακόμα)|ilgili haberler|"
    r"benzer haberler|"
    # Cyrillic
    r"читайте (?:также|також|еще)|по теме\b|похожие|смотрите также|см\. также|связанные|"
    r"пов.язані|"
    # Arabic, Hebrew, Persian
    r"اقرأ أيضا|اقرأ أيضاً|مقالات ذات صلة|أخبار ذات صلة|ذات صلة|כתבות (?:נוספות|קשורות)|עוד בנושא|"
    r"مطالب مرتبط|"
    # East and South-East Asian
    r"相关|相關|推荐阅读|推薦閱讀|延伸阅读|延伸閱讀|关联|関連|あわせて読みたい|おすすめ記事|"
    r"관련\s?기사|관련\s?뉴스|tin liên quan|bài viết liên quan|berita terkait|artikel terkait|"
    r"baca juga\b)",
    re.IGNORECASE,
)
# A heading that names something else, even when it starts with a box word ("Related ads",
# "Related searches", "Recommended videos" of an ad network).
_NOT_A_BOX_HEADING = re.compile(
    r"\b(?:ads?|advertisements?|sponsored|promoted|searches|search|tags|podcasts?|jobs|"
    r"products?|deals?|offers?)\b",
    re.IGNORECASE,
)
# Containers that never hold related articles, whatever their heading says.
_NOISE_ATTR = re.compile(
    r"(?:^|[-_ ])(?:comments?|share|sharing|social|ads?|advert\w*|sponsor\w*|promoted|"
    r"newsletter|subscribe|menu|navbar|breadcrumbs?|masthead|site-?header|"
    r"site-?footer|cookie\w*|paywall|login|hatnote)(?:$|[-_ ])",
    re.IGNORECASE,
)
# Site-wide lists (most read, trending, latest): not about this article.
_SITEWIDE_ATTR = re.compile(
    r"trending|popular|most[-_ ]?(?:read|viewed|shared|emailed|commented|recent)|"
    r"(?:^|[-_ ])latest(?:$|[-_ ])|top[-_ ]?stories|editors?[-_ ]?picks",
    re.IGNORECASE,
)
# Ad networks' widgets. A site may name its own box after one (the Guardian's "more on this
# story" is a "js-outbrain-anchor"), so they count as noise only when they show paid links.
_AD_NETWORK_ATTR = re.compile(r"outbrain|taboola|revcontent|zergnet|plista|ligatus|trendmd", re.I)
# The widget itself (not an anchor a site placed for it): always a third-party recommender.
_AD_WIDGET_ATTR = re.compile(
    r"(?:^|\s)(?:outbrain|taboola|zergnet\w*|trendmd\w*|revcontent\w*|ob-widget\w*|"
    r"trc_rbox\w*)(?:$|\s)",
    re.IGNORECASE,
)
# Blocks a reader does not see.
_HIDDEN_ATTR = re.compile(
    r"(?:^|\s)(?:hidden|invisible|is-hidden|d-none|visually-hidden|sr-only|hide)(?:$|\s)", re.I
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# A line inside or after the body that names its own link: "Related: ...", "Read more: ...".
_INLINE_LABEL = re.compile(
    r"^\W*(?:related(?: stories| articles| coverage| content)?|read more|read|see also|also read|"
    r"more|lire aussi|à lire aussi|a lire aussi|lisez aussi|leia também|leia mais|lee también|"
    r"lea también|lesen sie auch|mehr dazu|leggi anche|lees ook|läs också|czytaj też|"
    r"czytaj także|čtěte také|читайте также|читайте також)\s*[:：—–-]",
    re.IGNORECASE,
)
_PAID_TEXT = re.compile(
    r"\b(?:sponsored|promoted|paid (?:post|content)|advertisement|anzeige|publicidad|"
    r"sponsorisé|patrocinado)\b",
    re.IGNORECASE,
)
_SOCIAL_HOSTS = (
    "twitter.com",
    "x.com",
    "facebook.com",
    "fb.com",
    "fb.me",
    "linkedin.com",
    "reddit.com",
    "whatsapp.com",
    "wa.me",
    "t.me",
    "telegram.me",
    "pinterest.com",
    "tumblr.com",
    "getpocket.com",
    "instagram.com",
    "youtube.com",
    "tiktok.com",
    "mastodon.social",
    "bsky.app",
    "news.ycombinator.com",
    "plus.google.com",
    "flipboard.com",
    "vk.com",
    "weibo.com",
    "line.me",
)
_AD_HOSTS = (
    "doubleclick.net",
    "googleadservices.com",
    "googlesyndication.com",
    "outbrain.com",
    "taboola.com",
    "adsrvr.org",
    "criteo.com",
)
# Path segments of pages that are not articles.
_NON_ARTICLE_SEGMENTS = frozenset(
    [
        "tag",
        "tags",
        "topic",
        "topics",
        "category",
        "categories",
        "section",
        "sections",
        "author",
        "authors",
        "people",
        "person",
        "contributor",
        "contributors",
        "profile",
        "profiles",
        "user",
        "users",
        "staff",
        "byline",
        "login",
        "log-in",
        "signin",
        "sign-in",
        "signup",
        "sign-up",
        "register",
        "logout",
        "account",
        "accounts",
        "my-account",
        "subscribe",
        "subscription",
        "subscriptions",
        "subscriber",
        "newsletter",
        "newsletters",
        "search",
        "about",
        "about-us",
        "contact",
        "contact-us",
        "privacy",
        "privacy-policy",
        "terms",
        "terms-of-use",
        "terms-of-service",
        "tos",
        "cookies",
        "cookie-policy",
        "legal",
        "imprint",
        "help",
        "faq",
        "careers",
        "jobs",
        "advertise",
        "feed",
        "feeds",
        "rss",
        "atom",
        "share",
        "sharer",
        "intent",
        "print",
        "comments",
        "comment",
        "page",
        "adsense",
        "kb",
    ]
)
_FILE_EXTENSIONS = re.compile(
    r"\.(?:pdf|jpe?g|png|gif|webp|svg|mp3|mp4|m4a|mov|zip|gz|xml|rss|atom|json|css|js|ico)$",
    re.IGNORECASE,
)
_DATE_IN_PATH = re.compile(r"/(?:19|20)\d\d/\d\d?(?:/|$)|(?:19|20)\d\d-?[01]\d-?[0-3]\d")
_NUMERIC_ID = re.compile(r"\d{5,}")
# A long hexadecimal or mixed id in the last segment ("r~8fa032ba3add11ec...", "bdc82d07bb9f").
_HEX_ID = re.compile(r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,}")
# First path segments that mean "an article", so the next segment is one ("/news/ferry-fares").
_ARTICLE_PREFIXES = frozenset(
    [
        "news",
        "story",
        "stories",
        "article",
        "articles",
        "post",
        "posts",
        "blog",
        "p",
        "a",
        "item",
        "entry",
        "wiki",
        "noticia",
        "noticias",
        "nachrichten",
        "artikel",
        "actualites",
        "actualite",
        "article-detail",
    ]
)
# Last segments that name a section, not a story ("/news/world", "/business/").
_SECTION_SEGMENTS = frozenset(
    [
        "news",
        "world",
        "uk",
        "us",
        "europe",
        "asia",
        "africa",
        "americas",
        "business",
        "politics",
        "sport",
        "sports",
        "tech",
        "technology",
        "science",
        "health",
        "culture",
        "arts",
        "opinion",
        "video",
        "videos",
        "live",
        "local",
        "national",
        "international",
        "entertainment",
        "lifestyle",
        "travel",
        "food",
        "weather",
        "economy",
        "money",
        "markets",
        "climate",
        "environment",
        "education",
        "media",
        "books",
        "music",
        "film",
        "tv",
        "games",
        "football",
        "latest",
        "home",
        "index",
        "archive",
        "archives",
        "main",
        "default",
        "more",
        "all",
    ]
)
# Wiki namespaces: portals, files and special pages are not articles.
_WIKI_NAMESPACE = re.compile(
    r"^(?:portal|file|image|special|category|help|template|talk|user|wikipedia|media):", re.I
)
_ID_QUERY = re.compile(r"(?:^|&)(?:p|id|story|article|storyid|articleid|aid|sid)=\w", re.I)
_DATE_TEXT = re.compile(
    r"\b(?:\d+\s*(?:min(?:ute)?s?|h(?:ou)?rs?|days?|weeks?|months?)\s+ago|yesterday|today|"
    r"(?:hace|il y a|vor|há) \d+\s*\w+|\d+\s*(?:ore|giorni|minuti) fa|"
    r"\d+\s*(?:час\w*|минут\w*|дн\w*) назад|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}|"
    r"\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}|"
    r"\d{4}-\d\d-\d\d|\d{1,2}/\d{1,2}(?:/\d{2,4})?)",
    re.IGNORECASE,
)
_SOURCE_ATTR = re.compile(r"source|publisher|provider|outlet|site-?name|origin|brand", re.I)
_TIME_ATTR = re.compile(r"date|time|ago|published", re.I)
MAX_LINKS = 40
"""Links kept per page: a page may show several boxes (a stream of 15 and a list of 8)."""
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_NOT_SHOWN = frozenset(["style", "script", "noscript", "template"])
_ITEM_TAGS = ("li", "article")
_MIN_TITLE = 4
_SMALL_BOX_CHARS = 3000
_CITATION = re.compile(r"\bISBN\b|\bdoi:|\bISSN\b|\bOCLC\b|\bRetrieved \d", re.I)
_ACRONYM = re.compile(r"[A-Z]{2,5}")
_ADS_TEXT = re.compile(r"^\W*(?:sponsored|advertisement|ad|promoted|paid (?:post|content))\b", re.I)


def _attrs(el: HtmlElement) -> str:
    return " ".join(
        v
        for v in (el.get("class"), el.get("id"), el.get("aria-label"), el.get("data-component"))
        if v
    )


def _text(el: HtmlElement) -> str:
    return clean_text(str(el.text_content()))


# The page's links, in order, less those inside a nav or the page's own header or footer:
# the structural half of _is_chrome, run in libxml2. On news pages most links are in menus,
# and walking each of their ancestors in Python was the costliest part of the search.
# _is_chrome still judges roles and class names (an XPath test of @role cost 5x more).
_LINKS_OUTSIDE_PAGE_CHROME = etree.XPath(
    "//a[@href][not(ancestor::nav)]"
    "[not(ancestor::header[not(ancestor::article or ancestor::main)])]"
    "[not(ancestor::footer[not(ancestor::article or ancestor::main)])]"
)


def _is_chrome(el: HtmlElement, attrs: str) -> bool:
    """Site navigation, page header/footer, menus, comments, share bars and ads.

    ``attrs`` is ``_attrs(el)``, read once by the caller for this test and :func:`_is_box`.
    """
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in ("html", "body"):
        return False  # their classes are the site's feature flags and themes
    role = (el.get("role") or "").lower()
    if tag == "nav" or role in ("navigation", "banner", "contentinfo", "menu", "menubar"):
        return True
    if tag in ("header", "footer"):
        # An article's own header/footer may hold its related box; the page's may not.
        return not any(a.tag in ("article", "main") for a in el.iterancestors())
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    if not attrs:
        return False
    if _NOISE_ATTR.search(attrs) or _SITEWIDE_ATTR.search(attrs):
        return True
    cls = el.get("class") or ""
    if cls and (_AD_WIDGET_ATTR.search(cls) or _HIDDEN_ATTR.search(cls)):
        return True
    return bool(_AD_NETWORK_ATTR.search(attrs)) and bool(_PAID_TEXT.search(_text(el)))


def _names_box(text: str) -> bool:
    """Does a heading's text name a related box ("Related", "Lire aussi"), not ads or tags?"""
    return (
        0 < len(text) <= 80
        and bool(_BOX_HEADING.search(text))
        and not _NOT_A_BOX_HEADING.search(text)
    )


def _heading_rank(el: HtmlElement) -> int:
    tag = el.tag if isinstance(el.tag, str) else ""
    return int(tag[1]) if tag in _HEADINGS else 7


def _heading_sections(
    tree: HtmlElement, box_headings: list[HtmlElement]
) -> dict[HtmlElement, HtmlElement]:
    """Links under a box heading that is not inside its box's container, mapped to the element
    that holds heading and links: the way a reader sees a "See also" heading followed by a
    list, with other blocks (a portal box, an ad) between them.

    The section is the heading's following siblings (the heading's own wrapper first climbed:
    ``<div class="mw-heading"><h2>``, ``<header><h3>``) up to the next heading of the same or a
    higher rank, or to a block of running text.
    """
    out: dict[HtmlElement, HtmlElement] = {}
    for heading in box_headings:
        rank = _heading_rank(heading)
        own = len(_text(heading))
        unit = heading
        parent = unit.getparent()
        while parent is not None and parent.tag not in ("body", "html"):
            if len(_text(parent)) > own + 24:
                break
            unit, parent = parent, parent.getparent()
        for _ in range(3):  # the links may be a level up: <div><h2/></div><ul>...</ul>
            nodes: list[HtmlElement] = []
            for sib in unit.itersiblings():
                if not isinstance(sib.tag, str) or sib.tag in _NOT_SHOWN:
                    continue
                if _heading_rank(sib) <= rank or any(
                    _heading_rank(h) <= rank for h in sib.iter(*_HEADINGS)
                ):
                    break
                linked = sum(len(_text(a)) for a in sib.iter("a"))
                if len(_text(sib)) - linked > 400:
                    break  # running text: the article or another block, not this box
                nodes.append(sib)
            links = [a for node in nodes for a in node.iter("a")]
            if links:
                holder = unit.getparent()
                for a in links:
                    out.setdefault(a, holder if holder is not None else unit)
                break
            parent = unit.getparent()
            if parent is None or parent.tag in ("body", "html"):
                break
            unit = parent
    return out


# Elements that sites use as a box's title instead of h1-h6 (a bold "Related" div or span).
_LABEL_TAGS = ("div", "span", "p", "strong", "b", "dt", "label", "figcaption", "legend")


def _label_headings(tree: HtmlElement) -> list[HtmlElement]:
    """Short non-heading elements that title a box the way a heading would: their whole
    text names a box ("Related stories", "Lire aussi"), they hold no link and sit in no link.
    "Read more" is left out here: outside a heading it is mostly a button."""
    out: list[HtmlElement] = []
    for el in tree.iter(*_LABEL_TAGS):
        text = (el.text or "").strip()
        if not text or len(text) > 60 or next(el.iter("a"), None) is not None:
            continue
        if len(el) and len(_text(el)) > len(text) + 2:
            continue  # more than a label: a paragraph that starts with the words
        if not _names_box(text) or text.lower().startswith("read more"):
            continue
        if any(a.tag == "a" for a in el.iterancestors()):
            continue
        out.append(el)
    return out


def _inline_related(tree: HtmlElement) -> dict[HtmlElement, HtmlElement]:
    """Links of short lines that label themselves ("Related: <a>…</a>", "Read more: …"), as
    news sites put them inside or right after the body, mapped to their line."""
    out: dict[HtmlElement, HtmlElement] = {}
    for el in tree.iter("p", "li", "div", "h3", "h4", "h5", "h6"):
        first = (el.text or "").strip()
        if not first:
            child = next(iter(el), None)
            if child is None or not isinstance(child.tag, str) or child.tag == "a":
                continue
            first = _text(child)
        if not _INLINE_LABEL.match(first[:60]):
            continue
        links = list(el.iter("a"))
        if not links or len(links) > 3 or len(_text(el)) > 300:
            continue
        for a in links:
            out.setdefault(a, el)
    return out


def _box_heading(el: HtmlElement) -> HtmlElement | None:
    """The heading that names the box: its first heading, or a heading right before a list."""
    if el.tag in ("ul", "ol"):
        previous = el.getprevious()
        if previous is not None and previous.tag in (*_HEADINGS, "p", "strong", "div", "span"):
            return previous
    for child in el.iter(*_HEADINGS):
        return child
    return None


def _looks_like_link_list(el: HtmlElement) -> bool:
    """A box is short or mostly links: a page wrapper with a "has-read-next" class is not."""
    total = len(" ".join(el.text_content().split()))
    if total <= _SMALL_BOX_CHARS:
        return True
    linked = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
    return linked >= 0.5 * total


def _is_box(el: HtmlElement, attrs: str, box_headings: set[HtmlElement]) -> bool:
    """Is ``el`` a related-articles box? ``attrs`` is ``_attrs(el)``; ``box_headings`` holds
    the page's headings whose text names a box and all their ancestors: only an element in
    it (or a list after a paragraph or span) can be a box by its heading."""
    tag = el.tag
    if tag not in ("aside", "section", "div", "ul", "ol", "article"):
        return False
    if attrs and _BOX_ATTR.search(attrs):
        return _looks_like_link_list(el)
    if tag not in ("ul", "ol") and el not in box_headings:
        return False  # its first heading (searched below) can only name a box if it is one of these
    heading = _box_heading(el)
    if heading is None:
        return False
    text = _text(heading)
    if not _names_box(text) or not _looks_like_link_list(el):
        return False
    # The heading must come before the box's links, or this is just a page that mentions it.
    first_link = next(el.iter("a"), None)
    if first_link is None:
        return False
    if heading.getparent() is el.getparent() and heading is not el:
        return True  # a heading right before the list
    for node in el.iter(*_HEADINGS, "a"):
        if node is heading:
            return True
        if node is first_link:
            return False
    return False


def _canonical(url: str) -> str:
    """A URL for comparison: no fragment, lower-case host, no trailing slash, no "www."."""
    parts = urlsplit(urldefrag(url)[0])
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


def is_article_url(url: str) -> bool:
    """Heuristic: does this absolute URL look like one article (not a listing, account or share page)?

    Args:
        url: an absolute http(s) URL.
    """
    if not is_safe_url(url):
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or any(host == h or host.endswith("." + h) for h in _SOCIAL_HOSTS):
        return False
    if host.startswith(
        ("share.", "sharer.", "login.", "accounts.", "account.", "auth.", "help.", "ads.", "ad.")
    ) or any(host == h or host.endswith("." + h) for h in _AD_HOSTS):
        return False
    path = parts.path
    segments = [s for s in path.split("/") if s]
    if not segments:
        return bool(_ID_QUERY.search(parts.query))
    lowered = [s.lower() for s in segments]
    if any(s in _NON_ARTICLE_SEGMENTS for s in lowered):
        return False
    if _FILE_EXTENSIONS.search(path):
        return False
    last = re.sub(r"\.(?:s?html?|php|aspx?|jsp)$", "", lowered[-1])
    if _WIKI_NAMESPACE.match(last):
        return False
    slug_words = [w for w in re.split(r"[-_+]", last) if w]
    if _DATE_IN_PATH.search(path) or _NUMERIC_ID.search(path) or _ID_QUERY.search(parts.query):
        return True
    if _HEX_ID.search(last):
        return True
    if len(segments) >= 2 and lowered[-2] in _ARTICLE_PREFIXES and last not in _SECTION_SEGMENTS:
        return True  # "/news/ferry-fares", "/wiki/Day_Break"
    # Sections have short slugs ("/tech/artificial-intelligence/"); articles long ones.
    if len(slug_words) >= 4 or (len(slug_words) >= 3 and len(last) >= 18):
        return True
    return len(segments) >= 3 and len(last) >= 8 and len(slug_words) >= 2


def _item_of(link: HtmlElement, box: HtmlElement) -> HtmlElement:
    """The element holding one entry of the box: the widest ancestor of ``link`` (below the
    box) whose links all point to one place, so an image link and its headline share it."""
    node = link
    for ancestor in link.iterancestors():
        if ancestor is box:
            break
        hrefs = {urldefrag((a.get("href") or "").strip())[0] for a in ancestor.iter("a")}
        hrefs.discard("")
        if len(hrefs) > 1:
            break
        node = ancestor
        if ancestor.tag in _ITEM_TAGS:
            break
    return node


def _good_title(text: str) -> bool:
    # A box's own heading ("Related reads") linked to a story is not that story's title.
    return len(text) >= _MIN_TITLE and not (len(text) < 40 and _BOX_HEADING.search(text))


def _title_for(link: HtmlElement, item: HtmlElement) -> str:
    text = _text(link)
    if _good_title(text) and len(text) >= 15:
        return text
    # A short link text is often a label ("Gallery", "00:53"); the item's headline is better.
    for heading in item.iter(*_HEADINGS):
        if _good_title(heading_text := _text(heading)) and len(heading_text) > len(text):
            return heading_text
    if _good_title(text):
        return text
    for candidate in (link, item):
        for heading in candidate.iter(*_HEADINGS):
            if _good_title(heading_text := _text(heading)):
                return heading_text
    for candidate_text in (link.get("title"), link.get("aria-label")):
        if _good_title(cleaned := clean_text(candidate_text)):
            return cleaned
    for img in link.iter("img"):
        if _good_title(alt := clean_text(img.get("alt"))):
            return alt
    return ""


def _details(link: HtmlElement, item: HtmlElement) -> tuple[str | None, str | None]:
    """The source (site name) and time text shown next to a link, if the item shows them."""
    if item is link:
        return None, None
    inside_link = set(link.iter())
    source: str | None = None
    published: str | None = None
    for el in item.iter():
        if el in inside_link or not isinstance(el.tag, str) or el.tag in _HEADINGS:
            continue
        if published is None and el.tag == "time":
            published = _strip_bullets(_text(el) or clean_text(el.get("datetime"))) or None
            continue
        attrs = _attrs(el)
        if not attrs:
            continue
        text = _text(el)
        if not text or len(text) > 60:
            continue
        if source is None and _SOURCE_ATTR.search(attrs) and not _DATE_TEXT.fullmatch(text):
            source = text
        elif published is None and _TIME_ATTR.search(attrs) and len(text) <= 40:
            published = _strip_bullets(text) or None
    if source is None or published is None:
        source, published = _plain_details(link, item, inside_link, source, published)
    return source, published


_DETAIL_SEPARATORS = re.compile(r"\s*[\u00b7\u2022|\u2014\u2013]\s*|\s+-\s+|,\s+|\(|\)")
_NOT_A_SOURCE = re.compile(r"^(?:by\b|von\b|par\b|por\b|\d+\s*(?:min|minutes?)\b)|\bread\b", re.I)


def _plain_details(
    link: HtmlElement,
    item: HtmlElement,
    inside_link: set[HtmlElement],
    source: str | None,
    published: str | None,
) -> tuple[str | None, str | None]:
    """Source and time shown as plain text beside a link ("Valley Courier · 2 hours ago"),
    with no class to name them: a time-like piece is the time, and a single other short piece
    is the source."""
    pieces: list[str] = []
    for node in item.xpath(".//text()"):
        owner = node.getparent()
        if node.is_tail and owner is not None:
            owner = owner.getparent()
        if owner is None or owner in inside_link or owner.tag in _NOT_SHOWN:
            continue
        if owner.tag in _HEADINGS or owner.tag == "a":
            continue  # a headline or another link (a section, an author)
        for part in _DETAIL_SEPARATORS.split(str(node)):
            if cleaned := _strip_bullets(clean_text(part)):
                pieces.append(cleaned)
    others: list[str] = []
    for piece in pieces:
        if len(piece) <= 40 and _DATE_TEXT.fullmatch(piece):
            if published is None:
                published = piece
        elif 2 <= len(piece) <= 40 and not _NOT_A_SOURCE.search(piece):
            others.append(piece)
    if source is None and len(others) == 1 and any(c.isalpha() for c in others[0]):
        source = others[0]
    return source, published


def _strip_bullets(text: str) -> str:
    return text.strip(" \u2022\u00b7|-\u2013\u2014/")


def _base_href(tree: HtmlElement, page_url: str) -> str:
    base = tree.find(".//base[@href]")
    if base is not None:
        href = (base.get("href") or "").strip()
        if href:
            return str(urljoin(page_url, href))
    return page_url


def find_related_links_in_tree(
    tree: HtmlElement, base_url: str, *, limit: int = MAX_LINKS
) -> list[RelatedLink]:
    """:func:`find_related_links` on an already parsed page (the tree is not changed).

    Args:
        tree: the page as parsed by ``lxml.html``.
        base_url: the page's URL.
        limit: at most this many links.
    """
    if limit <= 0:
        return []
    resolve_from = _base_href(tree, base_url)
    own = _canonical(base_url)
    # None: not inside a box; False: inside site chrome; else the box element.
    verdicts: dict[HtmlElement, HtmlElement | bool | None] = {}
    # Headings whose text names a box, and their ancestors. Most pages have none or one;
    # knowing them up front spares a subtree search in every ancestor of every link.
    box_headings: set[HtmlElement] = set()
    named: list[HtmlElement] = []
    for heading in tree.iter(*_HEADINGS):
        if _names_box(_text(heading)):
            named.append(heading)
            box_headings.add(heading)
            box_headings.update(heading.iterancestors())
    sections = _heading_sections(tree, named + _label_headings(tree))
    for link, line in _inline_related(tree).items():
        sections.setdefault(link, line)

    def box_of(link: HtmlElement) -> HtmlElement | bool | None:
        chain: list[HtmlElement] = []
        verdict: HtmlElement | bool | None = None
        for el in link.iterancestors():
            if el in verdicts:
                verdict = verdicts[el]
                break
            chain.append(el)
        # Walk from the outermost unknown ancestor inwards: chrome wins over a box inside it,
        # and the outermost box is the one its links belong to.
        for el in reversed(chain):
            if verdict is not False:
                attrs = _attrs(el)
                if _is_chrome(el, attrs):
                    verdict = False
                elif verdict is None and _is_box(el, attrs, box_headings):
                    verdict = el
            verdicts[el] = verdict
        return verdict

    found: dict[str, RelatedLink] = {}
    for link in _LINKS_OUTSIDE_PAGE_CHROME(tree):
        href = (link.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        if href.lower().startswith(("javascript:", "data:", "file:", "mailto:", "tel:", "sms:")):
            continue
        verdict = box_of(link)
        if verdict is False:
            continue  # site chrome, comments, ads
        box = verdict if isinstance(verdict, HtmlElement) else sections.get(link)
        if box is None:
            continue
        try:
            url = urldefrag(urljoin(resolve_from, href))[0]
        except ValueError:  # malformed (e.g. a bad IPv6 host)
            continue
        if not is_article_url(url):
            continue
        key = _canonical(url)
        if key == own:
            continue
        previous = found.get(key)
        if previous is None and len(found) >= 2 * limit:
            continue  # a new link past the limit: no need to read its title
        item = _item_of(link, box)
        title = _title_for(link, item)
        if _ADS_TEXT.match(title) or _ADS_TEXT.match(_text(item)):
            continue
        if _CITATION.search(_text(item)) or _ACRONYM.fullmatch(title):
            continue  # a bibliography entry (an author, an ISBN), not a story
        if previous is not None:
            # An image link and a headline link often share a URL: keep the better title.
            if len(previous.title) < _MIN_TITLE <= len(title):
                found[key] = RelatedLink(previous.url, title, previous.source, previous.published)
            continue
        source, published = _details(link, item)
        found[key] = RelatedLink(url=url, title=title, source=source, published=published)
    return _without_section_links(found)[:limit]


def _without_section_links(found: dict[str, RelatedLink]) -> list[RelatedLink]:
    """The links with a title, less those whose address is a folder of another one's: the
    "Customer Data" link above a story at ``/customer-data/...`` is its section."""
    keys = [k.split("?")[0] for k in found]
    out: list[RelatedLink] = []
    for key, link in found.items():
        if not link.title:
            continue
        folder = key.split("?")[0] + "/"
        if any(other.startswith(folder) for other in keys):
            continue
        out.append(link)
    return out


_TERMINAL_CONTROL_CHARS = ("\x1b", *map(chr, range(0x80, 0xA0)))
# 7-bit escape sequences (CSI, OSC/DCS/APC strings bounded in length, two-byte escapes) and
# any lone C1 control. Bounded so one stray introducer can't swallow the rest of the page.
_HTML_ESCAPES = re.compile(
    r"\x1b\[[0-?]{0,64}[ -/]{0,8}[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]{0,8}[0-~]?"
    r"|[\x80-\x9f]"
)


def strip_terminal_escapes(html: str) -> str:
    """Remove terminal escape sequences and C1 controls from a page before it is parsed.

    The HTML parser drops a bare ESC but keeps the rest of its sequence (``[31m``), so
    cleaning the extracted text afterwards is too late. Text is cleaned again afterwards.
    """
    if html.isascii():  # O(1): CPython knows; then only ESC can be present
        if "\x1b" not in html:
            return html
    elif not any(c in html for c in _TERMINAL_CONTROL_CHARS):
        # 33 substring searches are 1.7x faster than one character-class regex here.
        return html
    return _HTML_ESCAPES.sub("", html)


def find_related_links(html: str, base_url: str, *, limit: int = MAX_LINKS) -> list[RelatedLink]:
    """Find the links of a page's related-articles boxes, in page order, without duplicates.

    Args:
        html: the decoded page.
        base_url: the page's URL (relative links are resolved against it, or its ``<base>``).
        limit: at most this many links.

    Returns:
        Links to article-like pages, each with a cleaned title and, where the box shows
        them, the source and the time text. Navigation, tag/section/author pages, login and
        share links, ads, comments and the page itself are left out.
    """
    from trafilatura.utils import load_html

    try:
        tree = load_html(strip_terminal_escapes(html))
    except (ValueError, etree.ParserError, RecursionError):
        logger.debug("related links: cannot parse %s", base_url, exc_info=True)
        return []
    if tree is None:
        return []
    try:
        return find_related_links_in_tree(tree, base_url, limit=limit)
    except RecursionError:
        return []
