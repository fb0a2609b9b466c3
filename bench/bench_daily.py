"""Issue 15's figures: the retention cleanup of a 100,000-story cache, and the app's frames while
it runs; a background (scheduled) refresh of 1,000 feeds while the reader scrolls.

``python bench/bench_daily.py [--stories 100000] [--feeds 1000] [--only cleanup,bgrefresh]``

- cleanup: a cache built by ``cache.py`` (1,000 feeds, one story in 20 with full text), its
  dates shifted so that about 40% of the stories are older than ``keep_days = 90`` and the rest
  older than ``full_text_days = 30``; each feed still carries its newest 10. Measured twice on
  fresh copies: ``Store.cleanup`` alone in a child process (the ``tuinews cleanup`` path), and
  inside the running app (the daily cleanup worker) while a Pilot presses j/k every 20 ms.
- bgrefresh: 1,000 feeds of the served world, all due; the app's schedule refreshes them in the
  background while the Pilot scrolls.

Frames: a 10 ms interval timer on the app's event loop records when it runs; a gap between two
runs is the longest the UI could not paint or answer a key. Reported: the median, p99 and the
largest gap while the work ran (target: every gap under 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BENCH, REPO, ServedWorld, log  # noqa: E402

KEEP_DAYS, KEEP_PER_FEED, FULL_TEXT_DAYS = 90, 500, 30


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


def prepare_cache(work: Path, n_stories: int, n_feeds: int) -> Path:
    """A cache whose stories are 75 to ~100 days old, the newest 10 of each feed in its feed."""
    src = work / f"daily-{n_stories}" / "cache.sqlite3"
    if not src.exists():
        subprocess.run(
            [sys.executable, str(BENCH / "cache.py"), str(src), str(n_stories), str(n_feeds)],
            check=True,
        )
        conn = sqlite3.connect(src)
        newest = conn.execute("SELECT max(sort_key) FROM stories").fetchone()[0]
        shift = int(time.time()) - 75 * 86400 - newest
        conn.execute(
            "UPDATE stories SET sort_key = sort_key + ?, published = published + ?", (shift, shift)
        )
        conn.execute(
            "UPDATE feeds SET present_ids = (SELECT group_concat(id) FROM (SELECT id FROM"
            " stories s WHERE s.feed_id = feeds.id ORDER BY sort_key DESC LIMIT 10))"
        )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    return src


def fresh_copy(src: Path, name: str) -> Path:
    dst = src.parent.parent / name / "cache.sqlite3"
    shutil.rmtree(dst.parent, ignore_errors=True)
    dst.parent.mkdir(parents=True)
    shutil.copy(src, dst)
    return dst


def cleanup_child(db: str) -> dict[str, object]:
    from tuinews.core.store import Store

    store = Store(db)
    started = time.perf_counter()
    report = store.cleanup(
        keep_days=KEEP_DAYS, keep_per_feed=KEEP_PER_FEED, full_text_days=FULL_TEXT_DAYS
    )
    seconds = time.perf_counter() - started
    left = store.count_stories()
    ok = store.integrity_check()
    store.close()
    return {
        "seconds": seconds,
        "deleted": report.stories_deleted,
        "full_texts": report.full_texts_dropped,
        "kept_in_feed": report.kept_in_feed,
        "mib_before": report.bytes_before / 2**20,
        "mib_after": report.bytes_after / 2**20,
        "vacuum_seconds": report.vacuum_seconds,
        "left": left,
        "integrity": ok,
    }


async def _drive(app, pilot, done, timeout: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Move the story cursor every 20 ms (j for 20 steps, then k) until ``done()``; meanwhile
    a 10 ms timer records when the event loop gets to run it."""
    ticks: list[float] = []
    screen = app.get_screen("main")
    keys = 0

    def step() -> None:
        nonlocal keys
        if keys % 40 < 20:
            screen.stories.action_cursor_down()
        else:
            screen.stories.action_cursor_up()
        keys += 1

    import gc

    collections: list[tuple[float, int]] = []
    began: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            collections.append(((time.perf_counter() - began.pop()) * 1000, info["generation"]))

    gc.callbacks.append(on_gc)
    timers = [
        app.set_interval(0.01, lambda: ticks.append(time.perf_counter())),
        app.set_interval(0.02, step),
    ]
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > timeout:
            raise RuntimeError("the background work did not finish in time")
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    for timer in timers:
        timer.stop()
    gc.callbacks.remove(on_gc)
    gaps = [(b - a) * 1000 for a, b in zip(ticks, ticks[1:], strict=False)]
    worst = sorted(
        ((g, round(a - started, 2)) for g, a in zip(gaps, ticks, strict=False)), reverse=True
    )[:5]
    return {
        "seconds": seconds,
        "keys": keys,
        "frames": len(ticks),
        "gap_p50_ms": statistics.median(gaps) if gaps else 0.0,
        "gap_p99_ms": _pct(gaps, 0.99),
        "gap_max_ms": max(gaps) if gaps else 0.0,
        "gaps_over_100ms": sum(1 for g in gaps if g > 100),
        "worst_gaps_ms_at_s": str([(round(g), t) for g, t in worst]),
        "gc_max_ms": max((c[0] for c in collections), default=0.0),
        "gc_over_50ms": sum(1 for c in collections if c[0] > 50),
    }


