"""The bare floor for a refresh: httpx + the app's feed parser + one SQLite transaction.

No app: one process, one asyncio loop, 16 concurrent requests (tuinews's default), parsing inline
on the loop, validators kept so that a re-fetch is conditional, every entry written with
``executemany`` in a single transaction at the end, item HTML compressed as the app does
(``tuinews.core.blobs.pack``).

    python bench/floor.py URLS_FILE DB_FILE
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys

import httpx

from tuinews.core.blobs import pack
from tuinews.core.feeds import parse_feed

CONCURRENCY = 16


async def fetch_all(urls: list[str], validators: dict[str, tuple[str | None, str | None]]):
    sem = asyncio.Semaphore(CONCURRENCY)
    out = []

    async def one(client: httpx.AsyncClient, url: str) -> None:
        etag, lm = validators.get(url, (None, None))
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if lm:
            headers["If-Modified-Since"] = lm
        async with sem:
            r = await client.get(url, headers=headers)
        if r.status_code == 304:
            out.append((url, None, r.headers.get("etag"), r.headers.get("last-modified")))
            return
        parsed = parse_feed(r.content, url=url, content_type=r.headers.get("content-type"))
        out.append((url, parsed, r.headers.get("etag"), r.headers.get("last-modified")))

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(*(one(client, u) for u in urls))
    return out


def main() -> int:
    with open(sys.argv[1]) as fh:
        urls = [u for u in fh.read().split() if u]
    db = sqlite3.connect(sys.argv[2], isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, etag TEXT, lm TEXT)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS stories (id INTEGER PRIMARY KEY, feed TEXT, guid TEXT,"
        " link TEXT, title TEXT, author TEXT, published INTEGER, summary TEXT, content BLOB,"
        " UNIQUE (feed, guid))"
    )
    validators = {u: (e, m) for u, e, m in db.execute("SELECT url, etag, lm FROM feeds")}
    results = asyncio.run(fetch_all(urls, validators))
    rows = []
    for url, parsed, _, _ in results:
        if parsed is None:
            continue
        for e in parsed.entries:
            rows.append(
                (
                    url,
                    e.guid or e.link,
                    e.link,
                    e.title,
                    e.author,
                    int(e.published.timestamp()) if e.published else None,
                    e.summary,
                    pack(e.content_html.encode()) if e.content_html else None,
                )
            )
    with db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR IGNORE INTO stories (feed, guid, link, title, author, published, summary,"
            " content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT OR REPLACE INTO feeds (url, etag, lm) VALUES (?, ?, ?)",
            [(u, e, m) for u, _, e, m in results],
        )
    changed = sum(1 for r in results if r[1] is not None)
    print(
        f"{len(results)} feeds: {changed} fetched, {len(results) - changed} unchanged, "
        f"{len(rows)} entries"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
