"""Full-text search and the related sidebar on a big cache (default 100,000 stories).

Runs in a subprocess (``python bench/bench_search.py DB``) on a cache built by ``cache.py``:

- search: ``Store.search_ids(q)`` then ``Store.stories_by_ids`` on the first 100 ids (one
  screenful and more), for 40 queries (30 of one to three common words, some prefixes, 10 on long-tail words), each run 5
  times after one warm-up pass; also the story list's own path with a search filter
  (``count_stories`` + ``list_stories(limit=100)``);
- related: ``Service.related(story_id)`` on 300 stories, a third of them with an extracted article
  and related links, the rest with only a feed summary.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BENCH, log  # noqa: E402

QUERIES = [
    "election",
    "climate",
    "energy prices",
    "police investigation",
    "train strike",
    "hospital patients",
    "solar battery",
    "court verdict fraud",
    "world cup final",
    "inflation",
    "wildfire",
    "housing rent",
    "central bank rates",
    "elect",
    "tech",
    "vaccine virus",
    "border security talks",
    "farmers drought",
    "airline flights",
    "museum art festival",
    "union workers wages",
    "parliament bill reform",
    "electric cars",
    "port cargo ships",
    "students teachers",
    "minister",
    "storm flood",
    "profit quarter sales",
    "nuclear power",
    "research scientists found",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def rare_queries() -> list[str]:
    """Ten queries on words from the world's long tail (ranks 20 to 3,000), as users also type."""
    from world import Text

    rare = Text().rare
    return [
        rare[20 + 300 * i] if i % 2 else f"{rare[25 + 290 * i]} {rare[40 + 150 * i]}"
        for i in range(10)
    ]


def child(db: str) -> dict[str, object]:
    from tuinews.core.service import Service
    from tuinews.core.store import StoryFilter

    out: dict[str, object] = {}
    queries = QUERIES + rare_queries()
    with Service(db) as service:
        store = service.store
        for q in queries:  # warm-up: page cache, statement cache
            store.stories_by_ids(store.search_ids(q)[:100])
        lat: list[float] = []
        hits: list[int] = []
        for _ in range(5):
            for q in queries:
                t = time.perf_counter()
                ids = store.search_ids(q)
                store.stories_by_ids(ids[:100])
                lat.append((time.perf_counter() - t) * 1000)
                hits.append(len(ids))
        ui: list[float] = []
        for q in queries:
            t = time.perf_counter()
            flt = StoryFilter(search=q)
            store.count_stories(flt)
            store.list_stories(flt, limit=100)
            ui.append((time.perf_counter() - t) * 1000)
        worst = sorted(zip(lat[: len(queries)], queries, strict=True))[-3:]
        out["search"] = {
            "p50_ms": pct(lat, 0.5),
            "p95_ms": pct(lat, 0.95),
            "max_ms": max(lat),
            "n": len(lat),
            "median_hits": statistics.median(hits),
            "slowest": [(q, round(ms, 1)) for ms, q in worst],
        }
        out["search_ui_path"] = {"p50_ms": pct(ui, 0.5), "p95_ms": pct(ui, 0.95)}
        total = store.conn.execute("SELECT max(id) FROM stories").fetchone()[0]
        with_article = [
            r[0]
            for r in store.conn.execute(
                "SELECT story_id FROM articles ORDER BY story_id LIMIT 100000"
            )
        ]
        rnd = random.Random(7)
        sample = rnd.sample(with_article, 100) + rnd.sample(range(1, total + 1), 200)
        service.related(sample[0])  # warm-up
        rel: list[float] = []
        found: list[int] = []
        for sid in sample:
            t = time.perf_counter()
            items = service.related(sid)
            rel.append((time.perf_counter() - t) * 1000)
            found.append(len(items))
        out["related"] = {
            "p50_ms": pct(rel, 0.5),
            "p95_ms": pct(rel, 0.95),
            "max_ms": max(rel),
            "n": len(rel),
            "mean_items": statistics.mean(found),
        }
    return out


def bench_search(n_stories: int, work: Path) -> tuple[list[str], dict[str, object]]:
    db = work / f"cache-{n_stories}" / "cache.sqlite3"
    if not db.exists():
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, str(BENCH / "cache.py"), str(db), str(n_stories)],
            check=True,
            capture_output=True,
        )
        log(f"built a {n_stories}-story cache in {time.perf_counter() - t:.1f} s")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_search.py"), str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    s, u, r = data["search"], data["search_ui_path"], data["related"]
    rows = [
        f"### Search and related at {n_stories:,} stories",
        "",
        "| what | p50 | p95 | target |",
        "|---|---|---|---|",
        f"| search: `search_ids` + `stories_by_ids` (100), {s['n']} queries | "
        f"{s['p50_ms']:.1f} ms | {s['p95_ms']:.1f} ms | p50 < 20 ms, p95 < 50 ms |",
        f"| search, story-list path (`count_stories` + `list_stories`) | {u['p50_ms']:.1f} ms | "
        f"{u['p95_ms']:.1f} ms | (diagnostic) |",
        f"| related sidebar: `Service.related`, {r['n']} stories | {r['p50_ms']:.1f} ms | "
        f"{r['p95_ms']:.1f} ms | p95 < 50 ms |",
        "",
        f"- slowest queries (first pass): {s['slowest']}; median hits {s['median_hits']}; "
        f"related items per story {r['mean_items']:.1f}",
    ]
    return rows, data


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))
