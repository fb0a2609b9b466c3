"""Where a refresh's (or a prefetch's) CPU goes, thread by thread and process by process.

    python bench/profile_threads.py 1000 [--runs 3]            refresh, first fetch, N feeds
    python bench/profile_threads.py 1000 --extract 2 [--runs 3] prefetch of N pages, 2 workers

Runs the measured command against a served world and samples ``/proc`` every 50 ms: the CPU
time of every thread of the measured process and of every process under it (parsing or
extraction workers), the page server's CPU time, and the peak RSS of each process and of the
tree. Threads are told apart by their order of appearance (the first is the main thread, the
next the store writer in a refresh; Python does not name OS threads). A process tree that is
CPU-bound on one side while the other idles shows up here, where a sampling profiler of one
thread does not show it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ServedWorld, isolated_env, log, tuinews_cmd  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def _cpu_s(pid: int) -> float:
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _rss_mib(pid: int) -> int:
    status = _read(f"/proc/{pid}/status") or ""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


class Sampler:
    def __init__(self, root: int) -> None:
        self.root = root
        self.cpu: dict[tuple[int, int], float] = {}  # (pid, tid) -> seconds
        self.order: dict[tuple[int, int], int] = {}
        self.peak: dict[int, int] = {}
        self.tree_peak = 0

    def _scan(self, pid: int) -> int:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return 0
        rss = _rss_mib(pid)
        self.peak[pid] = max(self.peak.get(pid, 0), rss)
        children: list[str] = []
        for tid in tids:
            stat = _read(f"/proc/{pid}/task/{tid}/stat")
            if stat is not None:
                fields = stat.rsplit(")", 1)[1].split()
                key = (pid, int(tid))
                self.order.setdefault(key, len(self.order))
                self.cpu[key] = (int(fields[11]) + int(fields[12])) / TICK
            children += (_read(f"/proc/{pid}/task/{tid}/children") or "").split()
        return rss + sum(self._scan(int(c)) for c in children)

    def sample(self) -> None:
        self.tree_peak = max(self.tree_peak, self._scan(self.root))

    def report(self, wall: float) -> list[str]:
        lines = [f"wall {wall:.2f} s; peak RSS of the tree {self.tree_peak} MiB"]
        for pid in sorted({p for p, _ in self.cpu}, key=lambda p: p != self.root):
            role = "measured process" if pid == self.root else "worker process"
            threads = sorted(
                ((self.order[k], k[1], s) for k, s in self.cpu.items() if k[0] == pid),
            )
            total = sum(s for _, _, s in threads)
            lines.append(f"{role} {pid}: CPU {total:.2f} s, peak RSS {self.peak.get(pid, 0)} MiB")
            small = 0.0
            for n, (_, tid, secs) in enumerate(threads):
                if secs < 0.1:
                    small += secs
                    continue
                name = {0: "main thread", 1: "second thread"}.get(n, "thread")
                name = name if pid == self.root else "worker"
                lines.append(f"  {name:<26} tid {tid:<8} {secs:6.2f} s")
            if small:
                lines.append(f"  {'other threads':<26} {'':<12} {small:6.2f} s")
        return lines


def sample_run(cmd: list[str], env: dict[str, str], server_pid: int) -> list[str]:
    server_before = _cpu_s(server_pid)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = Sampler(proc.pid)
    while proc.poll() is None:
        sampler.sample()
        time.sleep(0.05)
    wall = time.perf_counter() - start
    lines = sampler.report(wall)
    lines.append(f"page server: CPU {_cpu_s(server_pid) - server_before:.2f} s")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, help="feeds (refresh) or pages (--extract)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--extract", type=int, metavar="WORKERS", help="profile a prefetch instead")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tuinews-threads-"))
    n_feeds = max(1, args.n // 50) if args.extract else args.n
    try:
        with ServedWorld(n_feeds) as world:
            opml = world.write_opml(work / "feeds.opml")
            for run in range(args.runs):
                env = isolated_env(work / f"home{run}")
                data = work / f"data{run}"
                subprocess.run(
                    tuinews_cmd(data, "import-opml", str(opml)),
                    env=env,
                    check=True,
                    capture_output=True,
                )
                world.set_generation(0)
                if args.extract:
                    subprocess.run(tuinews_cmd(data, "refresh", "-q"), env=env, check=True)
                    cmd = [
                        sys.executable,
                        str(Path(__file__).resolve().parent / "extract_child.py"),
                        "pipeline",
                        str(data / "cache.sqlite3"),
                        str(args.extract),
                    ]
                    what = f"prefetch of {n_feeds * 50} pages, {args.extract} workers"
                else:
                    cmd = tuinews_cmd(data, "refresh", "-q")
                    what = f"refresh of {n_feeds} feeds, first fetch"
                lines = sample_run(cmd, env, world.proc.pid)
                log(f"run {run + 1}/{args.runs}: {what}")
                print("\n".join(lines), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
