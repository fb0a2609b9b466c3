"""Where a first fetch's time goes without the network: parse and store N world feeds in-process.

    python bench/profile_store.py 1000 [OUT.txt]

Builds each feed's bytes (``World.feed_bytes``), parses it with ``parse_feed`` and stores it with
``Store.store_feed`` in a fresh cache, timing the two stages apart; then stores generation 1
(every feed changed) the same way. The first fetch's store stage runs again in a fresh cache under cProfile
(the refresh's writer thread is not seen by pyinstrument, which samples the main thread).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def by_statement(world: Any, n: int, path: Path) -> list[str]:
    """Store generation 0 with every ``execute`` of ``store_feed`` timed by its statement."""
    from collections import defaultdict

    from tuinews.core.feeds import parse_feed
    from tuinews.core.store import Store

    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)

    class Timed:
        def __init__(self, conn: Any) -> None:
            self.conn = conn

        def execute(self, sql: str, *args: Any) -> Any:
            key = " ".join(sql.split()[:3])
            t = time.perf_counter()
            try:
                return self.conn.execute(sql, *args)
            finally:
                spent[key] += time.perf_counter() - t
                calls[key] += 1

        def __getattr__(self, name: str) -> Any:
            return getattr(self.conn, name)

    store = Store(path)
    plain = Store.conn

    ids = [store.add_feed(world.feed_url(i)).id for i in range(n)]
    parsed = []
    for i in range(n):
        body, ctype = world.feed_bytes(i, 0)
        parsed.append(parse_feed(body, url=world.feed_url(i), content_type=ctype))
    Store.conn = property(lambda self: Timed(plain.fget(self)))  # type: ignore[method-assign]
    try:
        t = time.perf_counter()
        for fid, p in zip(ids, parsed, strict=True):
            store.store_feed(fid, p)
        total = time.perf_counter() - t
    finally:
        Store.conn = plain  # type: ignore[method-assign]
    store.close()
    rest = total - sum(spent.values())
    rows = [f"  store_feed total {total:.2f} s; outside SQLite: {rest:.2f} s (Python and zlib)"]
    for key in sorted(spent, key=spent.get, reverse=True):  # type: ignore[arg-type]
        rows.append(
            f"  {key:<32} {spent[key]:6.2f} s  {calls[key]:>7} calls"
            f"  {spent[key] / calls[key] * 1e6:6.1f} us each"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    from world import World

    from tuinews.core.feeds import parse_feed
    from tuinews.core.store import Store

    args = argv or sys.argv[1:]
    n = int(args[0])
    out = Path(args[1]) if len(args) > 1 else None
    world = World(n, "http://127.0.0.1:9")
    lines: list[str] = []
    stats_text = ""
    with tempfile.TemporaryDirectory() as tmp:
        # gen 0 twice: timed plainly in one cache, then under cProfile in another.
        for gen, db in ((0, "plain"), (1, "plain"), (0, "profiled")):
            store = Store(Path(tmp) / f"{db}.sqlite3")
            ids = [store.add_feed(world.feed_url(i)).id for i in range(n)]
            bodies = [world.feed_bytes(i, gen) for i in range(n)]
            t = time.perf_counter()
            parsed = [
                parse_feed(b, url=world.feed_url(i), content_type=ct)
                for i, (b, ct) in enumerate(bodies)
            ]
            t_parse = time.perf_counter() - t
            prof = cProfile.Profile() if db == "profiled" else None
            t = time.perf_counter()
            if prof is not None:
                prof.enable()
            for fid, p in zip(ids, parsed, strict=True):
                store.store_feed(fid, p)
            if prof is not None:
                prof.disable()
            t_store = time.perf_counter() - t
            phase = "first" if gen == 0 else "changed"
            lines.append(
                f"{phase}: parse {t_parse:.2f} s ({t_parse / n * 1000:.2f} ms/feed), "
                f"store {t_store:.2f} s ({t_store / n * 1000:.2f} ms/feed)"
                + (" [store under cProfile]" if prof is not None else "")
            )
            if prof is not None:
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
                stats_text = buf.getvalue()
            store.close()
        lines.append("")
        lines.append("first fetch, store stage, execute() time by statement (a timing proxy):")
        lines += by_statement(world, n, Path(tmp) / "timed.sqlite3")
    print("\n".join(lines))
    if out is not None:
        out.write_text(
            "\n".join(lines) + "\n\ncProfile of the first store, by own time:\n" + stats_text
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
