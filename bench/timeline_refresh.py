"""A timeline of one whole ``tuinews refresh`` process, and its imports.

    python bench/timeline_refresh.py 200 [--phase first|304] [--runs 3]

Serves the world of N feeds, subscribes a fresh cache (not measured), then runs the refresh as
a child process several times in a row per phase (``first``: empty cache; ``304``: every feed
answers Not Modified), each under ``timeline_child.py``, which wraps the refresh's steps with
timestamps (process start to interpreter ready, imports, the store opened, the first and last
fetch, the parsing workers started and their first answer, the first and last store write,
the workers stopped, exit). The imports of the same command are then listed with
``python -X importtime`` (the 15 most costly, cumulative). Medians are printed per mark.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ServedWorld, isolated_env, tuinews_cmd  # noqa: E402

BENCH = Path(__file__).resolve().parent


def run_child(data: Path, env: dict[str, str]) -> dict[str, float]:
    out = data.parent / "timeline.json"
    cmd = [sys.executable, str(BENCH / "timeline_child.py"), str(out), "--data-dir", str(data)]
    start = time.time()
    subprocess.run([*cmd, "refresh", "-q"], env={**os.environ, **env}, check=True)
    wall = time.time() - start
    marks: dict[str, float] = json.loads(out.read_text())
    # The child's marks are time.time(); make them relative to the parent's start.
    rel = {k: v - start for k, v in marks.items()}
    rel["exit (parent sees it)"] = wall
    return rel


def imports(data: Path, env: dict[str, str]) -> list[tuple[int, str]]:
    cmd = [sys.executable, "-X", "importtime", "-m", "tuinews", "--data-dir", str(data)]
    proc = subprocess.run(
        [*cmd, "refresh", "-q"], env={**os.environ, **env}, capture_output=True, text=True
    )
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cum_us, name = line.split("|")
        if not name[1:].startswith(" "):  # top-level imports only (no leading indentation)
            rows.append((int(cum_us), name))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("feeds", type=int)
    p.add_argument("--phase", default="first,304")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tuinews-timeline-"))
    try:
        with ServedWorld(args.feeds) as world:
            env = isolated_env(work / "home")
            for phase in args.phase.split(","):
                runs: list[dict[str, float]] = []
                for _ in range(args.runs):
                    data = work / "data"
                    shutil.rmtree(data, ignore_errors=True)
                    opml = world.write_opml(work / "feeds.opml")
                    subprocess.run(
                        tuinews_cmd(data, "import-opml", str(opml)),
                        env={**os.environ, **env},
                        check=True,
                        capture_output=True,
                    )
                    if phase == "304":  # a first refresh stores the validators
                        subprocess.run(
                            tuinews_cmd(data, "refresh", "-q"),
                            env={**os.environ, **env},
                            check=True,
                        )
                    runs.append(run_child(data, env))
                keys = sorted(
                    {k for r in runs for k in r},
                    key=lambda k: statistics.median(r.get(k, 0.0) for r in runs),
                )
                print(f"\n## N={args.feeds}, {phase}: median of {args.runs} runs (s from spawn)")
                for k in keys:
                    vals = [r[k] for r in runs if k in r]
                    each = ", ".join(f"{v:.3f}" for v in vals)
                    print(f"  {statistics.median(vals):7.3f}  {k}  ({each})")
                rows = sorted(imports(data, env), reverse=True)[:15]
                print(
                    f"\n  imports of that command (-X importtime, top-level, cumulative, {phase}):"
                )
                total = sum(us for us, _ in rows)
                for us, name in rows:
                    print(f"  {us / 1000:7.1f} ms  {name.strip()}")
                print(f"  ({total / 1000:.1f} ms for these)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
