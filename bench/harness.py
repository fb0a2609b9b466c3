"""Measuring subprocesses: wall time and peak memory, medians, ratios, the world server.

Every measured thing runs as its own subprocess. Memory is reported two ways:

- ``tree_mib``: the peak of the summed RSS of the process and all its descendants, sampled every
  20 ms from /proc (tuinews parses and extracts in worker processes; the sum is what the machine
  pays, shared pages counted once per process, so it overstates a little);
- ``max_mib``: ``/usr/bin/time``'s ``%M`` (``ru_maxrss``): the largest single process among the
  child and the descendants it waited for. (Not ``os.wait4`` from here: Linux carries the
  parent's high-water mark into a vfork+exec child, so a big bench process would inflate it.)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TIME = os.path.exists("/usr/bin/time")
TIME_RSS = 2 * 2**20  # what /usr/bin/time itself holds, roughly


@dataclass
class Sample:
    """One measured run of a command."""

    wall: float
    tree_mib: float
    max_mib: float
    rc: int
    stdout: str = ""
    stderr: str = ""
    cpu: float = 0.0
    """User + system CPU seconds of the process and the children it waited for (its workers):
    steadier than the wall time on a shared machine."""


@dataclass
class Figure:
    """The runs of one measured thing and their medians."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    extra: dict[str, float | str] = field(default_factory=dict)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def tree_mib(self) -> float:
        return statistics.median(s.tree_mib for s in self.samples)

    @property
    def max_mib(self) -> float:
        return statistics.median(s.max_mib for s in self.samples)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "wall_median": self.wall if self.samples else None,
            "tree_mib_median": self.tree_mib if self.samples else None,
            "max_mib_median": self.max_mib if self.samples else None,
            "walls": [round(s.wall, 3) for s in self.samples],
            "extra": self.extra,
            "samples": [
                {k: v for k, v in asdict(s).items() if k not in ("stdout", "stderr")}
                for s in self.samples
            ],
        }


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may contain spaces: fields start after the last ')'.
        rest = stat[stat.rfind(b")") + 2 :].split()
        kids.setdefault(int(rest[1]), []).append(int(entry))
    return kids


def tree_rss_bytes(pid: int) -> int:
    """Summed RSS of ``pid`` and all its descendants."""
    kids = _children_map()
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(kids.get(p, []))
    return total


def measure(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 3600.0,
    check: bool = True,
) -> Sample:
    """Run ``cmd`` once; wall time, peak tree RSS and ru_maxrss of that child."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    peak = 0
    stop = threading.Event()
    out_path = err_path = None
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="bench-rss-", delete=False) as rss_file:
        pass
    # ru_maxrss is not usable from here: a child spawned by this (possibly big) process starts
    # with this process's high-water mark (Linux keeps it across vfork/exec). GNU time is a
    # small parent, so its %M is the child's own peak.
    wrapped = ["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file.name, *cmd] if TIME else list(cmd)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, env=full_env, cwd=cwd, stdout=out, stderr=err)

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, tree_rss_bytes(proc.pid))
                stop.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    del out_path, err_path
    max_kib = usage.ru_maxrss
    try:
        text = Path(rss_file.name).read_text().strip().splitlines()
        max_kib = int(text[-1]) if text and text[-1].isdigit() else max_kib
    finally:
        os.unlink(rss_file.name)
    # The sampled tree peak includes /usr/bin/time itself (about 2 MiB): subtract it.
    peak = max(0, peak - TIME_RSS) if TIME else peak
    s = Sample(
        wall=wall,
        tree_mib=max(peak, max_kib * 1024) / 2**20,
        max_mib=max_kib / 1024,
        rc=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        cpu=usage.ru_utime + usage.ru_stime,
    )
    if check and s.rc != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {s.rc}\nstdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
        )
    return s


class ServedWorld:
    """``bench/world.py serve`` in its own process (it must not share the measured GIL)."""

    def __init__(self, n_feeds: int) -> None:
        self.n_feeds = n_feeds
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "world.py"), "serve", "--feeds", str(n_feeds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"world server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        sys.path.insert(0, str(BENCH))
        from world import World

        self.world = World(n_feeds, self.base)

    def control(self, what: str) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.base}/_control/{what}", timeout=10) as r:
            return json.loads(r.read())

    def set_generation(self, gen: int) -> None:
        self.control(f"gen/{gen}")

    def stats(self, reset: bool = True) -> dict[str, int]:
        return self.control("stats" + ("?reset=1" if reset else ""))

    def feed_urls(self) -> list[str]:
        return [self.world.feed_url(i) for i in range(self.n_feeds)]

    def write_opml(self, path: Path) -> Path:
        from xml.sax.saxutils import quoteattr

        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<opml version="2.0"><head><title>bench</title></head><body>',
        ]
        for i, url in enumerate(self.feed_urls()):
            lines.append(f'<outline type="rss" text="feed {i}" xmlUrl={quoteattr(url)}/>')
        lines.append("</body></opml>")
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def write_urls(self, path: Path) -> Path:
        path.write_text("\n".join(self.feed_urls()) + "\n", encoding="utf-8")
        return path

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServedWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tuinews_cmd(data_dir: Path, *args: str) -> list[str]:
    """The installed CLI, run with this interpreter (same venv)."""
    return [sys.executable, "-m", "tuinews", "--data-dir", str(data_dir), *args]


def isolated_env(home: Path) -> dict[str, str]:
    """Keep tuinews and newsboat away from the user's own files."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TUINEWS_HOME": str(home / "tuinews"),
    }
    # A/B of a change to src: BENCH_PYTHONPATH=/tmp/scratch python bench/run.py ... runs every
    # measured tuinews process with a scratch copy of src first on the path.
    if os.environ.get("BENCH_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["BENCH_PYTHONPATH"]
    return env


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}x"


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()
