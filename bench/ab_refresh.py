"""A/B a change to src before it lands: tuinews refresh (three phases) with other code on PYTHONPATH.

    python bench/ab_refresh.py N RUNS [NAME=PYTHONPATH ...]

"current" (the installed package) always runs; each ``NAME=DIR`` runs the same phases with
``PYTHONPATH=DIR`` (a scratch copy of ``src/``, e.g. ``/tmp/scratch/tuinews`` -> ``/tmp/scratch``,
with a change applied). Variants are interleaved run by run, so the machine's noise hits them
alike. Prints one Markdown row per variant and phase: median wall, the runs, peak RSS.
"""

from __future__ import annotations

import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Sample, ServedWorld, isolated_env, log, measure, tuinews_cmd  # noqa: E402


def main(argv: list[str]) -> int:
    n, runs = int(argv[0]), int(argv[1])
    variants = [("current", "")] + [tuple(a.split("=", 1)) for a in argv[2:]]  # type: ignore[misc]
    res: dict[tuple[str, str], list[Sample]] = {}
    work = Path("/tmp/tuinews-bench/ab")
    with ServedWorld(n) as world:
        for r in range(runs):
            # The order turns each run, so no variant always follows the same one.
            for name, path in variants[r % len(variants) :] + variants[: r % len(variants)]:
                d = work / name
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir(parents=True)
                env = isolated_env(d / "home")
                if path:
                    env["PYTHONPATH"] = path
                world.set_generation(0)
                opml = world.write_opml(d / "feeds.opml")
                measure(tuinews_cmd(d / "data", "import-opml", str(opml)), env=env)
                for phase in ("first", "changed", "304"):
                    if phase == "changed":
                        world.set_generation(1)
                    s = measure(tuinews_cmd(d / "data", "refresh", "-q"), env=env)
                    res.setdefault((name, phase), []).append(s)
                    log(
                        f"{name} {phase}: {s.wall:.2f} s, tree {s.tree_mib:.0f} MiB | "
                        f"{s.stdout.strip()}"
                    )
    print(
        "| variant | phase | median wall | runs | median CPU (tree) | peak RSS tree / largest process |"
    )
    print("|---|---|---|---|---|---|")
    for phase in ("first", "changed", "304"):
        for name, _ in variants:
            ss = res[(name, phase)]
            print(
                f"| {name} | {phase} | {statistics.median(s.wall for s in ss):.2f} s | "
                f"{', '.join(f'{s.wall:.2f}' for s in ss)} | "
                f"{statistics.median(s.cpu for s in ss):.2f} s | "
                f"{statistics.median(s.tree_mib for s in ss):.0f} / "
                f"{statistics.median(s.max_mib for s in ss):.0f} MiB |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
