"""Tests for tuinews.core.extract: decoding, sniffing, extraction, the bounded worker pool."""

from __future__ import annotations

import concurrent.futures
import functools
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tuinews.core import extract as extract_module
from tuinews.core.errors import ExtractError
from tuinews.core.extract import (
    MAX_HTML_CHARS,
    ExtractorPool,
    count_words,
    decode_html,
    extract_article,
    sniff_not_html,
)
from tuinews.core.models import ExtractedArticle

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
READABILITY = DATA / "pages" / "readability"
URL = "https://news.example/2026/11/20/a-story-about-things"

PARAGRAPHS = [
    "The harbour authority said on Tuesday that repairs to the old sea wall would begin in "
    "spring, after engineers found cracks along a forty-metre stretch near the ferry terminal.",
    "Residents have complained for years about flooding on the promenade during winter storms, "
    "and the council set aside money for the work in its budget last March.",
    "Contractors will close the footpath in stages, and the ferry timetable is not expected to "
    "change while the work goes on, a spokesperson for the operator said.",
]


def article_page(
    body: str | None = None,
    *,
    head: str = "",
    title: str = "Sea wall repairs to begin in spring",
    extra: str = "",
) -> str:
    """A small but realistic article page."""
    body = body if body is not None else "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title} | The Example News</title>"
        f"<meta property='og:title' content='{title}'>"
        "<meta property='og:site_name' content='The Example News'>"
        "<meta name='author' content='Ada Writer'>"
        "<meta property='article:published_time' content='2026-11-20T08:30:00+01:00'>"
        f"{head}</head><body><header><nav><a href='/'>Home</a><a href='/news'>News</a></nav>"
        f"</header><main><article><h1>{title}</h1>{body}</article>{extra}</main>"
        "<footer><a href='/about'>About us</a></footer></body></html>"
    )


# ------------------------------------------------------------------------------------------
# decode_html
# ------------------------------------------------------------------------------------------


def test_decode_uses_http_charset_over_meta() -> None:
    body = "<html><head><meta charset='utf-8'></head><body>Grüße</body></html>".encode("latin-1")
    assert "Grüße" in decode_html(body, "text/html; charset=ISO-8859-1")


def test_decode_uses_meta_charset_when_http_has_none() -> None:
    body = "<html><head><meta charset='windows-1251'></head><body>Привет</body></html>"
    assert "Привет" in decode_html(body.encode("cp1251"), "text/html")


def test_decode_uses_http_equiv_content_type() -> None:
    body = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
        "</head><body>Привет</body></html>"
    ).encode("koi8-r")
    assert "Привет" in decode_html(body, None)


def test_decode_undeclared_cp1252_is_not_cp1250() -> None:
    # trafilatura guesses cp1250 here and turns "à" into "ŕ"; we never let it guess.
    body = "<html><body><p>Voilà, un café à emporter — “quoted”</p></body></html>".encode("cp1252")
    text = decode_html(body, None)
    assert "Voilà, un café à emporter — “quoted”" in text
    assert "ŕ" not in text


def test_decode_undeclared_utf8() -> None:
    body = "<html><body>naïve 東京 العربية</body></html>".encode()
    assert "naïve 東京 العربية" in decode_html(body, None)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_decode_bom(encoding: str) -> None:
    body = "<html><body>café ☕</body></html>".encode(encoding)
    text = decode_html(body, "text/html")
    assert text.startswith("<html>")
    assert "café ☕" in text


def test_decode_unknown_charset_label_falls_back() -> None:
    body = "<html><body>café</body></html>".encode()
    assert "café" in decode_html(body, "text/html; charset=x-no-such-thing")


def test_decode_meta_utf16_label_means_utf8() -> None:
    body = "<html><head><meta charset='utf-16'></head><body>café</body></html>".encode()
    assert "café" in decode_html(body, None)


def test_decode_invalid_bytes_do_not_raise() -> None:
    text = decode_html(b"<html><body>ok \x81\x8d here</body></html>", "text/html; charset=utf-8")
    assert "ok" in text and "here" in text


