"""A real FreshRSS for the sync tests (../shared/freshrss/start.sh), and a site it fetches.

The server is started once per session in its own temp data dir on a free port, and killed at
the end. Each test gets a user of its own on it (created with FreshRSS's CLI), so tests do
not see each other's subscriptions. The test site is a threaded stdlib server on 127.0.0.1
(``tests.loopback``); FreshRSS fetches it itself, as it would fetch any feed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import REPO
from tests.loopback import LoopbackServer, Route
from tests.sync import http

START_SH = REPO.parent / "shared" / "freshrss" / "start.sh"
PASSWORD = "testpass123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FreshRSS:
    """A running FreshRSS (PHP's built-in server) and how to drive it."""

    data_dir: Path
    port: int
    pid: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.data_dir / "FreshRSS"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/greader.php"

    def php(self, script: str, *args: str) -> str:
        out = subprocess.run(
            ["php", str(self.root / "cli" / script), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"{script} failed: {out.stdout}{out.stderr}")
        return out.stdout

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, os.WNOHANG)
            time.sleep(0.02)

    def start(self) -> None:
        self.pid = _start(self.data_dir, self.port)


def _start(data_dir: Path, port: int) -> int:
    out = subprocess.run(
        ["bash", str(START_SH), str(data_dir), str(port)],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        reason = (out.stderr or out.stdout).strip()
        if "could not install PHP" in reason and shutil.which("php") is None:
            pytest.skip(f"FreshRSS needs PHP, which cannot be installed here: {reason}")
        raise RuntimeError(f"FreshRSS did not start: {reason}")
    return int(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def freshrss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshRSS]:
    """The real FreshRSS of ../shared/freshrss, once per session."""
    if not START_SH.is_file():
        pytest.skip(f"{START_SH} is absent (a user's clone): no FreshRSS to sync with")
    data_dir = tmp_path_factory.mktemp("freshrss")
    port = free_port()
    server = FreshRSS(data_dir=data_dir, port=port, pid=_start(data_dir, port))
    try:
        yield server
    finally:
        server.kill()


_users = itertools.count(1)


@dataclass
class ServerUser:
    """A FreshRSS user and a Google Reader API session of "another device" (the test's)."""

    server: FreshRSS
    name: str
    password: str = PASSWORD
    token: str = ""

    def login(self) -> None:
        r = http.request(
            "POST",
            f"{self.server.api}/accounts/ClientLogin",
            data={"Email": self.name, "Passwd": self.password},
        )
        r.raise_for_status()
        self.token = next(line[5:] for line in r.text.splitlines() if line.startswith("Auth="))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"GoogleLogin auth={self.token}"}

    def get(self, path: str, **params: str) -> http.Response:
        r = http.request(
            "GET", f"{self.server.api}/reader/api/0/{path}", params=params, headers=self._headers()
        )
        r.raise_for_status()
        return r

    def post(self, path: str, data: list[tuple[str, str]]) -> str:
        t = self.get("token").text.strip()
        r = http.request(
            "POST",
            f"{self.server.api}/reader/api/0/{path}",
            content=urlencode([("T", t), *data]).encode("ascii"),
            headers={**self._headers(), "Content-Type": "application/x-www-form-urlencoded"},
        )
        r.raise_for_status()
        return r.text

    def quickadd(self, url: str) -> str:
        data = http.request(
            "POST",
            f"{self.server.api}/reader/api/0/subscription/quickadd",
            data={"T": self.get("token").text.strip(), "quickadd": url},
            headers=self._headers(),
        ).json()
        assert data.get("streamId"), data
        return str(data["streamId"])

    def subscribe(self, url: str, folder: str | None = None) -> str:
        stream = self.quickadd(url)
        if folder:
            self.post(
                "subscription/edit",
                [("ac", "edit"), ("s", stream), ("a", f"user/-/label/{folder}")],
            )
        return stream

    def subscriptions(self) -> list[dict[str, object]]:
        return list(self.get("subscription/list", output="json").json()["subscriptions"])

    def ids(self, stream: str, **params: str) -> list[int]:
        refs = self.get("stream/items/ids", output="json", s=stream, n="100000", **params).json()[
            "itemRefs"
        ]
        return [int(r["id"]) for r in refs]

    def unread_ids(self) -> set[int]:
        return set(
            self.ids("user/-/state/com.google/reading-list", xt="user/-/state/com.google/read")
        )

    def starred_ids(self) -> set[int]:
        return set(self.ids("user/-/state/com.google/starred"))

    def all_ids(self) -> set[int]:
        return set(self.ids("user/-/state/com.google/reading-list"))

    def edit_tag(self, ids: list[int], *, add: str = "", remove: str = "") -> None:
        data = [("i", str(i)) for i in ids]
        if add:
            data.append(("a", f"user/-/state/com.google/{add}"))
        if remove:
            data.append(("r", f"user/-/state/com.google/{remove}"))
        assert self.post("edit-tag", data).strip() == "OK"

    def actualize(self) -> None:
        """FreshRSS fetches the user's feeds again, as its cron would once their time to live
        is over (here it is made over at once, in the user's own database)."""
        db = self.server.root / "data" / "users" / self.name / "db.sqlite"
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn, conn:
            conn.execute("UPDATE feed SET lastUpdate = 0")
        for cached in (self.server.root / "data" / "cache").glob("*.spc"):
            cached.unlink(missing_ok=True)  # SimplePie's copy of each feed (800 s)
        self.server.php("actualize-user.php", "--user", self.name)


@pytest.fixture
def server_user(freshrss: FreshRSS) -> Iterator[ServerUser]:
    """A fresh FreshRSS user (its own subscriptions and items), logged in."""
    name = f"u{os.getpid()}x{next(_users)}"
    freshrss.php(
        "create-user.php",
        f"--user={name}",
        f"--password={PASSWORD}",
        f"--api-password={PASSWORD}",
    )
    user = ServerUser(freshrss, name)
    user.login()
    # FreshRSS gives a new user its own releases feed (on github.com; --no-default-feeds is
    # broken in this version): unsubscribe it, so nothing ever fetches beyond loopback.
    for sub in user.subscriptions():
        user.post("subscription/edit", [("ac", "unsubscribe"), ("s", str(sub["id"]))])
    yield user


def feed_xml(title: str, base: str, items: list[tuple[str, str]], *, start: int = 0) -> bytes:
    """An RSS feed of recent items (FreshRSS keeps only recent ones): (slug, title) pairs."""
    now = datetime.now(UTC)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>{title}</title><link>{base}/</link><description>test</description>",
    ]
    for n, (slug, item_title) in enumerate(items):
        when = format_datetime(now - timedelta(minutes=start + n), usegmt=True)
        parts.append(
            f"<item><guid>{base}/{slug}</guid><title>{item_title}</title>"
            f"<link>{base}/{slug}</link><description>Summary of {item_title}.</description>"
            f"<pubDate>{when}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def article_html(title: str) -> bytes:
    body = " ".join(
        f"{title} paragraph {i}: the council met on Tuesday to discuss the harbour works, "
        "the new ferry timetable and the budget for the coming winter season."
        for i in range(8)
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>{body}</p><p>{body}</p></article></body></html>"
    ).encode()


@dataclass
class Site:
    """A news site on 127.0.0.1: feeds and their article pages."""

    server: LoopbackServer

    def url(self, path: str) -> str:
        return self.server.url(path)

    def publish(self, name: str, count: int, *, title: str = "", start: int = 0) -> str:
        """Serve /NAME/feed.xml with ``count`` items (and their pages); returns its URL."""
        base = self.url(f"/{name}")
        items = [(f"story-{i}", f"{title or name} story {i}") for i in range(count)]
        for slug, item_title in items:
            self.server.routes[f"/{name}/{slug}"] = Route(
                article_html(item_title), content_type="text/html; charset=utf-8"
            )
        self.server.routes[f"/{name}/feed.xml"] = Route(
            feed_xml(title or name, base, items, start=start)
        )
        return f"{base}/feed.xml"


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    server = LoopbackServer().start()
    try:
        yield Site(server)
    finally:
        server.stop()
