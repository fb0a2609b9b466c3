"""The measured processes of the extraction bench (each prints one JSON line).

    python bench/extract_child.py pipeline DB WORKERS   Service.fetch_articles on every story
    python bench/extract_child.py bare DB               trafilatura.extract on the same pages
    python bench/extract_child.py cpu SECONDS_HINT      a pure-Python CPU loop (the ceiling)

``bare`` downloads every page first (not timed) and then times two loops in one process:
``trafilatura.extract`` with the options closest to the app's, and the app's own
``extract_article`` (which adds metadata, plain text and related links).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time


def story_links(db: str) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT id, link FROM stories ORDER BY id").fetchall()


def pipeline(db: str, workers: int) -> dict[str, float]:
    from tuinews.core.service import Service

    ids = [i for i, _ in story_links(db)]
    with Service(db, extract_workers=workers) as service:
        # The clock includes starting the extraction workers (about a quarter of a second):
        # a prefetch starts its own, while its first pages are being fetched.
        start = time.perf_counter()
        ok, failed = service.fetch_articles(ids)
        elapsed = time.perf_counter() - start
    return {
        "pages": len(ids),
        "ok": ok,
        "failed": failed,
        "seconds": elapsed,
        "per_second": ok / elapsed,
    }


def bare(db: str) -> dict[str, float]:
    import httpx
    import trafilatura

    from tuinews.core.extract import decode_html, extract_article

    links = story_links(db)
    with httpx.Client() as client:
        pages = []
        for _, url in links:
            r = client.get(url)
            pages.append((decode_html(r.content, r.headers.get("content-type")), url))
    start = time.perf_counter()
    words = 0
    for html, url in pages:
        out = trafilatura.extract(
            html,
            url=url,
            output_format="markdown",
            include_comments=False,
            include_formatting=True,
            include_links=True,
            include_images=True,
            include_tables=True,
            with_metadata=True,
            deduplicate=False,
        )
        words += len((out or "").split())
    bare_s = time.perf_counter() - start
    start = time.perf_counter()
    for html, url in pages:
        extract_article(html, url)
    app_fn_s = time.perf_counter() - start
    return {
        "pages": len(pages),
        "seconds": bare_s,
        "per_second": len(pages) / bare_s,
        "extract_article_seconds": app_fn_s,
        "extract_article_per_second": len(pages) / app_fn_s,
        "words": words,
    }


def cpu(n: int) -> dict[str, float]:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i % 7
    return {"seconds": time.perf_counter() - start}


def main() -> int:
    mode = sys.argv[1]
    if mode == "pipeline":
        out = pipeline(sys.argv[2], int(sys.argv[3]))
    elif mode == "bare":
        out = bare(sys.argv[2])
    else:
        out = cpu(int(sys.argv[2]))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
