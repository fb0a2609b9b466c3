"""The worker processes' side: ``python -m tuinews.core.pipeworker TASK``.

TASK is ``parse`` (a feed body -> :class:`ParsedFeed`, item HTML compressed for the cache) or
``extract`` (a fetched page -> the page compressed, and its :class:`ExtractedArticle`). The
caller's side is :mod:`tuinews.core.pipes`.

A worker reads requests from stdin and writes answers to stdout, one frame each: a 4-byte
big-endian length and a pickle. A request is ``(request_id, *arguments)``; an answer is
``(request_id, True, result)`` or ``(request_id, False, message)``. Only this module and
:mod:`tuinews.core.pipes` speak it, over pipes they own.

This module imports only what its task needs (no asyncio, no aiohttp): a parsing worker costs
about 25 MB, an extraction worker (trafilatura) about 45 MB.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from tuinews.core.errors import TuinewsError
from tuinews.core.models import ExtractedArticle, ParsedFeed

HEADER = struct.Struct(">I")


def _read_frame(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def _write_frame(stream: BinaryIO, message: object) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


# --------------------------------------------------------------------------------------------
# The tasks
# --------------------------------------------------------------------------------------------


def parse_for_cache(data: bytes, url: str, content_type: str | None) -> ParsedFeed:
    """Parse one feed and compress each item's HTML for the cache (the ``parse`` task)."""
    from tuinews.core.blobs import pack
    from tuinews.core.feeds import parse_feed

    parsed = parse_feed(data, url=url, content_type=content_type)
    entries = [
        dataclasses.replace(
            e, content_html=None, content_packed=pack(e.content_html.encode("utf-8"))
        )
        if e.content_html
        else e
        for e in parsed.entries
    ]
    return dataclasses.replace(parsed, entries=entries)


def extract_for_cache(
    body: bytes, content_type: str | None, url: str
) -> tuple[bytes, ExtractedArticle | None, str]:
    """A fetched page -> (the page compressed for the cache, its article or None, why there is
    none) (the ``extract`` task; see :func:`tuinews.core.extract.extract_page`).

    The page is compressed here, on the worker's core: the caller's process, which fetches
    and stores, shares a core with the other workers. It is returned even when the page holds
    no article: the cache keeps what was fetched, so it is never fetched twice.
    """
    from tuinews.core.blobs import pack_page
    from tuinews.core.errors import ExtractError
    from tuinews.core.extract import extract_page

    try:
        article = extract_page(body, content_type, url)
    except ExtractError as exc:
        return pack_page(body), None, exc.message
    return pack_page(body), article, ""


def _warm_extract() -> None:
    """Import trafilatura before the first page arrives (it takes a quarter of a second)."""
    import trafilatura.core  # noqa: F401

    import tuinews.core.blobs  # noqa: F401
    import tuinews.core.extract  # noqa: F401


TASKS: dict[str, tuple[Callable[..., Any], Callable[[], None] | None]] = {
    "parse": (parse_for_cache, None),
    "extract": (extract_for_cache, _warm_extract),
}


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


def serve(stdin: BinaryIO, stdout: BinaryIO, task: Callable[..., Any] = parse_for_cache) -> int:
    """The worker's loop: answer every request with ``task(*arguments)`` until stdin closes.

    A :class:`TuinewsError` the task raises is answered as its message; any other exception
    (a bug in a parser on odd input) as an internal error. The worker keeps serving.
    """
    while True:
        request = _read_frame(stdin)
        if request is None:
            return 0
        request_id, *args = request
        try:
            answer: tuple[int, bool, object] = (request_id, True, task(*args))
        except TuinewsError as exc:
            answer = (request_id, False, exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug on odd input: report it, keep serving
            answer = (request_id, False, f"internal error: {exc!r}"[:300])
        _write_frame(stdout, answer)


def _widen_pipes(*streams: BinaryIO) -> None:
    """Grow the pipes to 1 MiB (Linux; the default is 64 KiB), so that neither side blocks on
    a busy peer while a feed or a page (about 100 KB) or its result is on its way."""
    try:
        import fcntl

        for stream in streams:
            with contextlib.suppress(OSError, ValueError):
                fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError):  # not Linux: the default size works, only slower
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m tuinews.core.pipeworker TASK``: serve TASK's requests on stdin/stdout."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in TASKS:
        print(f"usage: python -m tuinews.core.pipeworker {{{','.join(TASKS)}}}", file=sys.stderr)
        return 2
    task, warm = TASKS[args[0]]
    _widen_pipes(sys.stdin.buffer, sys.stdout.buffer)
    if warm is not None:
        warm()
    return serve(sys.stdin.buffer, sys.stdout.buffer, task)


if __name__ == "__main__":
    raise SystemExit(main())
