"""Frames while the app refreshes in the background (issue 19).

    python bench/bench_frames.py [--feeds 200] [--runs 3]

Serves the world of N feeds, subscribes a fresh cache to them, starts the real app headless
(``run_test``, 120x40) and presses ``R`` (refresh all feeds) twice: the first fetch into an
empty cache, then the pass where every feed answers 304. During each refresh a timer asks for
a tick every 1/60 s and records when each tick ran, and the screen's own updates are counted
(``Screen._refresh_layout`` / compositor paints are Textual internals, so the gap between timer
ticks is the measure: a tick that runs late is a frame that could not be drawn on time, since
both wait for the same event loop). A control comes first: the same app ticking for 2 s with
no refresh, which shows what the machine's load alone does to the gaps. Printed per run: the refresh's wall time, the largest gap
between ticks, the 99th percentile and the number of gaps over 100 ms; then the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ServedWorld  # noqa: E402

TICK = 1 / 60
STACKS = False
RELOADS: list[list[float]] = []
STALLS: Counter[str] = Counter()
"""Where the UI thread was (its innermost frames) while a tick was over 50 ms late (--stacks)."""


def watch(ticks: list[float], stop: threading.Event, main_id: int) -> None:
    """Sample the UI thread's stack every 5 ms while no tick has come for 50 ms."""
    while not stop.wait(0.005):
        if ticks and time.perf_counter() - ticks[-1] > 0.05:
            frame = sys._current_frames().get(main_id)
            names = []
            while frame is not None and len(names) < 6:
                code = frame.f_code
                names.append(f"{Path(code.co_filename).name}:{code.co_name}:{frame.f_lineno}")
                frame = frame.f_back
            STALLS[" < ".join(names)] += 1


async def one_run(world: ServedWorld, work: Path) -> dict[str, dict[str, float]]:
    from tuinews.config import load_config
    from tuinews.core.fetch import Fetcher, FetchLimits
    from tuinews.core.service import Service
    from tuinews.ui.app import TuinewsApp
    from tuinews.ui.screens.main import MainScreen

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    reloads: list[float] = []  # how long each re-read of the lists held the UI thread
    real_reload = MainScreen.reload_lists
    if not getattr(real_reload, "timed", False):

        def timed_reload(self: MainScreen) -> None:
            t0 = time.perf_counter()
            try:
                real_reload(self)
            finally:
                RELOADS[-1].append(time.perf_counter() - t0)

        timed_reload.timed = True  # type: ignore[attr-defined]
        MainScreen.reload_lists = timed_reload  # type: ignore[method-assign]
    RELOADS.append(reloads)
    config = load_config(data_dir=work)
    service = Service(config.db_path, fetcher=Fetcher(FetchLimits(), serve_samples=False))
    for url in world.feed_urls():
        service.store.add_feed(url, "")
    service.store.set_setting("initialized", True)
    out: dict[str, dict[str, float]] = {}
    try:
        app = TuinewsApp(service, config)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            screen = app.get_screen("main")
            assert isinstance(screen, MainScreen)
            for phase in ("idle", "first", "304"):
                world.set_generation(0)
                ticks: list[float] = []
                RELOADS[-1].clear()
                timer = app.set_interval(
                    TICK, lambda ticks=ticks: ticks.append(time.perf_counter())
                )
                stop = threading.Event()
                if STACKS:
                    threading.Thread(
                        target=watch, args=(ticks, stop, threading.get_ident()), daemon=True
                    ).start()
                started = time.perf_counter()
                if phase == "idle":  # the control: the same app, ticking, with no refresh
                    await asyncio.sleep(2.0)
                else:
                    await pilot.press("R")
                # Wait for the refresh worker to finish (its group is "refresh").
                await asyncio.sleep(0.05)
                while any(w.group == "refresh" and not w.is_finished for w in app.workers._workers):
                    await asyncio.sleep(0.01)
                wall = time.perf_counter() - started
                await pilot.pause()
                timer.stop()
                stop.set()
                gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
                p99 = gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))] if gaps else 0.0
                out[phase] = {
                    "wall": wall,
                    "max_gap_ms": 1000 * (gaps[-1] if gaps else 0.0),
                    "p99_gap_ms": 1000 * p99,
                    "over_100ms": float(sum(1 for g in gaps if g > 0.1)),
                    "ticks": float(len(ticks)),
                    "stories": float(service.count_stories()),
                    "reloads": float(len(RELOADS[-1])),
                    "reload_max_ms": 1000 * max(RELOADS[-1], default=0.0),
                }
    finally:
        service.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--switch", type=float, default=None, help="sys.setswitchinterval (s)")
    p.add_argument("--stacks", action="store_true", help="where the UI thread stalls")
    args = p.parse_args(argv)
    global STACKS
    STACKS = args.stacks
    if args.switch:
        sys.setswitchinterval(args.switch)
    work = Path(tempfile.mkdtemp(prefix="tuinews-frames-"))
    runs: list[dict[str, dict[str, float]]] = []
    try:
        with ServedWorld(args.feeds) as world:
            for r in range(args.runs):
                res = asyncio.run(one_run(world, work / f"run{r}"))
                runs.append(res)
                for phase, f in res.items():
                    print(
                        f"run {r + 1} {phase}: refresh {f['wall']:.2f} s, {f['ticks']:.0f} ticks, "
                        f"largest gap {f['max_gap_ms']:.0f} ms, p99 {f['p99_gap_ms']:.0f} ms, "
                        f"{f['over_100ms']:.0f} gaps over 100 ms, {f['stories']:.0f} stories; "
                        f"{f['reloads']:.0f} re-reads of the lists, the longest "
                        f"{f['reload_max_ms']:.0f} ms",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for stack, n in STALLS.most_common(12):
        print(f"{n:5d} samples  {stack}")
    print(f"\n| N={args.feeds} | refresh wall | largest gap | p99 gap | gaps > 100 ms |")
    print("|---|---|---|---|---|")
    for phase in ("idle", "first", "304"):

        def med(key: str, phase: str = phase) -> float:
            return statistics.median(r[phase][key] for r in runs)

        largest = ", ".join(f"{r[phase]['max_gap_ms']:.0f}" for r in runs)
        print(
            f"| {phase} | {med('wall'):.2f} s | {med('max_gap_ms'):.0f} ms ({largest}) | "
            f"{med('p99_gap_ms'):.0f} ms | {med('over_100ms'):.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
