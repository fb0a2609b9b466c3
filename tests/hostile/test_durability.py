"""Durability of the cache: SIGKILL mid-refresh, two refreshes at once, damaged or newer files.

The real ``tuinews refresh`` (the installed script) runs against a loopback server with 40 feeds
of 50 items, some slow, whose items move on every round so each refresh writes. It is killed with
SIGKILL at seeded random moments, 50 times; after each kill the cache must pass
``PRAGMA integrity_check``, hold every (feed URL, guid) it held before the kill, and take the next
refresh to the end. ``tests/core/test_store.py`` and ``tests/test_cli.py`` cover the refusal of a
damaged or newer file by ``feeds``; here ``refresh`` and ``list`` are checked too.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.hostile.faults import TALLY, TUINEWS, HostileServer, cli, make_service, write_config
from tests.loopback import Route, rss
from tuinews.core.models import ParsedEntry, ParsedFeed

FEEDS = 40
ITEMS = 50
# Every fourth feed is slow, by 0.03 s steps up to 0.27 s: the writes spread over the run, so
# the kills land between and inside the per-feed transactions, not only before or after them.
DELAY = {i: 0.03 * (i // 4) for i in range(0, FEEDS, 4)}
KILLS = 50


class MovingFeeds:
    """40 feeds whose 50 items slide forward by 10 every round."""

    def __init__(self, server: HostileServer) -> None:
        self.server = server
        self.round = 0
        self.slow = True
        """Delay some feeds (off for the check refreshes, which need not spread their writes)."""
        self._cache: dict[tuple[int, int], bytes] = {}
        self._lock = threading.Lock()
        for i in range(FEEDS):
            server.routes[f"/feed/{i}"] = self._handler(i)

    def items(self, i: int, rnd: int) -> list[tuple[str, str, str]]:
        return [
            (f"f{i}-{n}", f"Feed {i} story {n}", self.server.url(f"/s/{i}/{n}"))
            for n in range(rnd * 10 + ITEMS - 1, rnd * 10 - 1, -1)
        ]

    def _handler(self, i: int):  # type: ignore[no-untyped-def]
        def route(_handler: object) -> Route:
            rnd = self.round
            with self._lock:
                body = self._cache.get((i, rnd))
                if body is None:
                    body = self._cache[(i, rnd)] = rss(f"Feed {i}", self.items(i, rnd))
            return Route(body, etag=True, delay=DELAY.get(i, 0.0) if self.slow else 0.0)

        return route

    def url(self, i: int) -> str:
        return self.server.url(f"/feed/{i}")


def stored(db: Path) -> set[tuple[str, str]]:
    """Every (feed URL, guid) in the cache, read with a short-lived plain connection."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute(
            "SELECT f.url, s.guid FROM stories s JOIN feeds f ON f.id = s.feed_id"
        ).fetchall()
    finally:
        conn.close()
    return {(url, guid) for url, guid in rows}


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _subscribe(data: Path, feeds: MovingFeeds, tmp_path: Path) -> None:
    write_config(data, connect_timeout=2, timeout=3, total_timeout=6)
    opml = tmp_path / "subs.opml"
    outlines = "".join(f'<outline text="F{i}" xmlUrl="{feeds.url(i)}"/>' for i in range(FEEDS))
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    cli(data, "import-opml", str(opml))


