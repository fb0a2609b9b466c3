"""Sync with a real FreshRSS on loopback (issue 16): first sync of 10,000 items, a second sync
with nothing new, and the app's frame gaps during a first sync.

    python bench/bench_sync.py [--items 10000] [--feeds 20] [--runs 3]

Starts FreshRSS with ../shared/freshrss/start.sh in a temp dir (PHP's built-in server, SQLite),
serves FEEDS feeds of ITEMS/FEEDS items each from a threaded stdlib server on 127.0.0.1, has
FreshRSS subscribe to them (quickadd: it fetches them itself), then measures, each in a fresh
cache: ``Service.sync`` wall time and request count, first and second. Also, side by side, the
two ways to pull the items over the same API: ``stream/contents`` paged by ``continuation``
(what many clients do) and the id lists + ``stream/items/contents`` batches tuinews uses.
Prints the figures (a markdown table); RESULTS.md keeps them by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START_SH = REPO.parent / "shared" / "freshrss" / "start.sh"
sys.path.insert(0, str(REPO / "src"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def feed_bytes(n: int, feed: int, per_feed: int, port: int) -> bytes:
    now = datetime.now(UTC)
    items = []
    for i in range(per_feed):
        when = format_datetime(now - timedelta(minutes=i), usegmt=True)
        link = f"http://127.0.0.1:{port}/f{feed}/s{i}"
        body = f"Story {i} of feed {feed}: " + "words of a summary " * 20
        items.append(
            f"<item><guid>{link}</guid><title>Feed {feed} story {i}</title><link>{link}</link>"
            f"<description>{body}</description><pubDate>{when}</pubDate></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>Bench feed {feed}</title><link>http://127.0.0.1:{port}/f{feed}/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def serve_feeds(feeds: int, per_feed: int) -> tuple[ThreadingHTTPServer, int]:
    port = free_port()
    bodies = {f"/f{f}.xml": feed_bytes(per_feed, f, per_feed, port) for f in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = bodies.get(self.path, b"<html><body><p>page</p></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, port


def start_freshrss(data_dir: Path, port: int) -> int:
    out = subprocess.run(
        ["bash", str(START_SH), str(data_dir), str(port)],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from tuinews.core.service import Service
    from tuinews.core.sync.greader import READ, READING_LIST, STARRED, GReaderClient

    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    fr_port = free_port()
    pid = start_freshrss(tmp / "freshrss", fr_port)
    api = f"http://127.0.0.1:{fr_port}/api/greader.php"
    httpd, site_port = serve_feeds(args.feeds, args.items // args.feeds)
    try:
        client = GReaderClient(api, timeout=600)
        client.login("alice", "alicepass1")
        for sub in client.subscriptions():  # FreshRSS's own default feed is on github.com
            client.subscription_edit("unsubscribe", sub.stream_id)
        t0 = time.monotonic()
        for f in range(args.feeds):
            client.subscription_edit("subscribe", f"feed/http://127.0.0.1:{site_port}/f{f}.xml")
        on_server = len(client.item_ids(READING_LIST))
        print(
            f"FreshRSS subscribed to {args.feeds} feeds, {on_server} items, "
            f"in {time.monotonic() - t0:.1f} s",
            flush=True,
        )

        rows: list[tuple[str, float, int]] = []
        firsts, seconds, req1, req2 = [], [], [], []
        for run in range(args.runs):
            home = tmp / f"home{run}"
            with Service(home / "cache.sqlite3") as svc:
                svc.add_account("greader", api, "alice", "alicepass1")
                s1 = svc.sync()
                s2 = svc.sync()
                firsts.append(s1.seconds)
                seconds.append(s2.seconds)
                req1.append(s1.requests)
                req2.append(s2.requests)
                assert s1.new_stories == on_server, (s1.new_stories, on_server)
                assert s2.new_stories == 0
            print(
                f"run {run}: first {s1.seconds:.2f} s / {s1.requests} requests, "
                f"second {s2.seconds:.3f} s / {s2.requests} requests",
                flush=True,
            )
        rows.append(
            ("first sync (tuinews)", statistics.median(firsts), int(statistics.median(req1)))
        )
        rows.append(
            ("second sync, nothing new", statistics.median(seconds), int(statistics.median(req2)))
        )

        # The two ways of pulling the items, HTTP + JSON only (no storing), interleaved.
        pulls: dict[str, list[float]] = {"contents": [], "ids": []}
        reqs: dict[str, int] = {}
        for _ in range(args.runs):
            c = GReaderClient(api, client.token, timeout=600)
            t = time.monotonic()
            n, cont = 0, None
            import httpx

            while True:
                params = {"output": "json", "n": "1000"}
                if cont:
                    params["c"] = cont
                r = httpx.get(
                    f"{api}/reader/api/0/stream/contents/reading-list",
                    params=params,
                    headers={"Authorization": f"GoogleLogin auth={client.token}"},
                    timeout=600,
                )
                data = json.loads(r.text)
                n += 1
                cont = data.get("continuation")
                if not data["items"] or not cont:
                    break
            pulls["contents"].append(time.monotonic() - t)
            reqs["contents"] = n
            t = time.monotonic()
            before = c.requests.total
            ids = sorted(
                set(c.item_ids(READING_LIST))
                | set(c.item_ids(READING_LIST, exclude=READ))
                | set(c.item_ids(STARRED))
            )
            for start in range(0, len(ids), 500):
                c.items(ids[start : start + 500])
            pulls["ids"].append(time.monotonic() - t)
            reqs["ids"] = c.requests.total - before
            c.close()
        rows.append(
            (
                "pull only: stream/contents n=1000 + continuation",
                statistics.median(pulls["contents"]),
                reqs["contents"],
            )
        )
        rows.append(
            (
                "pull only: 3 id lists + items/contents x500",
                statistics.median(pulls["ids"]),
                reqs["ids"],
            )
        )

        gap_runs = []
        for run in range(args.runs):
            synced = frame_gaps(api, tmp / f"home-app{run}")
            idle = frame_gaps(api, tmp / f"home-idle{run}", account=False, duration=synced["sync"])
            threaded = frame_gaps(api, tmp / f"home-thread{run}", thread=True)
            gap_runs.append((synced, idle, threaded))
            print(
                f"gaps run {run}: sync max {synced['max']:.0f} p99 {synced['p99']:.0f} ms;"
                f" idle max {idle['max']:.0f} p99 {idle['p99']:.0f} ms",
                flush=True,
            )
        print()
        print(
            f"| {args.items:,} items on FreshRSS, loopback, medians of {args.runs} | s | requests |"
        )
        print("|---|---|---|")
        for what, secs, n in rows:
            print(f"| {what} | {secs:.3f} | {n} |")
        per_1000 = statistics.median(req2) / (on_server / 1000)
        print(f"\nsecond sync: {per_1000:.2f} requests per 1,000 unchanged items")
        print(
            "\n| app, 120x40 headless, medians of runs | loop ticks | p50 ms | p99 ms | max ms | gaps > 100 ms |"
        )
        print("|---|---|---|---|---|---|")
        print(
            f"(sync in the app, child process: {statistics.median(r[0]['sync'] for r in gap_runs):.1f} s)"
        )
        for label, index in (
            ("during a first sync (app start)", 0),
            ("idle, same time, no account", 1),
            ("a first sync in the app's thread instead (before)", 2),
        ):
            runs = [r[index] for r in gap_runs]
            med = {
                k: statistics.median(r[k] for r in runs)
                for k in ("frames", "p50", "p99", "max", "over100")
            }
            print(
                f"| {label} | {med['frames']:.0f} | {med['p50']:.0f} | {med['p99']:.0f} |"
                f" {med['max']:.0f} | {med['over100']:.0f} |"
            )
    finally:
        httpd.shutdown()
        os.kill(pid, signal.SIGKILL)


def frame_gaps(
    api: str, home: Path, *, account: bool = True, duration: float = 0.5, thread: bool = False
) -> dict[str, float]:
    """Headless app (120x40) on an empty cache: the event loop's gaps (a 5 ms sleep's
    lateness, plus the sleep) while the start-up sync pulls everything (``account``), or for
    ``duration`` seconds of the idle app without an account (the baseline: on a loaded
    machine the scheduler alone makes gaps). ``thread``: the sync in the app's worker thread
    (``Service.sync``) instead of its child process, the way it first was."""
    from tuinews.config import load_config
    from tuinews.core.service import Service
    from tuinews.ui.app import TuinewsApp

    svc = Service(home / "cache.sqlite3")
    if thread:
        svc.sync_in_child = svc.sync  # type: ignore[method-assign]
    if account:
        svc.add_account("greader", api, "alice", "alicepass1")
    app = TuinewsApp(svc, load_config(data_dir=home))
    result: dict[str, float] = {}

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.get_screen("main")
            gaps: list[float] = []
            await pilot.pause(0.05)
            started = time.monotonic()
            last = time.monotonic()
            while (
                getattr(screen, "_cancel_sync", None) is not None
                or time.monotonic() - started < duration
            ):
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append((now - last) * 1000)
                if gaps[-1] > 100 and os.environ.get("BENCH_VERBOSE"):
                    status = screen.status.render().plain[-60:]  # type: ignore[attr-defined]
                    print(f"  gap {gaps[-1]:.0f} ms at {now - started:.2f} s: {status}")
                last = now
                if time.monotonic() - started > 600:
                    break
            result["sync"] = time.monotonic() - started
            gaps.sort()
            result["frames"] = len(gaps)
            result["max"] = gaps[-1]
            result["p99"] = gaps[int(len(gaps) * 0.99)]
            result["p50"] = gaps[len(gaps) // 2]
            result["over100"] = sum(g > 100 for g in gaps)
            result["stories"] = svc.count_stories()

    asyncio.run(run())
    svc.close()
    return result


if __name__ == "__main__":
    main()