# ------------------------------------------------------------------------------------------
# sniff_not_html
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "word"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"GIF89a\x01\x00\x01\x00", "GIF"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WebP"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (b"<html>\x00\x00\x00binary", "binary"),
    ],
)
def test_sniff_magic(body: bytes, word: str) -> None:
    reason = sniff_not_html(body, None)
    assert reason is not None and word in reason


@pytest.mark.parametrize(
    "content_type", ["application/pdf", "image/png", "image/svg+xml", "video/mp4", "audio/mpeg"]
)
def test_sniff_content_type(content_type: str) -> None:
    reason = sniff_not_html(b"<html><body>hi</body></html>", content_type)
    assert reason is not None and content_type in reason


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!DOCTYPE html><html><body>x</body></html>", "text/html; charset=utf-8"),
        (b"  \n<html><body>x</body></html>", None),
        (b"<html><body>x</body></html>", "application/octet-stream"),
        (b"<html><body>x</body></html>", "text/plain"),
        ("<html><body>x</body></html>".encode("utf-16"), "text/html"),
        (
            b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'/>",
            "application/xhtml+xml",
        ),
    ],
)
def test_sniff_accepts_html(body: bytes, content_type: str | None) -> None:
    assert sniff_not_html(body, content_type) is None


# ------------------------------------------------------------------------------------------
# extract_article
# ------------------------------------------------------------------------------------------


def test_extract_basic_article() -> None:
    article = extract_article(article_page(), URL)
    assert isinstance(article, ExtractedArticle)
    assert article.title == "Sea wall repairs to begin in spring"
    assert article.author == "Ada Writer"
    assert article.site_name == "The Example News"
    assert article.published == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert article.published.tzinfo is not None
    assert article.language == "en"
    assert "forty-metre stretch near the ferry terminal" in article.text
    assert "Home" not in article.text and "About us" not in article.text
    assert article.word_count == count_words(article.text)
    assert 70 < article.word_count < 100


def test_extract_markdown_keeps_structure_and_text_is_plain() -> None:
    body = (
        f"<p>{PARAGRAPHS[0]}</p><h2>What happens next</h2><p>{PARAGRAPHS[1]} See the "
        "<a href='https://council.example/plans/sea-wall-2026'>council's plans</a> and "
        "<em>the timetable</em>.</p><ul><li>Stage one: the promenade</li>"
        f"<li>Stage two: the terminal</li></ul><blockquote><p>{PARAGRAPHS[2]}</p></blockquote>"
    )
    article = extract_article(article_page(body), URL)
    md = article.markdown
    assert "## What happens next" in md
    assert "[council's plans](https://council.example/plans/sea-wall-2026)" in md
    assert "*the timetable*" in md
    assert "- Stage one: the promenade" in md
    assert "a spokesperson for the operator said" in md  # trafilatura renders quotes as text
    # The plain text has the words without Markdown syntax or link targets.
    assert "council's plans" in article.text
    assert "https://council.example" not in article.text
    assert "*the timetable*" not in article.text and "the timetable" in article.text


def test_extract_leaves_comments_out() -> None:
    comments = (
        "<section id='comments' class='comments'><h2>Comments</h2>"
        + "".join(
            f"<div class='comment'><p class='comment-author'>reader{i}</p><p>Totally agree, "
            f"this is comment number {i} with SPAMWORD in it and more words here.</p></div>"
            for i in range(5)
        )
        + "</section>"
    )
    article = extract_article(article_page(extra=comments), URL)
    assert "SPAMWORD" not in article.text
    assert "SPAMWORD" not in article.markdown


def test_extract_strips_terminal_escapes() -> None:
    hostile = "Sea wall \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[31mred\x1b[0m"
    body = f"<p>{PARAGRAPHS[0]} \x1b[2J\x1b[31mCLEARED\x1b[0m \u202eevil</p>" + "".join(
        f"<p>{p}</p>" for p in PARAGRAPHS[1:]
    )
    article = extract_article(article_page(body, title=hostile), URL)
    for value in (article.title or "", article.markdown, article.text):
        assert "\x1b" not in value and "\x07" not in value and "\u202e" not in value
    assert "CLEARED" in article.text


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><body><p>Too short.</p></body></html>",
        "<html><body><nav><a href='/a'>A</a><a href='/b'>B</a></nav></body></html>",
        "just some text, no markup at all",
        "<html><body>" + "<img src='x.png'>" * 50 + "</body></html>",
    ],
)
def test_extract_no_article(html: str) -> None:
    with pytest.raises(ExtractError, match="no article text found|could not be read"):
        extract_article(html, URL)


