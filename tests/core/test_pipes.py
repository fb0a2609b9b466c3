"""Feed parsing in worker processes: same results as in-process, errors, hangs and crashes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.loopback import rss
from tuinews.core.blobs import unpack
from tuinews.core.errors import ParseError
from tuinews.core.feeds import parse_feed
from tuinews.core.pipes import ParseWorkers

URL = "http://127.0.0.1:9/feed"


def body(n: int = 3, title: str = "Pool") -> bytes:
    return rss(title, [(f"g{k}", f"Item {k}", f"http://127.0.0.1:9/p{k}") for k in range(n)])


def test_results_match_parse_feed_and_errors_come_back() -> None:
    async def run() -> tuple[object, object, str]:
        async with ParseWorkers(2) as workers:
            feeds = await asyncio.gather(
                *(workers.parse(body(k + 1, f"F{k}"), URL, "application/rss+xml") for k in range(8))
            )
            with pytest.raises(ParseError) as err:
                await workers.parse(b"<html>no</html>", URL, "text/html")
            return feeds, workers.started, err.value.message

    feeds, started, message = asyncio.run(run())
    assert started == 2
    for k, remote in enumerate(feeds):  # type: ignore[attr-defined]
        local = parse_feed(body(k + 1, f"F{k}"), url=URL, content_type="application/rss+xml")
        assert remote.title == local.title == f"F{k}"
        assert [(e.guid, e.link, e.title, e.summary) for e in remote.entries] == [
            (e.guid, e.link, e.title, e.summary) for e in local.entries
        ]
    with pytest.raises(ParseError) as local_err:
        parse_feed(b"<html>no</html>", url=URL, content_type="text/html")
    assert message == local_err.value.message


def test_item_html_arrives_compressed() -> None:
    doc = (
        body(1)
        .replace(
            b"<description>",
            b"<content:encoded><![CDATA[<p>Full <b>text</b></p>]]></content:encoded><description>",
        )
        .replace(
            b'<rss version="2.0">',
            b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        )
    )

    async def run() -> object:
        async with ParseWorkers(1) as workers:
            return await workers.parse(doc, URL, None)

    parsed = asyncio.run(run())
    (entry,) = parsed.entries  # type: ignore[attr-defined]
    assert entry.content_html is None and entry.content_packed is not None
    assert b"<b>text</b>" in unpack(entry.content_packed)


# A fake worker: answers like the real one, except that a feed titled "hang" never returns and
# one titled "crash" kills the process. Written to a file and run with the same Python.
FAKE = """
import os, sys, time
from tuinews.core import pipeworker as pw
real = pw.parse_for_cache
def parse(data, url, ctype):
    if b"<title>hang</title>" in data:
        time.sleep(600)
    if b"<title>crash</title>" in data:
        os._exit(3)
    return real(data, url, ctype)
