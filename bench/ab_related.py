"""A/B of a change to the related sidebar: latency and how many items stay the same.

    python bench/ab_related.py DB NAME=PYTHONPATH [NAME=PYTHONPATH ...]

Runs ``Service.related`` on the search bench's sample (100 stories with an article, 200
without, seed 7) with the installed package ("current") and with each scratch copy of ``src``
on ``PYTHONPATH``, one process each, interleaved twice. Prints p50/p95 per variant and, per
variant, the share of the current items (story ids or URLs) it also returns.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time


def child(db: str) -> None:
    from tuinews.core.service import Service

    with Service(db) as service:
        store = service.store
        total = store.conn.execute("SELECT max(id) FROM stories").fetchone()[0]
        with_article = [
            r[0]
            for r in store.conn.execute(
                "SELECT story_id FROM articles ORDER BY story_id LIMIT 100000"
            )
        ]
        rnd = random.Random(7)
        sample = rnd.sample(with_article, 100) + rnd.sample(range(1, total + 1), 200)
        service.related(sample[0])
        lat: list[float] = []
        items: dict[int, list[str]] = {}
        for sid in sample:
            t = time.perf_counter()
            found = service.related(sid)
            lat.append((time.perf_counter() - t) * 1000)
            items[sid] = [f"{i.group}:{i.story_id or i.url}" for i in found]
    print(json.dumps({"lat": lat, "items": items}))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv: list[str]) -> int:
    db = argv[0]
    variants = [("current", "")] + [tuple(a.split("=", 1)) for a in argv[1:]]
    lat: dict[str, list[float]] = {name: [] for name, _ in variants}
    items: dict[str, dict[str, list[str]]] = {}
    for _ in range(2):
        for name, path in variants:
            env = dict(os.environ)
            if path:
                env["PYTHONPATH"] = path
            out = subprocess.run(
                [sys.executable, __file__, "--child", db],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(out.stdout.strip().splitlines()[-1])
            lat[name] += data["lat"]
            items[name] = data["items"]
    base = items["current"]
    print("| variant | p50 | p95 | items also in current |")
    print("|---|---|---|---|")
    for name, _ in variants:
        kept = sum(len(set(items[name][k]) & set(v)) for k, v in base.items())
        total = sum(len(v) for v in base.values())
        print(
            f"| {name} | {pct(lat[name], 0.5):.1f} ms | {pct(lat[name], 0.95):.1f} ms | "
            f"{kept / total:.0%} ({kept} of {total}) |"
        )
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        raise SystemExit(main(sys.argv[1:]))
