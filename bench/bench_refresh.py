"""Refresh: tuinews vs newsboat vs the bare floor, on the same served world.

For each tool and each run, in a fresh directory: subscribe (not measured), then three measured
fetches: ``first`` (empty cache, generation 0), ``changed`` (generation 1: every feed has 10 new
items) and ``304`` (every feed answers 304 Not Modified). The server's request counts are checked
after each fetch, so a tool that silently skipped feeds is caught.

newsboat 2.21 does not read JSON Feed: it fetches the JSON third of the world and stores nothing
from it, which makes its figures look better than they would be with the same work.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

from harness import (
    BENCH,
    Figure,
    ServedWorld,
    fmt_ratio,
    isolated_env,
    log,
    measure,
    ratio,
    tuinews_cmd,
)

PHASES = ("first", "changed", "304")
TOOLS = ("tuinews", "floor", "newsboat", "newsboat-t8")


def newsboat_cmd(d: Path, action: str = "reload") -> list[str]:
    return [
        "newsboat",
        "-u",
        str(d / "urls"),
        "-c",
        str(d / "cache.db"),
        "-C",
        str(d / "config"),
        "-x",
        action,
    ]


def _expect(world: ServedWorld, phase: str, n: int, tool: str) -> str:
    stats = world.stats(reset=True)
    key = "feed304" if phase == "304" else "feed200"
    got = stats.get(key, 0)
    if phase == "304" and tool.startswith("newsboat"):
        # newsboat stores nothing (no validators either) for the JSON feeds: they answer 200.
        n = sum(1 for f in range(n) if world.world.kind(f) != "json")
    if got != n:
        return f"expected {n} {key}, server saw {stats}"
    return ""


def run_tool(
    tool: str, world: ServedWorld, work: Path, figures: dict[str, Figure], keep: Path | None = None
) -> None:
    """One run (three phases) of one tool in a fresh directory."""
    n = world.n_feeds
    d = work / f"{tool}-{n}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    env = isolated_env(d / "home")
    world.set_generation(0)
    if tool == "tuinews":
        measure(
            tuinews_cmd(d / "data", "import-opml", str(world.write_opml(d / "feeds.opml"))), env=env
        )
        cmd = tuinews_cmd(d / "data", "refresh", "-q")
    elif tool == "floor":
        world.write_urls(d / "urls")
        cmd = [sys.executable, str(BENCH / "floor.py"), str(d / "urls"), str(d / "floor.db")]
    else:
        world.write_urls(d / "urls")
        (d / "config").write_text("reload-threads 8\n" if tool == "newsboat-t8" else "")
        cmd = newsboat_cmd(d)
    world.stats(reset=True)
    for phase in PHASES:
        if phase == "changed":
            world.set_generation(1)
        s = measure(cmd, env=env, timeout=1800)
        problem = _expect(world, phase, n, tool)
        fig = figures.setdefault(f"{tool}/{phase}", Figure(f"{tool} {phase} N={n}"))
        fig.samples.append(s)
        if problem:
            fig.extra["warning"] = problem
        log(
            f"  {tool} N={n} {phase}: {s.wall:.2f} s, tree {s.tree_mib:.0f} MiB, "
            f"max {s.max_mib:.0f} MiB {problem}"
        )
    if tool.startswith("newsboat"):
        with sqlite3.connect(d / "cache.db") as c:
            figures[f"{tool}/first"].extra["items_stored"] = c.execute(
                "SELECT count(*) FROM rss_item"
            ).fetchone()[0]
        if keep is not None and not keep.exists():
            shutil.copy(d / "cache.db", keep)  # reused by the start-up bench (print-unread)
    if tool == "tuinews":
        with sqlite3.connect(d / "data" / "cache.sqlite3") as c:
            figures["tuinews/first"].extra["items_stored"] = c.execute(
                "SELECT count(*) FROM stories"
            ).fetchone()[0]


def bench_refresh(
    n: int,
    runs: int,
    work: Path,
    *,
    newsboat_runs: int | None = None,
    tools: tuple[str, ...] = TOOLS,
) -> dict[str, Figure]:
    """All tools at N feeds; returns figures keyed ``tool/phase``."""
    figures: dict[str, Figure] = {}
    have_newsboat = shutil.which("newsboat") is not None
    nb_runs = runs if newsboat_runs is None else newsboat_runs
    with ServedWorld(n) as world:
        for r in range(runs):
            log(f"refresh N={n} run {r + 1}/{runs}")
            for tool in tools:
                if tool.startswith("newsboat") and (not have_newsboat or r >= nb_runs):
                    continue
                run_tool(tool, world, work, figures, keep=work / f"newsboat-cache-{n}.db")
    return figures


def table(n: int, figures: dict[str, Figure]) -> list[str]:
    """Markdown rows: every tool and phase, with ratios against newsboat and the floor."""
    out = [
        f"### Refresh, N = {n} feeds ({n * 50} items)",
        "",
        "| tool | phase | median wall | runs | peak RSS tree / largest process |"
        " vs newsboat (default) | vs newsboat t8 | vs floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tool in TOOLS:
        for phase in PHASES:
            f = figures.get(f"{tool}/{phase}")
            if f is None or not f.samples:
                continue
            nb = figures.get(f"newsboat/{phase}")
            nb8 = figures.get(f"newsboat-t8/{phase}")
            fl = figures.get(f"floor/{phase}")
            walls = ", ".join(f"{s.wall:.2f}" for s in f.samples)
            out.append(
                f"| {tool} | {phase} | {f.wall:.2f} s | {walls} | {f.tree_mib:.0f} / "
                f"{f.max_mib:.0f} MiB | {fmt_ratio(ratio(f.wall, nb.wall) if nb else None)} | "
                f"{fmt_ratio(ratio(f.wall, nb8.wall) if nb8 else None)} | "
                f"{fmt_ratio(ratio(f.wall, fl.wall) if fl else None)} |"
            )
    notes = [f"- {key}: {k} = {v}" for key, f in figures.items() for k, v in f.extra.items()]
    if notes:
        out += ["", "(items_stored: rows in the cache after all three phases)", *notes]
    return out
