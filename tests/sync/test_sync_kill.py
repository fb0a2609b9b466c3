"""Kill tuinews, and the server, at random points of a sync: nothing is lost or doubled.

Bounded: at most ``ROUNDS`` kills and ``BUDGET`` seconds; the seed is fixed per run and printed
so that a failure can be replayed (TUINEWS_KILL_SEED).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sync.conftest import PASSWORD, FreshRSS, ServerUser, Site
from tuinews.core.service import Service
from tuinews.core.store import Store

ROUNDS = 8
BUDGET = 90.0


def _tuinews(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TUINEWS_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "tuinews", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_killed_mid_sync_loses_nothing(
    tmp_path: Path, server_user: ServerUser, site: Site, freshrss: FreshRSS
) -> None:
    seed = int(os.environ.get("TUINEWS_KILL_SEED") or time.time())
    print(f"kill seed {seed}")
    rng = random.Random(seed)
    server_user.subscribe(site.publish("kill-a", 250, title="Kill A"), "One")
    server_user.subscribe(site.publish("kill-b", 150, title="Kill B"))
    all_ids = sorted(server_user.all_ids())
    server_user.edit_tag(all_ids[:40], add="read")
    server_user.edit_tag(all_ids[40:50], add="starred")
    home = tmp_path / "home"
    with Service(home / "cache.sqlite3") as svc:
        svc.add_account("greader", freshrss.api, server_user.name, PASSWORD)

    expected: dict[int, dict[str, bool]] = {}  # story id -> the last local change per flag
    started = time.monotonic()
    kills = 0
    while kills < ROUNDS and time.monotonic() - started < BUDGET:
        # Local changes between syncs, on stories already here.
        with Service(home / "cache.sqlite3") as svc:
            stories = svc.list_stories(limit=1000)
            for story in rng.sample(stories, min(len(stories), 15)):
                action = rng.choice(["read", "unread", "star", "unstar"])
                svc.mark([story.id], action)
                flag = "read" if action in ("read", "unread") else "starred"
                expected.setdefault(story.id, {})[flag] = action in ("read", "star")
        proc = _tuinews(home, "sync", "-q")
        time.sleep(rng.uniform(0.05, 1.2))
        if rng.random() < 0.35:
            freshrss.kill()  # the server dies mid-sync; tuinews must fail cleanly
            proc.wait(timeout=120)
            err = proc.stderr.read().decode() if proc.stderr else ""
            assert "Traceback" not in err, err
            freshrss.start()
        else:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        kills += 1
        assert Store(home / "cache.sqlite3").integrity_check() == "ok"

    # Then a sync that is left to finish, and one more that must find nothing to do.
    for _ in range(2):
        proc = _tuinews(home, "sync", "-q")
        assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""

    with Service(home / "cache.sqlite3") as svc:
        stories = {s.id: s for s in svc.list_stories(limit=10000)}
        assert svc.sync_status()["pending"] == 0
        links = [s.link for s in stories.values()]
        item_of = dict(
            svc.store.conn.execute("SELECT story_id, item_id FROM sync_items").fetchall()
        )
        again = svc.sync()
        assert again.new_stories == 0 and again.state_changes == 0
    assert len(links) == len(set(links)) == 400
    server_user.login()
    unread, starred = server_user.unread_ids(), server_user.starred_ids()
    for story_id, flags in expected.items():
        item = item_of[story_id]
        if "read" in flags:
            assert (item not in unread) == flags["read"], (story_id, flags)
            assert stories[story_id].read == flags["read"]
        if "starred" in flags:
            assert (item in starred) == flags["starred"], (story_id, flags)
            assert stories[story_id].starred == flags["starred"]
    # Every story agrees with the server.
    for story_id, story in stories.items():
        item = item_of[story_id]
        assert story.read == (item not in unread)
        assert story.starred == (item in starred)
