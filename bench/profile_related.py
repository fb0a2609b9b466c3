"""Profile ``Service.related`` on the search bench's cache with pyinstrument.

    python bench/profile_related.py /tmp/tuinews-bench/cache-100000/cache.sqlite3 OUT.txt

Same sample as ``bench_search.py`` (100 stories with an article, 200 without, seed 7), one
warm-up call, then all 300 under the profiler. Also prints the time spent in each
``Store`` query method, from a wrapper, so the SQL share is exact rather than sampled
(``_query`` is the low-level helper: it includes the time of the methods that call it).
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from pyinstrument import Profiler

    from tuinews.core.service import Service
    from tuinews.core.store import Store

    db, out = (argv or sys.argv[1:])[:2]
    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for name in ("stories_matching_any", "stories_by_ids", "article", "article_text", "_query"):
        fn = getattr(Store, name, None)
        if fn is None:
            continue

        def wrap(*a: object, _fn=fn, _name=name, **k: object) -> object:
            t = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                spent[_name] += time.perf_counter() - t
                calls[_name] += 1

        setattr(Store, name, wrap)
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
        spent.clear()
        calls.clear()
        prof = Profiler(interval=0.0005)
        t = time.perf_counter()
        with prof:
            for sid in sample:
                service.related(sid)
        wall = time.perf_counter() - t
    n = len(sample)
    lines = [f"Service.related on {n} stories: {wall / n * 1000:.1f} ms per call (profiled)"]
    for name in sorted(spent, key=spent.get, reverse=True):
        lines.append(
            f"  {name}: {spent[name] / n * 1000:.1f} ms per call, "
            f"{calls[name] / n:.1f} calls per related()"
        )
    lines += ["", prof.output_text(unicode=True, color=False, show_all=False)]
    Path(out).write_text("\n".join(lines))
    print("\n".join(lines[: 1 + len(spent)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
