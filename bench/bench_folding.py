"""Folding (one row per event) at 100,000 stories: its own cost, and the story list with it on
and off, side by side in one run.

    python bench/bench_folding.py [DB] [--stories N] [--no-refold] [--app-only]

Builds the cache with ``cache.py`` when DB does not exist (its stories span 25 days). Prints:

- fold: ``fold_events`` over every story of the cache (the first pass after an upgrade or a
  first big refresh; later passes only see new stories), and one pass over 200 new stories;
- list: what the story list asks the store for, folding off vs on: the count (each reload),
  the first page, a page by keyset continuation deep in the list, a jump by OFFSET, the
  position of a story (``index_of``), and (folding on) the folded reports of a page's leads.
  Medians and p95 of 30 runs each, interleaved;
- the app, headless: time to a filled story list, 100 cursor moves, End then Home (medians of
  three runs each, interleaved). ``--app-only`` runs only these, ``--no-refold`` keeps the
  cache's folding.
"""

# ruff: noqa: B023 (each lambda is called at once, inside its loop turn)
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?", default="/tmp/tuinews-bench-folding/cache.sqlite3")
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--no-refold", action="store_true", help="keep the cache's folding (list figures only)"
    )
    parser.add_argument("--app-only", action="store_true", help="only the headless app figures")
    args = parser.parse_args()
    from cache import build_cache

    from tuinews.core.folding import fold_events
    from tuinews.core.models import ParsedEntry, ParsedFeed
    from tuinews.core.store import Store, StoryFilter

    db = Path(args.db)
    if not db.exists():
        print(f"building {args.stories:,} stories in {db}…", flush=True)
        build_cache(db, args.stories)
    if args.app_only:
        print("the app (headless 120x40, in this process), ms, folding off / on (medians of 3):")
        for label, value in app_figures(db).items():
            print(f"  {label:44} {value[0]:8.1f} {value[1]:8.1f}")
        return 0
    store = Store(db)
    newest = store.list_stories(limit=1)[0].published or datetime.now(UTC)
    now = newest + timedelta(hours=1)
    # Every run folds the whole cache afresh: the cost of the first pass after an upgrade.
    if not args.no_refold:
        with store.transaction() as conn:
            conn.execute("UPDATE stories SET event_checked = 0, event_lead = NULL")
    unchecked = store._query("SELECT count(*) FROM stories WHERE event_checked = 0")[0][0]
    t = time.perf_counter()
    looked = fold_events(store, now=now)
    fold_s = time.perf_counter() - t
    members = store._query("SELECT count(*) FROM stories WHERE event_lead IS NOT NULL")[0][0]
    print(
        f"fold: {looked:,} stories looked at ({unchecked:,} unchecked) in {fold_s:.1f} s "
        f"({looked / fold_s if fold_s else 0:,.0f}/s); {members:,} folded into other reports"
    )
    # 200 new stories arriving in 20 feeds, then one folding pass.
    feeds = store.feeds()[:20]
    run = int(time.time())
    sample = store.list_stories(limit=200)
    for i, feed in enumerate(feeds):
        entries = [
            ParsedEntry(
                guid=f"new-{run}-{i}-{j}",
                link=f"http://127.0.0.1:9/new/{run}/{i}/{j}",
                title=s.title,
                published=newest + timedelta(minutes=i * 10 + j),
                summary=s.summary,
            )
            for j, s in enumerate(sample[i * 10 : i * 10 + 10])
        ]
        store.store_feed(
            feed.id, ParsedFeed(title=feed.title, site_url=None, entries=entries, format="rss")
        )
    t = time.perf_counter()
    looked = fold_events(store, now=now + timedelta(hours=5))
    print(f"fold of {looked} new stories: {(time.perf_counter() - t) * 1000:.0f} ms")

    total = store.count_stories()
    deep = store.list_stories(limit=1, offset=total // 2)[0]
    after = store.sort_position(deep.id)
    rows: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.runs):
        for label, folded in (("off", False), ("on", True)):
            flt = StoryFilter(folded=folded)
            unread = StoryFilter(unread=True, folded=folded)
            r = rows.setdefault(label, {})
            r.setdefault("count", []).append(timed(lambda: store.count_stories(flt)))
            r.setdefault("count unread", []).append(timed(lambda: store.count_stories(unread)))
            page: list = []
            r.setdefault("first page", []).append(
                timed(lambda: page.extend(store.list_stories(flt, limit=100)))
            )
            r.setdefault("keyset page", []).append(
                timed(lambda: store.list_stories(flt, limit=100, after=after))
            )
            r.setdefault("offset jump", []).append(
                timed(lambda: store.list_stories(flt, limit=100, offset=total // 2))
            )
            r.setdefault("index_of", []).append(timed(lambda: store.index_of(deep.id, flt)))
            if folded:
                ids = [s.id for s in page]
                r.setdefault("page's folded reports", []).append(
                    timed(lambda: store.event_members(ids))
                )
    print(
        f"\nstory list at {total:,} stories ({store.count_stories(StoryFilter(folded=True)):,}"
        " rows folded), ms, median / p95:"
    )
    print(f"{'query':24} {'folding off':>16} {'folding on':>16}")
    for name in rows["on"]:
        cells = []
        for label in ("off", "on"):
            values = sorted(rows[label].get(name, []))
            if values:
                p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
                cells.append(f"{statistics.median(values):7.2f} / {p95:6.2f}")
            else:
                cells.append(f"{'-':>16}")
        print(f"{name:24} {cells[0]:>16} {cells[1]:>16}")
    store.close()
    print("\nthe app (headless 120x40, in this process), ms, folding off / on (medians of 3):")
    for label, value in app_figures(db).items():
        print(f"  {label:44} {value[0]:8.1f} {value[1]:8.1f}")
    return 0


def app_figures(db: Path) -> dict[str, tuple[float, float]]:
    """Time to a filled story list, 200 cursor moves (j), and G / g (a page by OFFSET and
    back), with folding off and on, the same folded cache."""
    import asyncio
    import dataclasses

    from tuinews.cli import _service
    from tuinews.config import load_config
    from tuinews.ui.app import TuinewsApp
    from tuinews.ui.widgets.story_list import StoryList

    async def one(fold: bool) -> dict[str, float]:
        config = dataclasses.replace(load_config(db.parent), fold_events=fold)
        service = _service(config)
        out: dict[str, float] = {}
        try:
            started = time.perf_counter()
            app = TuinewsApp(service, config)
            async with app.run_test(size=(120, 40)) as pilot:
                while True:
                    try:
                        stories = app.screen.query_one(StoryList)
                    except Exception:  # noqa: BLE001 - not mounted yet
                        stories = None
                    if stories is not None and stories._loaded:
                        break
                    await pilot.pause(0.002)
                await pilot.pause()
                out["ready (mount to a filled list)"] = (time.perf_counter() - started) * 1000
                stories.focus()
                t = time.perf_counter()
                for _ in range(100):
                    await pilot.press("down")
                out["100 cursor moves"] = (time.perf_counter() - t) * 1000
                t = time.perf_counter()
                await pilot.press("end")
                await pilot.pause()
                await pilot.press("home")
                await pilot.pause()
                out["end then home"] = (time.perf_counter() - t) * 1000
                await app.workers.wait_for_complete()
        finally:
            service.close()
        return out

    # Interleaved, three of each: the machine is shared and the first run warms the caches.
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for order in ((False, True), (True, False), (False, True)):  # each goes first in turn
        for fold in order:
            runs[fold].append(asyncio.run(one(fold)))
    return {
        k: (
            statistics.median(r[k] for r in runs[False]),
            statistics.median(r[k] for r in runs[True]),
        )
        for k in runs[False][0]
    }


if __name__ == "__main__":
    sys.exit(main())