def test_extract_too_large() -> None:
    huge = article_page() + "<!--" + "x" * MAX_HTML_CHARS + "-->"
    with pytest.raises(ExtractError, match="page too large"):
        extract_article(huge, URL)


def test_extract_big_but_allowed_page() -> None:
    # ~2 MB of real paragraphs: must work and stay reasonably fast.
    body = "".join(f"<p>{PARAGRAPHS[i % 3]} Paragraph {i}.</p>" for i in range(8000))
    start = time.perf_counter()
    article = extract_article(article_page(body), URL)
    assert time.perf_counter() - start < 30
    assert article.word_count > 100_000


def test_extract_deep_dom_does_not_crash() -> None:
    depth = 50_000
    html = "<html><body>" + "<div>" * depth + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html += "</div>" * depth + "</body></html>"
    # libxml2 stops nesting at 256 levels, so the deep text may be lost: either an article
    # or a clean ExtractError, never a RecursionError or a crash.
    try:
        article = extract_article(html, URL)
    except ExtractError as err:
        assert err.message
    else:
        assert article.text


def test_extract_nul_bytes_and_odd_markup() -> None:
    body = "".join(f"<p>{p}\x00</p>" for p in PARAGRAPHS) + "<p><b><i>unclosed"
    article = extract_article(article_page(body), URL)
    assert "\x00" not in article.text
    assert "ferry terminal" in article.text


def test_extract_short_cjk_page_is_no_article() -> None:
    # One short sentence on a page full of other text is not the article...
    footer = (
        "<footer><p>"
        + "東京ニュース社の利用規約と個人情報の取り扱いについて。" * 8
        + "</p></footer>"
    )
    html = article_page(f"<p>東京都は二十日、改修工事を始めると発表した。</p>{footer}")
    with pytest.raises(ExtractError, match="no article text"):
        extract_article(html, "https://news.example.jp/articles/20261120-0002")


def test_extract_tiny_page_that_is_all_text_is_kept() -> None:
    # ...but when those few words are the whole page, they are what the page says.
    html = article_page("<p>東京都は二十日、改修工事を始めると発表した。</p>")
    article = extract_article(html, "https://news.example.jp/articles/20261120-0002")
    assert "改修工事" in article.text


def test_extract_tiny_notice_page_is_no_article() -> None:
    html = article_page("<p>Please enable JavaScript to read this story.</p>")
    with pytest.raises(ExtractError, match="no article text"):
        extract_article(html, URL)


def test_extract_cjk_page() -> None:
    paragraphs = [
        "東京都は二十日、湾岸地区の防潮堤の改修工事を来年春に始めると発表した。"
        "技術者が旅客ターミナル付近の約四十メートルにわたりひび割れを見つけたためだという。",
        "住民は冬の嵐のたびに遊歩道が浸水すると長年訴えてきた。"
        "都は昨年三月の予算で工事費を計上していた。",
        "工事は段階的に歩道を閉鎖して進められるが、フェリーの時刻表に変更はない見通しだと"
        "運航会社の広報担当者は話した。",
    ]
    html = article_page(
        "".join(f"<p>{p}</p>" for p in paragraphs), title="防潮堤の改修、来春に着工へ"
    ).replace("lang='en'", "lang='ja'")
    article = extract_article(html, "https://news.example.jp/articles/20261120-0001")
    assert article.title == "防潮堤の改修、来春に着工へ"
    assert "旅客ターミナル" in article.text
    assert article.language == "ja"
    # No spaces in Japanese: each character counts as a word, not one "word" per paragraph.
    assert article.word_count > 100