def app_cleanup_child(db: str) -> dict[str, object]:
    from tuinews.config import load_config
    from tuinews.core.service import Service
    from tuinews.ui.app import TuinewsApp

    config = load_config(data_dir=Path(db).parent)
    service = Service(db, extract_workers=1)

    async def main() -> dict[str, object]:
        from tuinews.ui.screens.main import MainScreen

        MainScreen.CLEANUP_DELAY = 3600.0  # started by hand below, once the app is up
        app = TuinewsApp(service, config)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.get_screen("main")
            await pilot.pause(0.5)
            # The noise floor first: the same scrolling for 5 s with nothing in the background.
            until = time.perf_counter() + 5
            baseline = await _drive(app, pilot, lambda: time.perf_counter() > until, 30)
            screen.start_cleanup()
            started = time.perf_counter()
            figures = await _drive(app, pilot, lambda: screen._cancel_cleanup is None, timeout=120)
            figures["cleanup_seconds"] = time.perf_counter() - started
            figures["baseline"] = baseline
            figures["left"] = service.store.count_stories()
        return figures

    try:
        return asyncio.run(main())
    finally:
        service.close()


def bgrefresh_child(db: str, urls_file: str) -> dict[str, object]:
    from tuinews.config import load_config
    from tuinews.core.service import Service
    from tuinews.ui.app import TuinewsApp

    config = load_config(data_dir=Path(db).parent)
    service = Service(db, extract_workers=1)
    urls = Path(urls_file).read_text().split()
    with service.store.transaction() as conn:
        conn.executemany(
            "INSERT INTO feeds (url, title, added_at) VALUES (?, ?, 0)",
            [(u, f"feed {i}") for i, u in enumerate(urls)],
        )
        conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('initialized', 'true')")

    async def main() -> dict[str, object]:
        from tuinews.ui.screens.main import MainScreen

        MainScreen.SCHEDULE_TICK = 0.5
        app = TuinewsApp(service, config)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.get_screen("main")
            # Wait for the first background refresh to start, then scroll until it is done.
            while screen._cancel_scheduled is None:
                await pilot.pause(0.05)
            figures = await _drive(
                app, pilot, lambda: screen._cancel_scheduled is None, timeout=600
            )
            figures["stories"] = service.store.count_stories()
            figures["feeds_checked"] = int(
                service.store.conn.execute(
                    "SELECT count(*) FROM feeds WHERE last_checked IS NOT NULL"
                ).fetchone()[0]
            )
        return figures

    try:
        return asyncio.run(main())
    finally:
        service.close()


