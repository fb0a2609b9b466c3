"""Start-up to a filled story list, and the app's memory with a big cache; newsboat alongside.

tuinews: ``startup_child.py`` starts the real app headless on caches of 0, 10,000 and 100,000
stories built by ``cache.py``; ``ready_s`` is from process start to the first painted screen of
rows. Memory: the same with ``--interact`` (scroll to the end and back, page, search), the peak
summed RSS of its process tree.

newsboat: ``-x print-unread`` (start, load the cache, count) on the caches its own reloads built
in the refresh bench (``newsboat-cache-<N>.db``: JSON feeds excluded, so about 2/3 x 60 items per
feed), and on an empty cache.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

from harness import BENCH, isolated_env, log, measure


def _tuinews_dir(work: Path, n: int, n_feeds: int = 1000) -> Path:
    d = work / (f"startup-{n}" if n_feeds == 1000 else f"startup-{n}-{n_feeds}feeds")
    db = d / "cache.sqlite3"
    if not db.exists():
        if n:
            # In a subprocess: this process stays small (it spawns the measured ones).
            subprocess.run(
                [sys.executable, str(BENCH / "cache.py"), str(db), str(n), str(n_feeds)],
                check=True,
                capture_output=True,
            )
        else:
            d.mkdir(parents=True, exist_ok=True)
            from tuinews.core.store import Store

            s = Store(db)
            s.set_setting("initialized", True)  # not a first run: no samples are loaded
            s.close()
    return d


def bench_startup(
    sizes: list[str], runs: int, work: Path, feeds: list[int] | None = None
) -> tuple[list[str], dict[str, object]]:
    data: dict[str, object] = {}
    rows = [
        "### Start-up to a filled story list (headless 120x40) and memory",
        "",
        "| cache | median ready | runs | median process wall | peak RSS tree | vs empty | target |",
        "|---|---|---|---|---|---|---|",
    ]
    base: float | None = None
    for spec in sizes:
        # "100000" or "100000:100" (stories:feeds; the default is 1,000 feeds).
        n, _, nf = str(spec).partition(":")
        n, n_feeds = int(n), int(nf or 1000)
        d = _tuinews_dir(work, n, n_feeds)
        env = isolated_env(work / "startup-home")
        # Copy per run: the app writes its position on exit; keep the cache identical.
        ready, walls, rss = [], [], []
        for r in range(runs + 1):
            run_dir = work / f"startup-run-{n}"
            shutil.rmtree(run_dir, ignore_errors=True)
            shutil.copytree(d, run_dir)
            s = measure(
                [sys.executable, str(BENCH / "startup_child.py"), str(run_dir)],
                env=env,
                timeout=600,
            )
            out = json.loads(s.stdout.strip().splitlines()[-1])
            if r == 0:
                continue  # the first run warms the page cache (the cache file was just built)
            ready.append(out["ready_s"])
            walls.append(s.wall)
            rss.append(s.tree_mib)
            log(
                f"  startup {n}: ready {out['ready_s']:.2f} s (count {out['count']}, "
                f"rows {out['rows_rendered']}), wall {s.wall:.2f} s, tree {s.tree_mib:.0f} MiB"
            )
        med = statistics.median(ready)
        if n == 0:
            base = med
        data[f"tuinews-{spec}"] = {"ready": ready, "walls": walls, "tree_mib": rss}
        vs = f"{med / base:.2f}x" if base else "n/a"
        target = "<= 1.2x at 100,000" if n == 100_000 and n_feeds == 1000 else ""
        feeds_note = f" in {n_feeds:,} feeds" if n else ""
        rows.append(
            f"| tuinews, {n:,} stories{feeds_note} | {med:.2f} s | "
            f"{', '.join(f'{x:.2f}' for x in ready)} | {statistics.median(walls):.2f} s | "
            f"{statistics.median(rss):.0f} MiB | {vs} | {target} |"
        )
    big = max(int(str(x).partition(":")[0]) for x in sizes)
    if big:
        d = _tuinews_dir(work, big)
        env = isolated_env(work / "startup-home")
        peaks = []
        for _ in range(runs):
            run_dir = work / f"startup-run-{big}"
            shutil.rmtree(run_dir, ignore_errors=True)
            shutil.copytree(d, run_dir)
            s = measure(
                [sys.executable, str(BENCH / "startup_child.py"), str(run_dir), "--interact"],
                env=env,
                timeout=600,
            )
            peaks.append(s.tree_mib)
        data["memory"] = {"stories": big, "tree_mib": peaks, "max_mib": s.max_mib}
        rows.append(
            f"| memory: app with {big:,} stories, scrolled to the end, paged, searched |"
            f" | | | {statistics.median(peaks):.0f} MiB (largest process "
            f"{s.max_mib:.0f} MiB) | | <= 150 MB |"
        )
    if shutil.which("newsboat"):
        caches = [(0, None)] + [(n, work / f"newsboat-cache-{n}.db") for n in (feeds or [])]
        for n, cache in caches:
            if cache is not None and not cache.exists():
                continue
            d = work / f"nb-startup-{n}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            items = 0
            if cache is not None:
                shutil.copy(cache, d / "cache.db")
                with sqlite3.connect(d / "cache.db") as c:
                    items = c.execute("SELECT count(*) FROM rss_item").fetchone()[0]
                    urls = [r[0] for r in c.execute("SELECT rssurl FROM rss_feed")]
            else:
                urls = []
            (d / "urls").write_text("\n".join(urls) + "\n")
            (d / "config").write_text("")
            cmd = [
                "newsboat",
                "-u",
                str(d / "urls"),
                "-c",
                str(d / "cache.db"),
                "-C",
                str(d / "config"),
                "-x",
                "print-unread",
            ]
            env = isolated_env(d / "home")
            measure(cmd, env=env, check=False)  # warm the page cache
            samples = [measure(cmd, env=env, check=False, timeout=900) for _ in range(runs)]
            med = statistics.median(x.wall for x in samples)
            data[f"newsboat-{n}"] = {"items": items, "walls": [x.wall for x in samples]}
            rows.append(
                f"| newsboat `-x print-unread`, {items:,} items | {med:.2f} s | "
                f"{', '.join(f'{x.wall:.2f}' for x in samples)} | {med:.2f} s | "
                f"{statistics.median(x.tree_mib for x in samples):.0f} MiB | | |"
            )
            log(f"  newsboat print-unread {items} items: {med:.2f} s")
    return rows, data