def _start_refresh(data: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TUINEWS_HOME"}
    return subprocess.Popen(
        [str(TUINEWS), "--data-dir", str(data), "refresh", "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: its worker processes can be reaped
    )


def _reap_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill what is left of a killed refresh's process group (its parse workers)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_sigkill_during_refresh_loses_nothing(tmp_path: Path, hostile: HostileServer) -> None:
    rng = random.Random(20260601)
    feeds = MovingFeeds(hostile)
    data = tmp_path / "data"
    db = data / "cache.sqlite3"
    _subscribe(data, feeds, tmp_path)
    t0 = time.monotonic()
    cli(data, "refresh", "--quiet")
    full = time.monotonic() - t0
    assert len(stored(db)) == FEEDS * ITEMS
    # The check refresh runs in-process (no start-up cost) with one long-lived service.
    svc = make_service(db, connect=2, read=3, total=6)
    lost = corrupt = hangs = killed = finished = partial = 0
    try:
        for n in range(KILLS):
            feeds.round += 1
            start = stored(db)
            proc = _start_refresh(data)
            # The first run writes every story and is the slowest: cap the window by it.
            time.sleep(rng.uniform(0.4, min(full, 1.2)))
            before = stored(db)
            proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=30)
            _reap_group(proc)
            if code == -signal.SIGKILL:
                killed += 1
            else:
                finished += 1
                assert code == 0, proc.stderr.read() if proc.stderr else code
            if proc.stderr:
                proc.stderr.close()
            ok = integrity(db)
            corrupt += ok != "ok"
            after = stored(db)
            lost += len(before - after)
            new_now = {
                (feeds.url(i), g) for i in range(FEEDS) for g, _, _ in feeds.items(i, feeds.round)
            } - start
            partial += 0 < len(new_now & after) < len(new_now)
            assert ok == "ok", (n, ok)
            assert before <= after, (n, sorted(before - after)[:5])
            t1 = time.monotonic()
            feeds.slow = False
            summary = svc.refresh()
            feeds.slow = True
            hangs += time.monotonic() - t1 > 30
            assert summary.count("failed") == 0, [r.error for r in summary.failed]
            expected = {
                (feeds.url(i), g) for i in range(FEEDS) for g, _, _ in feeds.items(i, feeds.round)
            }
            assert expected <= stored(db), n
        assert svc.store.integrity_check() == "ok"
    finally:
        svc.close()
    # And the real CLI takes a refresh to the end on the cache that survived 50 kills.
    feeds.round += 1
    cli(data, "refresh", "--quiet")
    assert integrity(db) == "ok"
    print(
        f"[hostile] SIGKILL: {killed} killed mid-run ({partial} mid-write, the round's new "
        f"stories partly stored), {finished} had finished; "
        f"a full CLI refresh takes {full:.1f} s"
    )
    TALLY.add("durability/kill", inputs=KILLS, crashes=corrupt, hangs=hangs, lost=lost)
    assert killed >= KILLS // 3  # most kills must land while the refresh runs


@pytest.mark.slow
def test_two_processes_refreshing_at_once_both_finish(
    tmp_path: Path, hostile: HostileServer
) -> None:
    feeds = MovingFeeds(hostile)
    data = tmp_path / "data"
    db = data / "cache.sqlite3"
    _subscribe(data, feeds, tmp_path)
    cli(data, "refresh", "--quiet")
    crashes = lost = 0
    for _ in range(2):
        feeds.round += 1
        before = stored(db)
        procs = [_start_refresh(data) for _ in range(2)]
        codes, errors = [], []
        for p in procs:
            _, err = p.communicate(timeout=120)
            codes.append(p.returncode)
            errors.append(err.decode(errors="replace"))
        crashes += sum(c != 0 for c in codes)
        assert codes == [0, 0], errors
        assert integrity(db) == "ok"
        after = stored(db)
        lost += len(before - after)
        assert before <= after
        expected = {
            (feeds.url(i), g) for i in range(FEEDS) for g, _, _ in feeds.items(i, feeds.round)
        }
        assert expected <= after
    TALLY.add("durability/concurrent", inputs=4, crashes=crashes, lost=lost)


def _damage(db: Path) -> None:
    """Overwrite pages in the middle of a valid cache (the 100-byte header stays valid)."""
    size = db.stat().st_size
    with db.open("r+b") as fh:
        for offset in range(4096 * 2, size - 4096, 4096 * 3):
            fh.seek(offset)
            fh.write(os.urandom(4096))


@pytest.mark.parametrize("case", ["damaged-pages", "newer-schema", "not-sqlite", "truncated"])
def test_unusable_cache_is_refused_and_left_untouched(tmp_path: Path, case: str) -> None:
    data = tmp_path / "data"
    db = data / "cache.sqlite3"
    svc = make_service(db)
    try:
        for i in range(20):
            feed = svc.store.add_feed(f"http://127.0.0.1:9/feed/{i}", f"Feed {i}")
            entries = [
                ParsedEntry(
                    f"g{i}-{n}",
                    f"http://127.0.0.1:9/{i}/{n}",
                    f"Story {n}",
                    summary="A summary of the story. " * 20,
                )
                for n in range(50)
            ]
            svc.store.store_feed(feed.id, ParsedFeed(f"Feed {i}", None, entries, "rss"))
    finally:
        svc.close()
    # Fold the WAL into the main file so the damage is all there is.
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if case == "newer-schema":
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    for extra in ("-wal", "-shm"):
        db.with_name(db.name + extra).unlink(missing_ok=True)
    if case == "damaged-pages":
        _damage(db)
    elif case == "not-sqlite":
        db.write_bytes(b"<html>this is not a database</html>" * 300)
    elif case == "truncated":
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    original = db.read_bytes()
    words = {"newer-schema": "newer"}.get(case, "damaged")
    crashes = 0
    for args in (["refresh"], ["list"], ["feeds"]):
        proc = cli(data, *args, check=None)
        crashes += "Traceback" in proc.stderr
        assert proc.returncode == 3, (args, proc.returncode, proc.stdout[-500:], proc.stderr[-500:])
        assert words in proc.stderr and "untouched" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        assert db.read_bytes() == original, args
    TALLY.add("durability/cache", inputs=3, crashes=crashes)