def _child(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__)), "--child", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_daily(
    n_stories: int, n_feeds: int, work: Path, only: list[str]
) -> tuple[list[str], dict[str, object]]:
    rows: list[str] = []
    data: dict[str, object] = {}
    if "cleanup" in only:
        src = prepare_cache(work, n_stories, n_feeds)
        log(f"cleanup: {n_stories:,} stories, headless")
        alone = _child("cleanup", str(fresh_copy(src, "daily-cleanup-alone")))
        log(f"cleanup alone: {alone}")
        log("cleanup: inside the app, while scrolling")
        in_app = _child("app-cleanup", str(fresh_copy(src, "daily-cleanup-app")))
        log(f"cleanup in the app: {in_app}")
        data["cleanup"] = {"alone": alone, "app": in_app}
        rows += [
            f"### Retention cleanup, {n_stories:,} stories, {n_feeds:,} feeds",
            "",
            "| figure | value | target |",
            "|---|---|---|",
            f"| `Store.cleanup` alone (the `tuinews cleanup` path) | {alone['seconds']:.2f} s"
            f" (of which {alone['vacuum_seconds']:.2f} s giving the space back) | < 5 s |",
            f"| deleted / full text dropped / kept (still in feed) | {alone['deleted']:,} /"
            f" {alone['full_texts']:,} / {alone['kept_in_feed']:,} | |",
            f"| cache size | {alone['mib_before']:.1f} -> {alone['mib_after']:.1f} MiB | shrinks |",
            f"| inside the app, while scrolling (the cursor moves every 20 ms) | {in_app['cleanup_seconds']:.2f} s"
            " | |",
            f"| frame gap p50 / p99 / max during it | {in_app['gap_p50_ms']:.1f} /"
            f" {in_app['gap_p99_ms']:.1f} / {in_app['gap_max_ms']:.1f} ms"
            f" ({in_app['gaps_over_100ms']} over 100 ms) | every gap < 100 ms |",
            f"| the same scrolling with nothing in the background (5 s) |"
            f" {in_app['baseline']['gap_p50_ms']:.1f} / {in_app['baseline']['gap_p99_ms']:.1f} /"
            f" {in_app['baseline']['gap_max_ms']:.1f} ms"
            f" ({in_app['baseline']['gaps_over_100ms']} over 100 ms) | the noise floor |",
            f"| load average at the end | {os.getloadavg()[0]:.1f} (2 cores) | |",
            "",
        ]
    if "bgrefresh" in only:
        with ServedWorld(n_feeds) as world:
            world.set_generation(0)
            db = fresh_copy(prepare_empty(work), "daily-bgrefresh")
            urls = world.write_urls(db.parent / "urls")
            log(f"background refresh of {n_feeds:,} feeds while scrolling")
            fig = _child("bgrefresh", str(db), str(urls))
        log(f"bgrefresh: {fig}")
        data["bgrefresh"] = fig
        rows += [
            f"### Background refresh of {n_feeds:,} feeds (first fetch) while scrolling",
            "",
            "| figure | value | target |",
            "|---|---|---|",
            f"| the scheduled refresh | {fig['seconds']:.2f} s, {fig['feeds_checked']:,} feeds,"
            f" {fig['stories']:,} stories | |",
            f"| keys pressed meanwhile | {fig['keys']:,} | |",
            f"| frame gap p50 / p99 / max | {fig['gap_p50_ms']:.1f} / {fig['gap_p99_ms']:.1f} /"
            f" {fig['gap_max_ms']:.1f} ms ({fig['gaps_over_100ms']} over 100 ms)"
            " | every gap < 100 ms |",
            "",
        ]
    return rows, data


def prepare_empty(work: Path) -> Path:
    path = work / "daily-empty" / "cache.sqlite3"
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    from tuinews.core.store import Store

    Store(path).close()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    p.add_argument("--stories", type=int, default=100_000)
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--only", default="cleanup,bgrefresh")
    p.add_argument("--work", default="/tmp/tuinews-bench")
    args = p.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        fn = {
            "cleanup": cleanup_child,
            "app-cleanup": app_cleanup_child,
            "bgrefresh": bgrefresh_child,
        }
        print(json.dumps(fn[kind](*rest)))
        return 0
    rows, data = bench_daily(
        args.stories, args.feeds, Path(args.work), [s.strip() for s in args.only.split(",")]
    )
    print("\n".join(rows))
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    (out / f"daily-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
