"""End to end: the installed ``tuinews`` in tmux against a feed server on 127.0.0.1.

Types with ``tmux send-keys`` and reads the screen with ``tmux capture-pane``, as a person would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer, Route, rss

TUINEWS = Path(sys.executable).parent / "tuinews"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

ARTICLE = """<!doctype html><html><head><title>{title}</title>
<meta name="author" content="Ines Marlowe"></head><body>
<header><nav><a href="/">Home</a> <a href="/sport">Sport</a></nav></header>
<article><h1>{title}</h1><p class="byline">By Ines Marlowe</p>
{paras}</article>
<section class="comments"><p>First!</p></section>
<footer>(c) Loopback Gazette</footer></body></html>"""


def article(title: str, marker: str) -> bytes:
    paras = "".join(
        f"<p>{marker} paragraph {i}: the town's rowing club restored its boathouse with "
        f"volunteers, a lottery grant and a great deal of borrowed scaffolding.</p>"
        for i in range(10)
    )
    return ARTICLE.format(title=title, paras=paras).encode()


class Tmux:
    """A tmux server of our own (its own socket, no user config), so nothing else shares it."""

    def __init__(self, session: str) -> None:
        self.session = session
        self.base = ["tmux", "-L", session, "-f", "/dev/null"]

    def run(self, *args: str) -> str:
        # The app inherits the tmux server's environment: keep the test runner's out of it
        # (pytest-textual-snapshot's TEXTUAL_SNAPSHOT_TEMPDIR makes Textual render a fake
        # 80x24 screen for snapshots).
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TEXTUAL", "PYTEST")) and k != "TUINEWS_HOME"
        }
        return subprocess.run(
            [*self.base, *args], capture_output=True, text=True, check=False, env=env
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def wait_for(self, check: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting; the screen was:\n{screen}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(f"tuinews-e2e-{os.getpid()}-{tmp_path.name}")
    yield t
    t.run("kill-server")


def test_reader_in_tmux(tmp_path: Path, server: LoopbackServer, tmux: Tmux) -> None:
    items = [
        ("g1", "Boathouse reopens after winter", server.url("/2026/boathouse")),
        ("g2", "Regatta date confirmed", server.url("/2026/regatta")),
    ]
    server.routes["/feed"] = Route(rss("Loopback Gazette", items), etag=True)
    server.routes["/2026/boathouse"] = Route(
        article("Boathouse reopens after winter", "Scaffolding"), content_type="text/html"
    )
    server.routes["/2026/regatta"] = Route(
        article("Regatta date confirmed", "Regatta"), content_type="text/html"
    )
    data = tmp_path / "data"
    exports = tmp_path / "exports"
    exports.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TUINEWS_HOME"}
    add = subprocess.run(
        [str(TUINEWS), "--data-dir", str(data), "add", server.url("/feed")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert add.returncode == 0, add.stderr
    (data / "config.toml").write_text(f'[export]\ndir = "{exports}"\n', encoding="utf-8")

    status_file = tmp_path / "exit-status"
    command = (
        f"cd {tmp_path} && TERM=xterm-256color {TUINEWS} --data-dir {data}; echo $? > {status_file}"
    )
    tmux.run("new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "40", command)

    # Three panes: feeds and stories on the left, the article, the related sidebar.
    # The first frames can come before the pane borders are drawn: wait for a settled screen.
    screen = tmux.wait_for(
        lambda s: (
            "Loopback Gazette" in s
            and "Boathouse reopens" in s
            and "Related" in s
            and s.count("│") >= 30
        )
    )
    assert screen.count("│") >= 30  # the pane borders run down the screen

    # Enter opens the story under the cursor; its full text is fetched and shown.
    tmux.keys("Enter")
    screen = tmux.wait_for(lambda s: "paragraph 0" in s)
    assert ("Scaffolding paragraph 0" in screen) or ("Regatta paragraph 0" in screen)
    assert "First!" not in screen  # the page's comments are not in the article

    # e opens the export dialog with the configured folder ([export] dir); Enter exports.
    tmux.keys("e")
    tmux.wait_for(lambda s: "Export as Markdown" in s and "/exports" in s)
    tmux.keys("Enter")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list(exports.glob("*.md")):
        time.sleep(0.2)
    files = list(exports.glob("*.md"))
    assert len(files) == 1, tmux.screen()
    text = files[0].read_text()
    assert text.startswith("---\n") and "paragraph 0" in text

    # q quits cleanly: exit status 0, the terminal given back.
    tmux.keys("q")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not status_file.exists():
        time.sleep(0.2)
    assert status_file.exists(), tmux.screen()
    assert status_file.read_text().strip() == "0"
