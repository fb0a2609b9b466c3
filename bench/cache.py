"""Build a big tuinews cache fast: ``python bench/cache.py DB STORIES [FEEDS]``.

The schema comes from :class:`tuinews.core.store.Store` (its migrations); the rows go in with
``executemany`` in one transaction, ``story_fts`` kept consistent (one row per story, same rowid,
title and summary, as ``Store.store_feed`` writes them). Text comes from the same deterministic
pools as the served world. One story in 20 also gets an extracted article (text indexed in
``story_fts.body``, as ``Store.store_article`` does) with five related links that point to other
cached stories, so the related sidebar has something to find.
"""

from __future__ import annotations

import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from world import BASE_TIME, World  # noqa: E402

ARTICLE_EVERY = 20


def build_cache(db: Path, n_stories: int, n_feeds: int = 1000) -> Path:
    from tuinews.core.store import Store

    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db)
    world = World(n_feeds, "http://127.0.0.1:9")
    t = world.text
    per_feed = max(1, -(-n_stories // n_feeds))
    now = int(time.time())
    base = int(BASE_TIME.timestamp())
    blobs = [zlib.compress(world._content_html(0, k).encode(), 6) for k in range(200)]
    feeds = [
        (f + 1, world.feed_url(f), world.feed_title(f), f"{world.base}/site/{f}/", now)
        for f in range(n_feeds)
    ]
    stories = []
    fts = []
    articles = []
    related = []
    sid = 0
    for k in range(per_feed):
        for f in range(n_feeds):
            sid += 1
            if sid > n_stories:
                break
            title = t.title(f, k)
            summary = t.para(f, k, 0)[:300]
            published = base + k * 6 * 3600 + (f % 360) * 60
            link = world.article_url(f, k)
            stories.append(
                (
                    sid,
                    f + 1,
                    f"feed{f}-item{k}",
                    link,
                    title,
                    t.person(f, k),
                    published,
                    now,
                    published,
                    summary,
                    blobs[sid % len(blobs)],
                    int(sid % 3 == 0),
                )
            )
            body = summary
            if sid % ARTICLE_EVERY == 0:
                text = "\n\n".join(t.para(f, k, n) for n in range(12))
                body = text
                articles.append(
                    (
                        sid,
                        link,
                        text,
                        text,
                        title,
                        t.person(f, k),
                        published,
                        f"Synthetic News {f}",
                        "en",
                        len(text.split()),
                        now,
                    )
                )
                for pos in range(5):
                    other = ((sid * 7919 + pos * 104729) % n_stories) + 1
                    related.append((sid, pos, f"rel:{other}", f"Related {pos}", None, None))
            fts.append((sid, title, body))
    # Related links point at real cached stories' links (resolved after all links are known).
    links = {s[0]: s[3] for s in stories}
    related = [(s, p, links[int(u[4:])], ti, so, pu) for s, p, u, ti, so, pu in related]
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO feeds (id, url, title, site_url, added_at) VALUES (?, ?, ?, ?, ?)", feeds
        )
        conn.executemany(
            "INSERT INTO stories (id, feed_id, guid, link, title, author, published, first_seen,"
            " sort_key, summary, content, read) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            stories,
        )
        conn.executemany("INSERT INTO story_fts (rowid, title, body) VALUES (?, ?, ?)", fts)
        conn.executemany(
            "INSERT INTO articles (story_id, url, markdown, text, title, author, published,"
            " site_name, language, word_count, fetched_at, extracted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            articles,
        )
        conn.executemany(
            "INSERT INTO related_links (story_id, position, url, title, source, published)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            related,
        )
        conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('initialized', 'true')")
    store.conn.execute("PRAGMA optimize")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return db


if __name__ == "__main__":
    start = time.perf_counter()
    path = build_cache(
        Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    )
    print(f"built {path} in {time.perf_counter() - start:.1f} s")