def test_extract_rtl_page() -> None:
    paragraphs = [
        "أعلنت سلطة الميناء يوم الثلاثاء أن أعمال إصلاح الجدار البحري القديم ستبدأ في فصل الربيع "
        "بعد أن اكتشف المهندسون تشققات على امتداد أربعين مترا قرب محطة العبارات.",
        "ويشتكي السكان منذ سنوات من فيضان الممشى خلال عواصف الشتاء، وقد خصص المجلس أموالا "
        "لهذه الأعمال في ميزانيته في شهر مارس الماضي.",
        "وسيغلق المقاولون الممر على مراحل، ولا يتوقع أن يتغير جدول رحلات العبارات أثناء "
        "الأعمال بحسب متحدث باسم الشركة المشغلة.",
    ]
    html = article_page(
        "".join(f"<p>{p}</p>" for p in paragraphs), title="إصلاح الجدار البحري في الربيع"
    ).replace("<html lang='en'>", "<html lang='ar' dir='rtl'>")
    article = extract_article(html, "https://news.example/ar/2026/11/20/sea-wall")
    assert article.title == "إصلاح الجدار البحري في الربيع"
    assert "محطة العبارات" in article.text
    assert article.language == "ar"
    assert "\u202b" not in article.text and "\u202e" not in article.text


def test_extract_published_from_json_ld_when_no_meta() -> None:
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebPage", "name": "x"},
                {"@type": "NewsArticle", "datePublished": "2026-11-19T22:15:00Z"},
            ],
        }
    )
    html = article_page(head=f"<script type='application/ld+json'>{ld}</script>").replace(
        "<meta property='article:published_time' content='2026-11-20T08:30:00+01:00'>", ""
    )
    article = extract_article(html, URL)
    assert article.published == datetime(2026, 11, 19, 22, 15, tzinfo=UTC)


def test_extract_finds_related_links() -> None:
    related = (
        "<aside class='related-stories'><h2>Related</h2><ul>"
        "<li><a href='/2026/11/18/harbour-ferry-fares-rise'>Harbour ferry fares rise</a></li>"
        "<li><a href='/tag/harbour'>Harbour</a></li></ul></aside>"
    )
    article = extract_article(article_page(extra=related), URL)
    assert [link.url for link in article.related_links] == [
        "https://news.example/2026/11/18/harbour-ferry-fares-rise"
    ]


def test_count_words() -> None:
    assert count_words("It's a well-known fact, isn't it?") == 6
    assert count_words("東京都 is big") == 5


# ------------------------------------------------------------------------------------------
# Real pages (../shared/data)
# ------------------------------------------------------------------------------------------


def readability_pages() -> list[Path]:
    if not READABILITY.is_dir():
        pytest.skip("../shared/data is absent (a user's clone)")
    return sorted(p for p in READABILITY.iterdir() if (p / "source.html").is_file())


@functools.cache
def extract_readability_pages() -> tuple[dict[str, ExtractedArticle], list[str], list[float]]:
    """Extract every readability page once (two tests use the results)."""
    extracted: dict[str, ExtractedArticle] = {}
    no_article: list[str] = []
    times: list[float] = []
    for page in sorted(p for p in READABILITY.iterdir() if (p / "source.html").is_file()):
        html = (page / "source.html").read_text(encoding="utf-8")
        start = time.perf_counter()
        try:
            extracted[page.name] = extract_article(html, f"http://fakehost/{page.name}/")
        except ExtractError:
            no_article.append(page.name)
        times.append(time.perf_counter() - start)
    return extracted, no_article, times


def test_real_pages_extract() -> None:
    pages = readability_pages()
    extracted, no_article, times = extract_readability_pages()
    # The pages that yield no article are readability's tiny synthetic fixtures (a few
    # words, e.g. "ol", "js-link-replacement"); every real article page must work.
    for name in no_article:
        size = len((READABILITY / name / "source.html").read_bytes())
        assert size < 2000, f"{name}: a real page gave no article"
    assert len(extracted) >= 0.95 * len(pages)
    for name, article in extracted.items():
        if len(article.text) < extract_module.MIN_TEXT_CHARS:  # a tiny fixture, all of it
            assert len((READABILITY / name / "source.html").read_bytes()) < 4000, name
        assert article.markdown.strip(), name
        assert article.published is None or article.published.tzinfo is not None, name
    # trafilatura finds no title on a handful of pages with no <title>/og:title/h1 it trusts
    # (measured 124 of 125); ask for 90% so a metadata tweak does not make this flaky.
    with_title = sum(1 for a in extracted.values() if a.title)
    assert with_title >= 0.9 * len(extracted)
    # Loose bound only (the machine is shared); measured median ~0.03 s, p95 ~0.16 s.
    assert statistics.median(times) < 1.0


