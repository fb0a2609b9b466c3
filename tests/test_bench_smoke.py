"""Smoke test of the bench harness (not the benchmarks): a tiny world, one refresh, sane figures.

The full benchmarks (``python bench/run.py``) are not part of CI; this checks that their code
still runs against the current app: the world generator, the server process, the subprocess
measurement and the refresh phases' request accounting. No newsboat needed; a few seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from bench_refresh import run_tool, table  # noqa: E402
from harness import Figure, ServedWorld, measure  # noqa: E402
from world import ITEMS_PER_FEED, NEW_PER_GENERATION, World  # noqa: E402


def test_world_is_deterministic_and_realistic() -> None:
    a, b = World(3, "http://127.0.0.1:1"), World(3, "http://127.0.0.1:1")
    for feed in range(3):
        assert a.feed_bytes(feed, 0) == b.feed_bytes(feed, 0)
        body, _ = a.feed_bytes(feed, 0)
        assert 80_000 < len(body) < 160_000  # "about 100 KB per feed"
        assert a.feed_bytes(feed, 1)[0] != body  # generation 1 changes every feed
    assert {World.kind(f) for f in range(3)} == {"rss", "atom", "json"}
    page = a.page_bytes(1, 10)
    assert 50_000 < len(page) < 150_000
    assert b"Related stories" in page and b"Comments" in page


def test_one_refresh_through_the_harness(tmp_path: Path) -> None:
    started = time.monotonic()
    figures: dict[str, Figure] = {}
    with ServedWorld(3) as world:
        # The server answers conditional requests itself.
        stats = world.stats(reset=True)
        assert stats["gen"] == 0
        run_tool("tuinews", world, tmp_path, figures)
    for phase in ("first", "changed", "304"):
        fig = figures[f"tuinews/{phase}"]
        (sample,) = fig.samples
        assert "warning" not in fig.extra, fig.extra
        assert 0.05 < sample.wall < 15
        assert 15 < sample.tree_mib < 2048
        assert 0 < sample.max_mib <= sample.tree_mib + 1
    first = figures["tuinews/first"].samples[0].stdout
    assert f"3 feeds: {3 * ITEMS_PER_FEED} new stories" in first
    assert (
        f"3 feeds: {3 * NEW_PER_GENERATION} new stories"
        in figures["tuinews/changed"].samples[0].stdout
    )
    assert "3 unchanged" in figures["tuinews/304"].samples[0].stdout
    assert figures["tuinews/first"].extra["items_stored"] == 3 * (
        ITEMS_PER_FEED + NEW_PER_GENERATION
    )
    rows = "\n".join(table(3, figures))
    assert "| tuinews | first |" in rows
    json.dumps(figures["tuinews/first"].as_dict())  # the raw results stay serialisable
    assert time.monotonic() - started < 20


def test_measure_reports_child_memory(tmp_path: Path) -> None:
    code = "b = bytearray(80 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('ok')"
    s = measure([sys.executable, "-c", code])
    assert s.stdout.strip() == "ok"
    assert s.max_mib > 80
    assert s.tree_mib >= s.max_mib - 1
    with pytest.raises(RuntimeError):
        measure([sys.executable, "-c", "raise SystemExit(3)"])
