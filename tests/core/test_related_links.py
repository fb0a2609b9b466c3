"""Tests for tuinews.core.related_links: our own boxes and the real readability pages."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tuinews.core.related_links import find_related_links, is_article_url

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
READABILITY = DATA / "pages" / "readability"
PAGE_URL = "https://www.news.example/2026/11/20/sea-wall-repairs-to-begin"
BODY = "<p>" + "The harbour authority said repairs would begin in spring. " * 20 + "</p>"


def page(*boxes: str, head: str = "") -> str:
    return (
        f"<html><head><title>Sea wall</title>{head}</head><body>"
        "<header class='site-header'><nav><a href='/'>Home</a>"
        "<a href='/2026/11/19/menu-link-looks-like-an-article'>Menu story</a></nav></header>"
        f"<main><article><h1>Sea wall repairs</h1>{BODY}</article>{''.join(boxes)}</main>"
        "<footer><a href='/about'>About</a>"
        "<a href='/2026/11/01/footer-link-that-looks-like-an-article'>Footer story</a></footer>"
        "</body></html>"
    )


def urls(html: str, base: str = PAGE_URL, **kwargs: int) -> list[str]:
    return [link.url for link in find_related_links(html, base, **kwargs)]


def test_aside_with_related_class() -> None:
    html = page(
        "<aside class='related-articles'><h3>Related</h3><ul>"
        "<li><a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></li>"
        "<li><a href='https://other.example/news/harbour-storm-damage-bill-12345'>Storm bill</a></li>"
        "</ul></aside>"
    )
    assert urls(html) == [
        "https://www.news.example/2026/11/18/ferry-fares-rise-again",
        "https://other.example/news/harbour-storm-damage-bill-12345",
    ]


@pytest.mark.parametrize(
    "heading",
    [
        "Related",
        "More on this story",
        "Read next",
        "Recommended for you",
        "You may also like",
        "Further reading",
        "See also",
        "More stories",
    ],
)
def test_box_found_by_heading(heading: str) -> None:
    html = page(
        f"<section><h2>{heading}</h2><ul>"
        "<li><a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></li>"
        "</ul></section>"
    )
    assert urls(html) == ["https://www.news.example/2026/11/18/ferry-fares-rise-again"]


def test_heading_before_list() -> None:
    html = page(
        "<div><h4>Read more</h4><ul><li><a href='/world/long-slug-about-the-harbour-wall'>"
        "A long story about the wall</a></li></ul></div>"
    )
    assert urls(html) == ["https://www.news.example/world/long-slug-about-the-harbour-wall"]


@pytest.mark.parametrize(
    "class_name",
    [
        "read-next",
        "more-on-this",
        "recirc-module",
        "recommended",
        "also-like",
        "further-reading",
        "see-also",
        "more-stories",
    ],
)
def test_box_found_by_class(class_name: str) -> None:
    html = page(
        f"<div class='{class_name}'><a href='/2026/11/18/ferry-fares-rise-again'>"
        "Ferry fares rise again</a></div>"
    )
    assert urls(html) == ["https://www.news.example/2026/11/18/ferry-fares-rise-again"]


def test_no_box_no_links() -> None:
    html = page(
        "<div class='sidebar'><h2>Most popular</h2><ul><li>"
        "<a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></li></ul></div>"
    )
    assert urls(html) == []


def test_excludes_non_article_links() -> None:
    bad = [
        "/",
        "/news/",
        "/tag/harbour",
        "/tags/ferries",
        "/topic/transport",
        "/topics/x",
        "/category/local-news",
        "/section/uk",
        "/author/ada-writer",
        "/authors/ada",
        "/people/ada-writer",
        "/login",
        "/signin",
        "/subscribe",
        "/account/settings",
        "/search?q=harbour",
        "/about",
        "/contact",
        "/privacy",
        "/terms",
        "/newsletter",
        "#comments",
        "#",
        "javascript:void(0)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "mailto:desk@news.example",
        PAGE_URL,
        PAGE_URL + "#comments",
        PAGE_URL + "/",
        "https://twitter.com/intent/tweet?url=https://www.news.example/2026/11/20/x",
        "https://x.com/share?url=a",
        "https://www.facebook.com/sharer/sharer.php?u=a",
        "https://www.linkedin.com/shareArticle?url=a",
        "https://reddit.com/submit?url=a",
        "https://wa.me/?text=a",
        "https://api.whatsapp.com/send?text=a",
        "/media/report-2026-11-20.pdf",
        "/tech/artificial-intelligence/",
    ]
    good = "/2026/11/18/ferry-fares-rise-again"
    items = "".join(f"<li><a href='{href}'>A link with some words</a></li>" for href in bad)
    html = page(
        f"<aside class='related'><ul>{items}<li><a href='{good}'>Ferry fares rise again</a>"
        "</li></ul></aside>"
    )
    assert urls(html) == ["https://www.news.example" + good]


def test_excludes_chrome_comments_share_and_ads_inside_a_box() -> None:
    html = page(
        "<aside class='related'>"
        "<nav><a href='/2026/11/17/nav-link-inside-box-looks-like-story'>Nav</a></nav>"
        "<div class='share-bar'><a href='/2026/11/17/share-this-story-now-please'>Share</a></div>"
        "<div class='ad-slot'><a href='/2026/11/17/buy-our-sponsored-product-today'>Ad</a></div>"
        "<div class='sponsored'><a href='https://ads.example/2026/11/17/a-b-c-d'>Promo</a></div>"
        "<div class='comments'><a href='/2026/11/17/reader-comment-link-to-story'>Reader</a></div>"
        "<ul><li><a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></li></ul>"
        "</aside>"
    )
    assert urls(html) == ["https://www.news.example/2026/11/18/ferry-fares-rise-again"]


def test_page_chrome_with_related_words_is_ignored() -> None:
    html = (
        "<html><body><nav class='related-sites'><a href='/2026/11/01/a-nav-story-here'>N</a></nav>"
        "<footer><div class='related'><a href='/2026/11/02/a-footer-story-here'>F</a></div>"
        f"</footer><article>{BODY}</article></body></html>"
    )
    assert urls(html) == []


def test_page_wrapper_with_related_class_is_not_a_box() -> None:
    # Medium marks its whole page "is-showingReadNextSidebar": not a related box.
    links = "".join(
        f"<a href='/2026/11/0{i}/inline-link-in-the-text-{i}'>l{i}</a>" for i in range(5)
    )
    html = (
        f"<html><body><div class='screen is-showingReadNextSidebar'><article>{BODY}{links}"
        f"{BODY}</article></div></body></html>"
    )
    assert urls(html) == []


def test_titles_sources_and_times() -> None:
    html = page(
        "<aside class='related-stories'><h2>Related coverage</h2>"
        "<article class='card'><a href='/2026/11/18/ferry-fares-rise-again'>"
        "<img src='/i.jpg' alt=''></a>"
        "<h3><a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise &amp; again</a></h3>"
        "<span class='source'>Harbour Herald</span> <time datetime='2026-11-18'>18 Nov 2026</time>"
        "</article>"
        "<article class='card'><a href='/2026/11/17/gallery-of-the-storm'>Gallery</a>"
        "<h3>Pictures of the storm night</h3><span class='timestamp'>2 hours ago</span></article>"
        "<article class='card'><a href='/2026/11/16/a-linked-image-only'>"
        "<img src='/j.jpg' alt='Divers inspect the harbour wall'></a></article>"
        "</aside>"
    )
    links = find_related_links(html, PAGE_URL)
    assert [(link.title, link.source, link.published) for link in links] == [
        ("Ferry fares rise & again", "Harbour Herald", "18 Nov 2026"),
        ("Pictures of the storm night", None, "2 hours ago"),
        ("Divers inspect the harbour wall", None, None),
    ]


def test_dedup_page_order_limit_and_base_element() -> None:
    items = "".join(
        f"<li><a href='stories/harbour-story-number-{i}'>Harbour story number {i}</a></li>"
        for i in (3, 1, 3, 2, 1)
    )
    html = page(
        f"<aside class='related'><ul>{items}</ul></aside>",
        head="<base href='https://cdn.news.example/archive/'>",
    )
    expected = [
        f"https://cdn.news.example/archive/stories/harbour-story-number-{i}" for i in (3, 1, 2)
    ]
    assert urls(html) == expected
    assert urls(html, limit=2) == expected[:2]
    assert urls(html, limit=0) == []


def test_titles_are_cleaned() -> None:
    html = page(
        "<aside class='related'><a href='/2026/11/18/ferry-fares-rise-again'>"
        "Ferry\x1b[31m fares\u202e   rise\n again</a></aside>"
    )
    (link,) = find_related_links(html, PAGE_URL)
    assert link.title == "Ferry fares rise again"


@pytest.mark.parametrize("html", ["", "not html", "<html>", "<a href='/x'>" * 1000, "\x00\x00"])
def test_garbage_does_not_crash(html: str) -> None:
    assert find_related_links(html, PAGE_URL) == []


def test_deep_dom_does_not_crash() -> None:
    html = "<html><body>" + "<div class='related'>" * 50_000 + "</body></html>"
    assert find_related_links(html, PAGE_URL) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/2026/11/20/story", True),
        ("https://a.example/news/uk-politics-12345678", True),
        ("https://a.example/world/europe/a-long-story-slug-here", True),
        ("https://a.example/articles/315184.php?sr", True),
        ("https://a.example/?p=1234", True),
        ("https://a.example/", False),
        ("https://a.example/news", False),
        ("https://a.example/news/world", False),
        ("https://a.example/tag/a-b-c-d-e", False),
        ("https://a.example/author/jane-doe-the-writer", False),
        ("ftp://a.example/2026/11/20/story", False),
        ("https://www.facebook.com/some/long-article-looking-path-here", False),
    ],
)
def test_is_article_url(url: str, expected: bool) -> None:
    assert is_article_url(url) is expected


# Path segments a related link must never point to (on top of home pages and social hosts).
_BAD_SEGMENT = re.compile(
    r"/(?:tags?|topics?|category|categories|section|sections|authors?|people|login|signin|"
    r"subscribe|account|search|about|contact|privacy|terms|newsletter)(?:/|$|\?)",
    re.IGNORECASE,
)
_SOCIAL = ("twitter.com", "x.com", "facebook.com", "linkedin.com", "reddit.com", "whatsapp.com")


def test_real_pages_only_article_links() -> None:
    if not READABILITY.is_dir():
        pytest.skip("../shared/data is absent (a user's clone)")
    pages = sorted(p for p in READABILITY.iterdir() if (p / "source.html").is_file())
    with_links = 0
    for page_dir in pages:
        base = f"http://fakehost/{page_dir.name}/index.html"
        html = (page_dir / "source.html").read_text(encoding="utf-8")
        links = find_related_links(html, base)
        with_links += bool(links)
        assert len(links) <= 40
        assert len({link.url for link in links}) == len(links), page_dir.name
        for link in links:
            parts = urlsplit(link.url)
            host = (parts.hostname or "").removeprefix("www.")
            assert parts.scheme in ("http", "https"), link
            assert parts.path.strip("/"), f"{page_dir.name}: home page {link.url}"
            assert not _BAD_SEGMENT.search(parts.path), f"{page_dir.name}: {link.url}"
            assert not any(host == s or host.endswith("." + s) for s in _SOCIAL), link.url
            assert link.url.split("#")[0] != base
            assert link.title and "\x1b" not in link.title, link
    # Measured: 25 of the 130 pages have a related box we recognise (aclu, citylab,
    # heise, wikia, yahoo...). Far fewer would mean the finder broke.
    assert with_links >= 15


# -- boxes as a person sees them (issue 13) -------------------------------------------------------


def test_plain_related_stories_aside_with_source_and_age() -> None:
    # The shape two small sites outside the project used: no article-like URLs, no classes
    # on the details, the outlet and the age as plain text.
    html = page(
        "<aside class='related-stories'><h2>Related stories</h2><ul>"
        "<li><a href='/news/bridge-repairs'>Bridge repairs begin</a> Valley Courier"
        " \u00b7 2 hours ago</li>"
        "<li><a href='https://other.example/story/ferry'>Ferry returns</a>"
        " <span>Harbour Herald</span>, <span>3 days ago</span></li>"
        "<li><a href='/local/r~8fa032ba3add11ec8a900cc47ab5f122/'>Night buses return</a></li>"
        "</ul></aside>"
    )
    links = find_related_links(html, PAGE_URL)
    assert [(link.url, link.title, link.source, link.published) for link in links] == [
        (
            "https://www.news.example/news/bridge-repairs",
            "Bridge repairs begin",
            "Valley Courier",
            "2 hours ago",
        ),
        ("https://other.example/story/ferry", "Ferry returns", "Harbour Herald", "3 days ago"),
        (
            "https://www.news.example/local/r~8fa032ba3add11ec8a900cc47ab5f122/",
            "Night buses return",
            None,
            None,
        ),
    ]


@pytest.mark.parametrize(
    "heading",
    [
        "À lire aussi",
        "Sur le même sujet",
        "Noticias relacionadas",
        "Leia também",
        "Leggi anche",
        "Mehr zum Thema",
        "Das könnte Sie auch interessieren",
        "Lees ook",
        "Související články",
        "Czytaj także",
        "Читайте также",
        "相关新闻",
        "関連記事",
        "관련 기사",
        "اقرأ أيضا",
        "Baca juga",
        "Similar articles",
        "You may like",
        "More like this",
    ],
)
def test_box_headings_in_many_languages(heading: str) -> None:
    html = page(
        f"<div><h3>{heading}</h3><ul>"
        "<li><a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></li>"
        "</ul></div>"
    )
    assert urls(html) == ["https://www.news.example/2026/11/18/ferry-fares-rise-again"]


@pytest.mark.parametrize(
    "class_name", ["articulos-relacionados", "mehr-zum-thema", "lire-aussi", "similar_posts"]
)
def test_box_classes_in_many_languages(class_name: str) -> None:
    html = page(
        f"<div class='{class_name}'><a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares</a>"
        "</div>"
    )
    assert urls(html) == ["https://www.news.example/2026/11/18/ferry-fares-rise-again"]


def test_see_also_section_with_a_block_between_heading_and_list() -> None:
    # A wiki's "See also": the heading, a portal box, then the list, then the next section.
    html = (
        "<html><body><div class='content'><h2>History</h2>"
        f"{BODY}<h2>See also</h2><div class='portal'><a href='/wiki/Portal:Harbours'>"
        "Harbours portal</a></div><ul><li><a href='/wiki/Sea_wall'>Sea wall</a></li>"
        "<li><a href='/wiki/Breakwater_(structure)'>Breakwater (structure)</a></li></ul>"
        "<h2>References</h2><ul><li><a href='/wiki/Harbour_Act_1910'>Harbour Act</a></li></ul>"
        "</div></body></html>"
    )
    assert urls(html, "https://wiki.example/wiki/Harbour") == [
        "https://wiki.example/wiki/Sea_wall",
        "https://wiki.example/wiki/Breakwater_(structure)",
    ]


def test_box_headings_that_name_ads_or_searches_are_not_boxes() -> None:
    for heading in ("Related Ads", "Related searches", "Recommended products"):
        html = page(
            f"<div class='rail'><h3>{heading}</h3><ul><li>"
            "<a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></li></ul></div>"
        )
        assert urls(html) == [], heading


def test_ad_network_anchor_class_is_a_box_unless_it_shows_paid_links() -> None:
    own = (
        "<aside class='related more-on-this-story js-outbrain-anchor'><h2>More on this story</h2>"
        "<a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></aside>"
    )
    paid = (
        "<div class='taboola trc_related_container'><span>Sponsored Links</span>"
        "<a href='https://shop.example/2026/11/18/buy-this-gadget-now'>Best gadget ever</a></div>"
    )
    assert urls(page(own)) == ["https://www.news.example/2026/11/18/ferry-fares-rise-again"]
    assert urls(page(paid)) == []


def test_site_wide_lists_are_not_related_boxes() -> None:
    html = page(
        "<section class='leftrailmodule--trending'><div class='js_related-module'>"
        "<a href='/2026/11/18/ferry-fares-rise-again'>Ferry fares rise again</a></div></section>"
        "<div class='most-read related'><a href='/2026/11/17/a-most-read-story'>Most read</a></div>"
    )
    assert urls(html) == []


def test_section_links_beside_stories_are_left_out() -> None:
    html = page(
        "<div class='recommended-reads'><h2>Recommended reads</h2>"
        "<div><a href='/marketing/customer-data/'>Customer Data Management</a>"
        "<a href='/marketing/customer-data/guest-article/first-party-data'>First-party data</a>"
        "</div></div>"
    )
    assert urls(html) == [
        "https://www.news.example/marketing/customer-data/guest-article/first-party-data"
    ]


def test_classes_on_html_and_body_do_not_hide_the_page() -> None:
    # Sites put feature flags on <html>/<body> ("flag-unfollowComments-on", "f_ads_on").
    html = (
        page(
            "<aside class='related'><a href='/2026/11/18/ferry-fares-rise-again'>Ferry</a></aside>"
        )
        .replace("<html>", "<html class='flag-comments-on'>")
        .replace("<body>", "<body class='f_ads_controller_on'>")
    )
    assert urls(html) == ["https://www.news.example/2026/11/18/ferry-fares-rise-again"]


# -- hand-labelled real pages: precision and recall ------------------------------------------------

LABELS = Path(__file__).resolve().parents[1] / "data"


def _score(name: str):  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from related_boxes import score

    return score(LABELS / name, READABILITY)


def test_tune_pages_precision_and_recall() -> None:
    """The 44 TUNE pages (labelled by us, tuned on): a regression guard, not the result."""
    if not READABILITY.is_dir():
        pytest.skip("../shared/data is absent (a user's clone): real pages not available")
    result = _score("related_boxes_tune.json")
    assert result.pages == 44
    assert result.recall >= 0.9, result.misses
    assert result.precision >= 0.9, result.extras


def test_held_out_pages_precision_and_recall() -> None:
    """The 86 TEST pages, labelled by a separate labeller and never tuned on.

    Issue 13's target is 0.9 for both, and it is NOT met: the first measurement (commit
    93513f1) gave precision 0.608 and recall 0.533; after general rules taken from the
    labeller's README (inline "Related:" lines, "More from ...", hidden blocks, third-party
    widgets) 0.642 and 0.626. The bounds below guard that level against regressions; they
    are not the target.
    """
    if not READABILITY.is_dir():
        pytest.skip("../shared/data is absent (a user's clone): real pages not available")
    if not (LABELS / "related_boxes_test.json").is_file():
        pytest.skip("tests/data/related_boxes_test.json is absent")
    result = _score("related_boxes_test.json")
    assert result.pages == 86
    assert result.recall >= 0.6
    assert result.precision >= 0.6


@pytest.mark.parametrize(
    "title",
    [
        "<div class='box-title'>Related stories</div>",
        "<span><b>Lire aussi</b></span>",
        "<p class='label'>More on this story</p>",
        "<strong>Noticias relacionadas</strong>",
    ],
)
def test_box_titled_by_a_plain_element(title: str) -> None:
    html = page(
        f"<div class='rail'>{title}<ul>"
        "<li><a href='/news/ferry-fares'>Ferry fares rise again</a></li></ul></div>"
    )
    assert urls(html) == ["https://www.news.example/news/ferry-fares"]


def test_read_more_buttons_do_not_title_boxes() -> None:
    html = page(
        "<div class='teaser'><span class='button'>Read more</span>"
        "<a href='/news/ferry-fares'>Ferry fares rise again</a></div>"
    )
    assert urls(html) == []