def test_real_pages_metadata_mostly_right() -> None:
    pages = readability_pages()
    extracted, _, _ = extract_readability_pages()
    titles = checked = 0
    for page in pages:
        meta = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        article = extracted.get(page.name)
        if not meta.get("title") or article is None:
            continue
        checked += 1
        expected = " ".join(meta["title"].split()).casefold()
        got = " ".join((article.title or "").split()).casefold()
        titles += bool(got) and (got in expected or expected in got)
    # Readability's expected titles are its own choice (site name stripped or not). Measured:
    # 89 of 124 contain or are contained in ours; 24 of the 35 misses are readability's
    # synthetic fixtures whose <h1> ("Lorem") differs from their <title>, where trafilatura
    # trusts the <h1>. The feed's own title is used first in the app anyway.
    assert titles >= 0.7 * checked


# ------------------------------------------------------------------------------------------
# ExtractorPool (test functions must be module-level so the worker processes can import them)
# ------------------------------------------------------------------------------------------


def quick_extract(html: str, url: str) -> ExtractedArticle:
    """Stand-in for extract_article: instant, but "slow" or "crash" on request."""
    if html == "slow":
        time.sleep(60)
    if html == "crash":
        os._exit(3)
    if html == "no-article":
        raise ExtractError("no article text found on this page")
    return ExtractedArticle(markdown=html, text=html, title=url, word_count=os.getpid())


def test_pool_runs_real_extraction() -> None:
    with ExtractorPool(max_workers=1, timeout=60) as pool:
        article = pool.extract(article_page(), URL)
    assert article.title == "Sea wall repairs to begin in spring"
    assert article.published == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)


def test_pool_passes_extract_errors_through() -> None:
    with ExtractorPool(max_workers=1, timeout=30, function=quick_extract) as pool:
        with pytest.raises(ExtractError, match="no article text"):
            pool.extract("no-article", URL)
        assert pool.extract("fine", URL).text == "fine"


@pytest.mark.slow
def test_pool_timeout_then_recovers() -> None:
    with ExtractorPool(max_workers=1, timeout=1.5, function=quick_extract) as pool:
        first_pid = pool.extract("warm", URL).word_count
        start = time.perf_counter()
        with pytest.raises(ExtractError, match=r"extraction took longer than 1.5 s"):
            pool.extract("slow", URL)
        assert time.perf_counter() - start < 10
        # The stuck worker was killed and replaced: later calls work, in a new process.
        article = pool.extract("after", URL)
        assert article.text == "after"
        assert article.word_count != first_pid
        with pytest.raises(OSError):
            os.kill(first_pid, 0)  # gone (killed and reaped)


@pytest.mark.slow
def test_pool_worker_crash_then_recovers() -> None:
    with ExtractorPool(max_workers=1, timeout=30, function=quick_extract) as pool:
        with pytest.raises(ExtractError, match="crashed"):
            pool.extract("crash", URL)
        assert pool.extract("after", URL).text == "after"


@pytest.mark.slow
def test_pool_timeout_from_one_thread_does_not_break_neighbours() -> None:
    with ExtractorPool(max_workers=2, timeout=2, function=quick_extract) as pool:
        threads = concurrent.futures.ThreadPoolExecutor(max_workers=5)
        slow = threads.submit(pool.extract, "slow", URL)
        fast = [threads.submit(pool.extract, f"page {i}", URL) for i in range(4)]
        assert [f.result(timeout=30).text for f in fast] == [f"page {i}" for i in range(4)]
        with pytest.raises(ExtractError, match="longer than 2 s"):
            slow.result(timeout=30)
        assert pool.extract("later", URL).text == "later"


def test_pool_closed_refuses_work() -> None:
    pool = ExtractorPool(max_workers=1, function=quick_extract)
    pool.close()
    with pytest.raises(ExtractError):
        pool.extract("x", URL)


def test_pool_rejects_bad_worker_count() -> None:
    with pytest.raises(ValueError):
        ExtractorPool(max_workers=0)


def test_core_does_not_import_ui_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tuinews.core.extract, tuinews.core.related_links, tuinews.core.export;"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
