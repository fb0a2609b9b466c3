"""Run the speed benchmarks: ``python bench/run.py [--quick] [--only ...] [--feeds 200,1000]``.

Sections: ``refresh`` (tuinews vs newsboat vs the floor), ``startup`` (time to a filled story list,
with newsboat ``-x print-unread``; includes the memory figure), ``extraction`` (articles per
second, one and two workers, vs bare trafilatura and the machine's ceiling), ``search``
(full-text search and related sidebar at 100,000 stories).

Prints Markdown tables and writes them, with the raw figures as JSON, under ``bench/out/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BENCH, log  # noqa: E402

SECTIONS = ("refresh", "startup", "extraction", "search")


def ensure_newsboat() -> bool:
    if shutil.which("newsboat"):
        return True
    log("newsboat is missing: installing it from Debian's packages")
    try:
        subprocess.run(
            "apt-get update -qq && apt-get install -y -qq newsboat", shell=True, check=True
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        log(f"could not install newsboat ({exc}): newsboat figures are skipped")
    return shutil.which("newsboat") is not None


def machine() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")),
        platform.processor(),
    )
    mem = next(ln.split(":", 1)[1].strip() for ln in meminfo if ln.startswith("MemTotal"))
    nb = (
        subprocess.run(["newsboat", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
        if shutil.which("newsboat")
        else "absent"
    )
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- nproc: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}",
        f"- CPU: {cpu}",
        f"- memory: {mem}",
        f"- Python {platform.python_version()}",
        f"- {nb}",
        f"- command: `python bench/run.py {' '.join(sys.argv[1:])}`",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="tuinews speed benchmarks (see bench/README.md)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="N=200 only, fewer runs and smaller sizes (a few minutes)",
    )
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    p.add_argument("--feeds", default=None, help="feed counts for refresh (default 200,1000)")
    p.add_argument("--runs", type=int, default=None, help="runs per figure (default 3; quick 2)")
    p.add_argument(
        "--newsboat-runs",
        type=int,
        default=None,
        help="newsboat runs at the largest N (default: --runs; newsboat at N=1000 "
        "takes 1-2 minutes per fetch)",
    )
    p.add_argument(
        "--stories",
        default=None,
        help="cache sizes for start-up, stories[:feeds] (default "
        "0,10000,100000,100000:100; 1,000 feeds unless given)",
    )
    p.add_argument("--pages", type=int, default=None, help="pages for extraction (default 1000)")
    p.add_argument("--work", default="/tmp/tuinews-bench", help="scratch directory")
    args = p.parse_args(argv)

    runs = args.runs or (2 if args.quick else 3)
    feeds = [int(x) for x in (args.feeds or ("200" if args.quick else "200,1000")).split(",")]
    stories = (args.stories or ("0,10000" if args.quick else "0,10000,100000,100000:100")).split(
        ","
    )
    pages = args.pages or (200 if args.quick else 1000)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    lines = ["## Machine", "", *machine(), ""]
    raw: dict[str, object] = {}

    def flush() -> None:
        (out_dir / f"results-{stamp}.md").write_text("\n".join(lines) + "\n")
        (out_dir / f"results-{stamp}.json").write_text(json.dumps(raw, indent=1, default=str))

    if "refresh" in only or "startup" in only:
        ensure_newsboat()
    if "refresh" in only:
        from bench_refresh import bench_refresh, table

        for n in feeds:
            nb_runs = args.newsboat_runs if n == max(feeds) else None
            figs = bench_refresh(n, runs, work, newsboat_runs=nb_runs)
            lines += table(n, figs) + [""]
            raw[f"refresh-{n}"] = {k: f.as_dict() for k, f in figs.items()}
            print("\n".join(table(n, figs)), flush=True)
            flush()
    if "extraction" in only:
        from bench_extract import bench_extraction

        rows, data = bench_extraction(pages, runs, work)
        lines += rows + [""]
        raw["extraction"] = data
        print("\n".join(rows), flush=True)
        flush()
    if "search" in only:
        from bench_search import bench_search

        rows, data = bench_search(100_000 if not args.quick else 20_000, work)
        lines += rows + [""]
        raw["search"] = data
        print("\n".join(rows), flush=True)
        flush()
    if "startup" in only:
        from bench_startup import bench_startup

        rows, data = bench_startup(stories, runs, work, feeds=feeds)
        lines += rows + [""]
        raw["startup"] = data
        print("\n".join(rows), flush=True)
        flush()
    log(f"wrote {out_dir}/results-{stamp}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
