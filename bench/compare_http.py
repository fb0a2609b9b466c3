"""The HTTP clients side by side on the refresh's loopback world (issue 18, item 1).

    python bench/compare_http.py [--feeds 1000] [--runs 5] [--concurrency 16]

Each client fetches the world's N feeds (about 130 KB each, as a refresh's first fetch) and then
the same N feeds with their ETag (every one answers 304, as the all-304 refresh), 16 at a time,
in this process; the page server runs in its own process. Printed per client and pass: the CPU
time of this process per request (``time.process_time``) and the wall time, medians of the runs,
which are interleaved (client A, B, C, D, then again). The clients:

- ``http1``: the hand-written client tuinews used for refreshes until issue 18
  (``tuinews.core.http1``; skipped where that module is gone);
- ``httpx tuned``: one shared ``httpx.AsyncClient`` with a pool as large as the concurrency,
  ``trust_env=False``, no HTTP/2, no event hooks, the headers set once on the client;
- ``aiohttp``: one ``aiohttp.ClientSession`` on a ``TCPConnector(limit=16)``;
- ``httpx + httpx-aiohttp``: ``httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())``;
- ``tuinews fetcher``: what tuinews runs now (``Fetcher.fetch_async``: the limits, the
  redirect walk and the size cap on top of its client).

The import time of each client's module is measured in a fresh interpreter (``-X importtime``,
median of 5), since a refresh pays it once per process.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ServedWorld  # noqa: E402

HEADERS = {
    "User-Agent": "tuinews-bench",
    "Accept-Encoding": "gzip, deflate",
    "Accept": "application/rss+xml, */*;q=0.5",
}
Job = tuple[str, str | None]  # url, etag
Client = Callable[[list[Job], int], Awaitable[int]]


async def _gather(jobs: list[Job], concurrency: int, get: Callable[[Job], Awaitable[int]]) -> int:
    sem = asyncio.Semaphore(concurrency)

    async def one(job: Job) -> int:
        async with sem:
            return await get(job)

    return sum(await asyncio.gather(*(one(j) for j in jobs)))


def _cond(etag: str | None) -> dict[str, str]:
    return {"If-None-Match": etag} if etag else {}


async def with_http1(jobs: list[Job], concurrency: int) -> int:
    from tuinews.core import http1  # type: ignore[attr-defined]

    async with http1.Client(max_connections=concurrency, headers=HEADERS) as client:

        async def get(job: Job) -> int:
            response = await client.get(job[0], _cond(job[1]))
            return len(response.content)

        return await _gather(jobs, concurrency, get)


async def with_httpx(jobs: list[Job], concurrency: int) -> int:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        limits=limits, trust_env=False, headers=HEADERS, timeout=20.0
    ) as client:

        async def get(job: Job) -> int:
            response = await client.get(job[0], headers=_cond(job[1]))
            return len(response.content)

        return await _gather(jobs, concurrency, get)


async def with_aiohttp(jobs: list[Job], concurrency: int) -> int:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:

        async def get(job: Job) -> int:
            async with session.get(job[0], headers=_cond(job[1])) as response:
                return len(await response.read())

        return await _gather(jobs, concurrency, get)


async def with_httpx_aiohttp(jobs: list[Job], concurrency: int) -> int:
    import httpx
    import httpx_aiohttp

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = httpx_aiohttp.AiohttpTransport(limits=limits, trust_env=False)
    async with httpx.AsyncClient(
        transport=transport, trust_env=False, headers=HEADERS, timeout=20.0
    ) as client:

        async def get(job: Job) -> int:
            response = await client.get(job[0], headers=_cond(job[1]))
            return len(response.content)

        return await _gather(jobs, concurrency, get)


async def with_fetcher(jobs: list[Job], concurrency: int) -> int:
    from tuinews.core.fetch import Fetcher, FetchLimits

    fetcher = Fetcher(FetchLimits(concurrency=concurrency), serve_samples=False)
    async with fetcher.async_client() as client:

        async def get(job: Job) -> int:
            result = await fetcher.fetch_async(client, job[0], etag=job[1])
            return len(result.content)

        return await _gather(jobs, concurrency, get)


def import_ms(module: str) -> float:
    """Median import time of ``module`` in a fresh interpreter, with asyncio already loaded."""
    values = []
    for _ in range(5):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import asyncio; import {module}"],
            capture_output=True,
            text=True,
        ).stderr
        line = [ln for ln in err.splitlines() if ln.rstrip().endswith(f"| {module}")][-1]
        values.append(int(line.split("|")[1]) / 1000)
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=16)
    args = p.parse_args(argv)
    clients: dict[str, tuple[Client, str]] = {
        "http1": (with_http1, "tuinews.core.http1"),
        "httpx tuned": (with_httpx, "httpx"),
        "aiohttp": (with_aiohttp, "aiohttp"),
        "httpx + httpx-aiohttp": (with_httpx_aiohttp, "httpx_aiohttp"),
        "tuinews fetcher (now)": (with_fetcher, "tuinews.core.fetch"),
    }
    clients = {k: v for k, v in clients.items() if importlib.util.find_spec(v[1]) is not None}
    with ServedWorld(args.feeds) as world:
        w = world.world
        full: list[Job] = [(w.feed_url(f), None) for f in range(args.feeds)]
        not_modified: list[Job] = [(w.feed_url(f), w.etag(f, 0)) for f in range(args.feeds)]
        passes = {"full": full, "304": not_modified}
        expect = {name: asyncio.run(with_aiohttp(jobs, 16)) for name, jobs in passes.items()}
        cpu: dict[tuple[str, str], list[float]] = {}
        wall: dict[tuple[str, str], list[float]] = {}
        for r in range(args.runs):
            for name, (fn, _) in clients.items():
                for pname, jobs in passes.items():
                    t0, c0 = time.perf_counter(), time.process_time()
                    size = asyncio.run(fn(jobs, args.concurrency))
                    c1, t1 = time.process_time(), time.perf_counter()
                    assert size == expect[pname], f"{name} read {size} bytes, not {expect[pname]}"
                    cpu.setdefault((name, pname), []).append(1000 * (c1 - c0) / len(jobs))
                    wall.setdefault((name, pname), []).append(t1 - t0)
            print(f"run {r + 1}/{args.runs} done", file=sys.stderr, flush=True)
    print(
        f"\n{args.feeds} feeds ({expect['full'] // args.feeds // 1024} KiB each) and the same "
        f"{args.feeds} answering 304, {args.concurrency} at a time, medians of {args.runs} "
        "interleaved runs\n"
    )
    print(
        "| client | CPU ms / feed (full) | CPU ms / 304 | wall full | wall 304 | import |\n"
        "|---|---|---|---|---|---|"
    )
    for name, (_, module) in clients.items():
        med = {k: statistics.median(v) for k, v in cpu.items() if k[0] == name}
        walls = {k: statistics.median(v) for k, v in wall.items() if k[0] == name}
        print(
            f"| {name} | {med[(name, 'full')]:.3f} | {med[(name, '304')]:.3f} | "
            f"{walls[(name, 'full')]:.2f} s | {walls[(name, '304')]:.2f} s | "
            f"{import_ms(module):.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