sys.exit(pw.serve(sys.stdin.buffer, sys.stdout.buffer, parse))
"""


@pytest.fixture
def fake_worker(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE)
    return [sys.executable, str(script)]


def test_a_hanging_feed_times_out_and_the_others_still_parse(fake_worker: list[str]) -> None:
    async def run() -> tuple[list[object], int]:
        async with ParseWorkers(1, timeout=2, command=fake_worker) as workers:
            results = await asyncio.gather(
                workers.parse(body(1, "hang"), URL, None),
                *(workers.parse(body(2, f"ok{k}"), URL, None) for k in range(4)),
                return_exceptions=True,
            )
            after = await workers.parse(body(1, "after"), URL, None)
            results.append(after)
            return results, workers.started

    results, started = asyncio.run(run())
    assert isinstance(results[0], ParseError) and "longer than 2 s" in results[0].message
    assert [r.title for r in results[1:]] == ["ok0", "ok1", "ok2", "ok3", "after"]  # type: ignore[attr-defined]
    assert started == 2  # the stuck worker was killed and replaced


def test_a_crashing_feed_fails_alone(fake_worker: list[str]) -> None:
    async def run() -> list[object]:
        async with ParseWorkers(1, timeout=30, command=fake_worker) as workers:
            return await asyncio.gather(
                workers.parse(body(1, "crash"), URL, None),
                *(workers.parse(body(2, f"ok{k}"), URL, None) for k in range(3)),
                return_exceptions=True,
            )

    results = asyncio.run(run())
    assert isinstance(results[0], ParseError) and "crashed" in results[0].message
    assert [r.title for r in results[1:]] == ["ok0", "ok1", "ok2"]  # type: ignore[attr-defined]


def test_a_worker_that_cannot_start_fails_every_feed_quickly(tmp_path: Path) -> None:
    broken = [sys.executable, "-c", "import sys; sys.exit(1)"]

    async def run() -> list[object]:
        async with ParseWorkers(1, timeout=30, command=broken) as workers:
            return await asyncio.wait_for(
                asyncio.gather(
                    *(workers.parse(body(1), URL, None) for _ in range(20)),
                    return_exceptions=True,
                ),
                60,
            )

    results = asyncio.run(run())
    assert all(isinstance(r, ParseError) for r in results)
    assert any("could not be started" in r.message for r in results)  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------
# Extraction workers (the prefetch's)
# ------------------------------------------------------------------------------------------

PAGE_URL = "http://127.0.0.1:9/2026/11/20/harbour-wall-repairs-begin"


def news_page(title: str, paragraphs: int = 8) -> bytes:
    body = "".join(
        f"<p>Paragraph {k} of the story about {title.lower()}: the council met on Tuesday and "
        "agreed the budget for the repairs after a long debate about the tides.</p>"
        for k in range(paragraphs)
    )
    return (
        f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Footer</footer></body></html>"
    ).encode()


def test_extraction_matches_the_in_process_extractor_and_packs_the_page() -> None:
    from tuinews.core.extract import extract_page
    from tuinews.core.pipes import ExtractWorkers

    pages = [news_page(f"Story {k}") for k in range(5)]

    async def run() -> tuple[list[object], object]:
        async with ExtractWorkers(2) as workers:
            await workers.start()
            done = await asyncio.gather(
                *(workers.extract_page(p, "text/html; charset=utf-8", PAGE_URL) for p in pages)
            )
            not_html = await workers.extract_page(b"%PDF-1.7 ...", "application/pdf", PAGE_URL)
            return list(done), not_html

    done, not_html = asyncio.run(run())
    for page_bytes, (packed, article, error) in zip(pages, done, strict=True):  # type: ignore[misc]
        local = extract_page(page_bytes, "text/html; charset=utf-8", PAGE_URL)
        assert error == "" and article == local
        assert unpack(packed) == page_bytes  # compressed in the worker, whole
    packed, article, error = not_html  # type: ignore[misc]
    assert article is None and "PDF" in error  # why, not an exception: the page is still kept
    assert unpack(packed) == b"%PDF-1.7 ..."


FAKE_EXTRACT = """
import os, sys, time
from tuinews.core import pipeworker as pw
def task(body, ctype, url):
    if body == b"hang":
        time.sleep(600)
    if body == b"crash":
        os._exit(3)
    return body, None, "done " + body.decode()
sys.exit(pw.serve(sys.stdin.buffer, sys.stdout.buffer, task))
"""


def test_a_hanging_page_times_out_and_a_crashing_one_fails_alone(tmp_path: Path) -> None:
    from tuinews.core.errors import ExtractError
    from tuinews.core.pipes import ExtractWorkers

    script = tmp_path / "fake_extract.py"
    script.write_text(FAKE_EXTRACT)

    async def run() -> tuple[list[object], int]:
        command = [sys.executable, str(script)]
        async with ExtractWorkers(1, timeout=2, command=command) as workers:
            results = await asyncio.gather(
                workers.extract_page(b"hang", None, PAGE_URL),
                workers.extract_page(b"crash", None, PAGE_URL),
                *(workers.extract_page(f"ok{k}".encode(), None, PAGE_URL) for k in range(3)),
                return_exceptions=True,
            )
            return results, workers.started

    results, started = asyncio.run(run())
    assert isinstance(results[0], ExtractError) and "longer than 2 s" in results[0].message
    assert isinstance(results[1], ExtractError) and "crashed" in results[1].message
    assert [r[2] for r in results[2:]] == ["done ok0", "done ok1", "done ok2"]  # type: ignore[index]
    assert started >= 3  # the stuck worker and the crashed one were replaced
