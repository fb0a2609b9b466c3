"""What :func:`extract_article` adds to trafilatura, step by step, in one process.

    python bench/profile_extract_parts.py            200 world pages (the extraction bench's)
    python bench/profile_extract_parts.py --real     the readability pages of ../shared/data

Times each step of ``extract_article`` on the same pages (twice; the second pass is printed):
cleaning the page of escapes, parsing it, trafilatura's ``bare_extraction``, its Markdown, our
plain text, the page's date, its related links, the word count. The steps other than parse,
trafilatura and Markdown are what the app adds to bare ``trafilatura.extract``.
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REAL = BENCH.parent.parent / "shared" / "data" / "pages" / "readability"


def world_pages(n: int) -> list[tuple[str, str]]:
    sys.path.insert(0, str(BENCH))
    from world import World

    w = World(40, "http://127.0.0.1:8000")
    return [
        (w.page_bytes(f % 40, i).decode(), w.article_url(f % 40, i))
        for f in range(n // 25)
        for i in range(25)
    ]


def real_pages() -> list[tuple[str, str]]:
    if not REAL.is_dir():
        raise SystemExit(f"{REAL} is absent (a user's clone): use the world pages")
    return [
        (p.read_text(encoding="utf-8", errors="replace"), "https://example.com/news/2024/a-story")
        for p in sorted(REAL.glob("*/source.html"))
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", action="store_true", help="the real pages of ../shared/data")
    p.add_argument("--pages", type=int, default=200, help="world pages (default 200)")
    args = p.parse_args(argv)

    from trafilatura.core import bare_extraction
    from trafilatura.utils import load_html
    from trafilatura.xml import xmltotxt

    from tuinews.core import extract as x
    from tuinews.core.related_links import find_related_links_in_tree, strip_terminal_escapes
    from tuinews.core.text import clean_text

    pages = real_pages() if args.real else world_pages(args.pages)
    times: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., Any], *a: Any) -> Any:
        start = time.perf_counter()
        out = fn(*a)
        times[name] = times.get(name, 0.0) + time.perf_counter() - start
        return out

    for _ in range(2):
        times.clear()
        for html, url in pages:
            options = x.extractor_options(url)
            page = timed("clean escapes", strip_terminal_escapes, html)
            tree = timed("parse (lxml)", load_html, page)
            doc = timed(
                "trafilatura bare_extraction",
                lambda t=tree, o=options: bare_extraction(t, options=o),
            )
            if doc is None or doc.body is None:
                continue
            timed(
                "Markdown (xmltotxt)",
                lambda d=doc: clean_text(
                    unicodedata.normalize("NFC", xmltotxt(d.body, True)), keep_newlines=True
                ),
            )
            text = timed(
                "plain text",
                lambda d=doc: clean_text(
                    unicodedata.normalize("NFC", x._plain_text(d.body)), keep_newlines=True
                ),
            )
            timed("page date", x._published_from_tree, tree)
            timed("related links", find_related_links_in_tree, tree, url)
            timed("word count", x.count_words, text)
    n = len(pages)
    print(f"{n} pages ({'real' if args.real else 'world'}), ms per page:")
    for name, total in times.items():
        print(f"  {name:<30} {total / n * 1000:7.3f}")
    print(f"  {'total':<30} {sum(times.values()) / n * 1000:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
