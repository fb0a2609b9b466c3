"""Bad article pages through ``Service.fetch_article``: loopback HTTP -> extraction pool -> cache.

Huge pages, very deep DOMs, pages without an article, CJK and right-to-left text, mojibake, and
PDFs, images or binary data served as ``text/html``. Extraction is bounded in time (the pool's
timeout) and size; a page that yields nothing falls back to the feed's summary with a reason in
``Article.error``. The pure extractor is tested on similar inputs in ``tests/core/test_extract.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hostile.faults import TALLY, HostileServer, make_service
from tests.loopback import Route
from tuinews.core.errors import FetchError

EXTRACT_TIMEOUT = 4.0
SUMMARY = "The feed's own summary of this story, kept for when the page fails."


def _para(text: str, n: int) -> str:
    return "".join(f"<p>{text} ({i})</p>" for i in range(n))


def _page(body: str, *, lang: str = "en", dir_: str = "ltr", title: str = "A page") -> bytes:
    return (
        f'<!doctype html><html lang="{lang}" dir="{dir_}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><article><h1>{title}</h1>{body}</article>"
        "</body></html>"
    ).encode()


ENGLISH = (
    "The harbour committee met on Tuesday to discuss the breakwater, the ferry timetable "
    "and the fish market's lease renewal, which had been postponed twice already."
)
CJK = "港湾委員会は火曜日に会合を開き、防波堤とフェリーの時刻表、そして魚市場の賃貸契約の更新について話し合った。"
ARABIC = (
    "اجتمعت لجنة الميناء يوم الثلاثاء لمناقشة حاجز الأمواج وجدول العبارات وتجديد عقد سوق السمك."
)
HEBREW = "ועדת הנמל התכנסה ביום שלישי כדי לדון בשובר הגלים, בלוח הזמנים של המעבורת ובחידוש חוזה שוק הדגים."


def _pages() -> dict[str, tuple[Route, str, str | None]]:
    """name -> (route, expectation, words): "text" (words in the markdown) or "error" (words
    in the error) or "either" (text or a fallback: it must just not crash or hang)."""
    deep = "<div>" * 100_000 + "<p>" + ENGLISH + "</p>" + "</div>" * 100_000
    huge_ok = _para(ENGLISH, 20_000)  # ~3.5 MB: allowed, must finish or time out cleanly
    too_big = "<p>" + "x" * 8_100_000 + "</p>"
    mojibake = _page(_para("CafÃ© crÃ¨me Ã  la carte â€” â€œquotedâ€ " + ENGLISH, 8)).replace(
        b'charset="utf-8"', b""
    )
    return {
        "plain-article": (
            Route(_page(_para(ENGLISH, 8)), content_type="text/html"),
            "text",
            "breakwater",
        ),
        "cjk": (
            Route(_page(_para(CJK, 8), lang="ja"), content_type="text/html; charset=utf-8"),
            "text",
            "防波堤",
        ),
        "arabic-rtl": (
            Route(_page(_para(ARABIC, 8), lang="ar", dir_="rtl"), content_type="text/html"),
            "text",
            "الميناء",
        ),
        "hebrew-rtl-with-bidi-overrides": (
            Route(
                _page(_para("\u202e" + HEBREW + "\u202c", 8), lang="he", dir_="rtl"),
                content_type="text/html",
            ),
            "text",
            "הנמל",
        ),
        "shift-jis-declared-in-http": (
            Route(
                _page(_para(CJK, 8), lang="ja")
                .replace(b'<meta charset="utf-8">', b"")
                .decode()
                .encode("shift_jis"),
                content_type="text/html; charset=shift_jis",
            ),
            "text",
            "防波堤",
        ),
        "mojibake": (Route(mojibake, content_type="text/html"), "text", "harbour"),
        "cp1252-undeclared": (
            Route(
                _page(_para("Caf\u00e9 cr\u00e8me \u201cquoted\u201d " + ENGLISH, 8))
                .replace(b'<meta charset="utf-8">', b"")
                .decode()
                .encode("cp1252"),
                content_type="text/html",
            ),
            "text",
            "Café crème “quoted”",
        ),
        "deep-dom": (Route(_page(deep), content_type="text/html"), "either", None),
        "huge-but-allowed": (Route(_page(huge_ok), content_type="text/html"), "either", None),
        "over-8m-chars": (Route(_page(too_big), content_type="text/html"), "error", "too large"),
        "no-article": (
            Route(_page("<p>Hi.</p>"), content_type="text/html"),
            "error",
            "no article text",
        ),
        "only-scripts": (
            Route(_page("<script>" + "var a=1;" * 5000 + "</script>"), content_type="text/html"),
            "error",
            "no article text",
        ),
        "empty-200": (Route(b"", content_type="text/html"), "error", None),
        "pdf-as-html": (
            Route(
                b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 200,
                content_type="text/html",
            ),
            "error",
            "PDF",
        ),
        "png-as-html": (
            Route(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100, content_type="text/html"),
            "error",
            "PNG",
        ),
        "jpeg-as-html": (
            Route(
                b"\xff\xd8\xff\xe0" + bytes(range(256)) * 100,
                content_type="text/html; charset=utf-8",
            ),
            "error",
            "JPEG",
        ),
        "binary-as-html": (
            Route(bytes(range(256)) * 100, content_type="text/html"),
            "error",
            "binary",
        ),
        "pdf-declared": (Route(b"%PDF-1.4 ...", content_type="application/pdf"), "error", "PDF"),
        "utf16-without-bom": (
            Route(_page(_para(ENGLISH, 8)).decode().encode("utf-16-le"), content_type="text/html"),
            "either",
            None,
        ),
    }


@pytest.mark.slow
def test_bad_pages_extract_or_fall_back_with_a_reason(
    tmp_path: Path, hostile: HostileServer
) -> None:
    pages = _pages()
    items = "".join(
        f"<item><guid>{name}</guid><title>{name}</title><link>{hostile.url('/p/' + name)}</link>"
        f"<description>{SUMMARY}</description></item>"
        for name in pages
    )
    hostile.routes["/feed"] = Route(
        f'<rss version="2.0"><channel><title>Pages</title>{items}</channel></rss>'.encode()
    )
    for name, (route, _, _) in pages.items():
        hostile.routes[f"/p/{name}"] = route
    svc = make_service(
        tmp_path / "cache.sqlite3", read=5, total=20, extract_timeout=EXTRACT_TIMEOUT
    )
    crashes: list[str] = []
    hangs: list[str] = []
    timings: dict[str, float] = {}
    try:
        svc.store.add_feed(hostile.url("/feed"))
        svc.refresh()
        stories = {s.guid: s for s in svc.list_stories(limit=100)}
        assert set(stories) == set(pages)
        for name, (_, expect, words) in pages.items():
            story = stories[name]
            t0 = time.monotonic()
            try:
                article = svc.fetch_article(story.id)
            except Exception as exc:  # noqa: BLE001 - counted, then reported below
                crashes.append(f"{name}: {exc!r}")
                continue
            timings[name] = elapsed = time.monotonic() - t0
            print(f"[hostile]   {name}: {elapsed:.2f} s, error={article.error!r}")
            if elapsed > EXTRACT_TIMEOUT * 2 + 5:
                hangs.append(f"{name}: {elapsed:.1f} s")
            if expect == "text" or (expect == "either" and not article.error):
                assert not article.error, (name, article.error)
                assert article.markdown.strip()
                if words:
                    assert words in article.markdown, (name, article.markdown[:300])
            else:
                assert article.error, name
                if words:
                    assert words.lower() in article.error.lower(), (name, article.error)
                assert SUMMARY in article.markdown, (name, article.markdown[:200])
            # Bounded size: never more text than the page could hold, escapes gone.
            assert len(article.markdown) < 5_000_000
            assert "\x1b" not in article.markdown and "\x00" not in article.markdown
            # Cached: the second read is offline and the same.
            again = svc.cached_article(story.id)
            assert again is not None and again.error == article.error
        assert svc.store.integrity_check() == "ok"
    finally:
        svc.close()
    slowest = max(timings, key=timings.__getitem__) if timings else "-"
    print(f"[hostile] bad pages: slowest {slowest} {timings.get(slowest, 0):.1f} s")
    TALLY.add("bad-pages", inputs=len(pages), crashes=len(crashes), hangs=len(hangs))
    assert not crashes, crashes
    assert not hangs, hangs


def test_oversized_download_and_bad_redirect_are_fetch_errors_then_export_falls_back(
    tmp_path: Path, hostile: HostileServer
) -> None:
    hostile.routes["/big"] = Route(b"<p>" + b"x" * (3 << 20) + b"</p>", content_type="text/html")
    hostile.routes["/js"] = Route(b"", 302, headers={"Location": "javascript:alert(1)"})
    hostile.routes["/feed"] = Route(
        (
            f'<rss version="2.0"><channel><title>P</title>'
            f"<item><guid>big</guid><title>Big</title><link>{hostile.url('/big')}</link>"
            f"<description>{SUMMARY}</description></item>"
            f"<item><guid>js</guid><title>JS</title><link>{hostile.url('/js')}</link>"
            f"<description>{SUMMARY}</description></item></channel></rss>"
        ).encode()
    )
    svc = make_service(tmp_path / "cache.sqlite3", max_bytes=1 << 20)
    try:
        svc.store.add_feed(hostile.url("/feed"))
        svc.refresh()
        stories = {s.guid: s for s in svc.list_stories()}
        with pytest.raises(FetchError, match="too large"):
            svc.fetch_article(stories["big"].id)
        with pytest.raises(FetchError, match="invalid address"):
            svc.fetch_article(stories["js"].id)
        paths = svc.export([stories["big"].id, stories["js"].id], tmp_path / "out")
        for path in paths:
            text = path.read_text(encoding="utf-8")
            assert "Full text not available" in text and SUMMARY in text
    finally:
        svc.close()
    TALLY.add("bad-pages", inputs=2)


def test_extraction_timeout_falls_back_and_the_pool_recovers(
    tmp_path: Path, hostile: HostileServer
) -> None:
    hostile.routes["/huge"] = Route(_page(_para(ENGLISH, 30_000)), content_type="text/html")
    hostile.routes["/fine"] = Route(_page(_para(ENGLISH, 8)), content_type="text/html")
    hostile.routes["/feed"] = Route(
        (
            f'<rss version="2.0"><channel><title>P</title>'
            f"<item><guid>huge</guid><title>Huge</title><link>{hostile.url('/huge')}</link>"
            f"<description>{SUMMARY}</description></item>"
            f"<item><guid>fine</guid><title>Fine</title><link>{hostile.url('/fine')}</link>"
            f"<description>{SUMMARY}</description></item></channel></rss>"
        ).encode()
    )
    svc = make_service(tmp_path / "cache.sqlite3", total=20, extract_timeout=1.0)
    try:
        svc.store.add_feed(hostile.url("/feed"))
        svc.refresh()
        stories = {s.guid: s for s in svc.list_stories()}
        t0 = time.monotonic()
        article = svc.fetch_article(stories["huge"].id)
        elapsed = time.monotonic() - t0
        assert article.error and "took longer than" in article.error
        assert SUMMARY in article.markdown
        assert elapsed < 5, elapsed
        fine = svc.fetch_article(stories["fine"].id)
        assert not fine.error and "breakwater" in fine.markdown
    finally:
        svc.close()
    TALLY.add("bad-pages", inputs=2, hangs=int(elapsed >= 5))
