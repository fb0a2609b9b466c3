"""CPU per page of the async HTTP clients, on the world's article pages from 127.0.0.1.

    python bench/profile_http.py [--pages 1000] [--runs 3]

Fetches the same pages with httpx's ``AsyncClient`` (16 connections, as the fetcher set it up
before the fifth run) and with the fetcher (on aiohttp since issue 18; on the hand-written
``core/http1.py`` in the fifth run), 16 at a time, and prints the CPU time of this process per page for each
(``time.process_time``; the page server runs in its own process). Runs alternate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ServedWorld  # noqa: E402


async def with_httpx(urls: list[str]) -> int:
    import httpx

    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def one(url: str) -> int:
            async with sem:
                response = await client.get(url, headers={"Accept": "text/html"})
                return len(response.content)

        return sum(await asyncio.gather(*(one(u) for u in urls)))


async def with_http1(urls: list[str]) -> int:
    from tuinews.core.fetch import Fetcher

    fetcher = Fetcher(serve_samples=False)
    sem = asyncio.Semaphore(16)
    async with fetcher.async_client() as client:

        async def one(url: str) -> int:
            async with sem:
                result = await fetcher.fetch_async(client, url, accept="text/html")
                return len(result.content)

        return sum(await asyncio.gather(*(one(u) for u in urls)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    n_feeds = max(1, args.pages // 25)
    clients: dict[str, Callable[[list[str]], Awaitable[int]]] = {
        "httpx AsyncClient": with_httpx,
        "tuinews fetcher (fetch_async)": with_http1,
    }
    with ServedWorld(n_feeds) as world:
        urls = [world.world.article_url(f, i) for f in range(n_feeds) for i in range(25)]
        urls = urls[: args.pages]
        sizes = {asyncio.run(fn(urls)) for fn in clients.values()}  # warm: pages built, kept
        assert len(sizes) == 1, f"the clients read different bodies: {sizes}"
        cpu: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.runs):
            for name, fn in clients.items():
                start = time.process_time()
                asyncio.run(fn(urls))
                cpu[name].append(1000 * (time.process_time() - start) / len(urls))
    print(f"{len(urls)} pages of {sizes.pop() // len(urls)} bytes, 16 at a time, {args.runs} runs")
    for name, values in cpu.items():
        runs = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {name:30} {statistics.median(values):.3f} ms of CPU a page ({runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
