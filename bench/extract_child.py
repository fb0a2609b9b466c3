"""The measured processes of the extraction bench (each prints one JSON line).

    python bench/extract_child.py pipeline DB WORKERS   Service.fetch_articles on every story
    python bench/extract_child.py bare DB               trafilatura.extract on the same pages
    python bench/extract_child.py bare2 DB              the same, in two processes at once
    python bench/extract_child.py cpu SECONDS_HINT      a pure-Python CPU loop (the ceiling)

``bare`` downloads every page first (not timed) and then times ``trafilatura.extract`` with the
options closest to the app's, then the app's own ``extract_article`` (which adds metadata,
plain text and related links), both in one process. ``bare2`` times the first loop in two
forked processes at once, each on half the pages: the workload's own two-core ceiling.
"""

from __future__ import annotations

import json
import os
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


def download(db: str) -> list[tuple[str, str]]:
    """Every story's page, decoded as the app decodes it (not timed)."""
    import httpx

    from tuinews.core.extract import decode_html

    with httpx.Client() as client:
        pages = []
        for _, url in story_links(db):
            r = client.get(url)
            pages.append((decode_html(r.content, r.headers.get("content-type")), url))
    return pages


def extract_all(pages: list[tuple[str, str]]) -> int:
    """Bare ``trafilatura.extract`` on every page, with the options closest to the app's."""
    import trafilatura

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
    return words


def bare(db: str) -> dict[str, float]:
    from tuinews.core.extract import extract_article

    pages = download(db)
    start = time.perf_counter()
    words = extract_all(pages)
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


def bare_two(db: str) -> dict[str, float]:
    """The bare loop in two processes at once, each on every other page: what two cores of
    this machine give this workload (lxml and trafilatura, not a CPU loop), with no pipeline."""
    import trafilatura  # noqa: F401 - imported before the fork, as a worker has it imported

    pages = download(db)
    start = time.perf_counter()
    children = []
    for half in (pages[0::2], pages[1::2]):
        pid = os.fork()
        if pid == 0:  # the child: extract its half, then leave without any cleanup
            extract_all(half)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    seconds = time.perf_counter() - start
    return {"pages": len(pages), "seconds": seconds, "per_second": len(pages) / seconds}


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
    elif mode == "bare2":
        out = bare_two(sys.argv[2])
    else:
        out = cpu(int(sys.argv[2]))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
