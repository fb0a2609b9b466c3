"""Rewrite the README's screen: ``python tools/readme_screen.py [--check]``.

Starts tuinews from this checkout (``python -m tuinews`` with ``src/`` first on the path: it
installs nothing) in a detached tmux session at 120x40 on a fresh, temporary ``TUINEWS_HOME``,
waits for the bundled samples to load, opens a story through a search (and goes back to All
with Escape), captures the screen with ``tmux capture-pane -p`` and replaces the block between
``<!-- screen -->`` and ``<!-- /screen -->`` in README.md, with a caption giving the counts
that fresh install shows. ``--check`` prints the new block and leaves README.md alone.

Needs tmux. The coordinator reruns it after other branches land, so the README shows what a
fresh install shows.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
START, END = "<!-- screen -->", "<!-- /screen -->"
WIDTH, HEIGHT = 120, 40
STORY = "Brannock"
"""A word of the sample story to open (found with the search, so the list order is free)."""


class Screen:
    """One detached tmux session running tuinews."""

    def __init__(self, home: Path) -> None:
        self.session = f"readme-screen-{os.getpid()}"
        env = {
            "TUINEWS_HOME": str(home),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p
            ),
            "TERM": "xterm-256color",
        }
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        command = f"env {exports} {_quote(sys.executable)} -m tuinews"
        self._tmux(
            "new-session", "-d", "-s", self.session, "-x", str(WIDTH), "-y", str(HEIGHT), command
        )

    def _tmux(self, *args: str) -> str:
        proc = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True)
        return proc.stdout

    def text(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.session, *keys)

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if condition(screen):
                return screen
            time.sleep(0.25)
        raise SystemExit(f"readme_screen: timed out waiting for {what}:\n{self.text()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def capture(home: Path) -> str:
    """The screen with a story open, as tmux shows it."""
    screen = Screen(home)
    try:
        screen.wait_for(lambda s: "Refreshed the samples" in s, "the samples to load")
        # The notification times out; the README shows the reader, not the toast.
        screen.wait_for(lambda s: "Refreshed the samples" not in s, "the notification to go")
        screen.keys("/")
        screen.wait_for(lambda s: "Search the cache" in s, "the search dialog")
        screen.keys(STORY, "Enter")
        screen.wait_for(lambda s: "search “" in s, "the search results")
        screen.keys("Enter")  # open the first result
        screen.wait_for(lambda s: "[from cache]" in s, "the article")
        screen.keys("Escape")  # back to All, the cursor on the story being read
        text = screen.wait_for(
            lambda s: (
                "search “" not in s
                and "finding related stories" not in s
                and "More on this topic" in s
            ),
            "the related sidebar",
        )
        time.sleep(1.0)  # a last repaint (the scrollbars)
        text = screen.text()
        screen.keys("q")
        time.sleep(1.0)
        return text
    finally:
        screen.close()


def counts(home: Path) -> tuple[int, int, int]:
    """(feeds, stories, unread) in the cache the run left."""
    conn = sqlite3.connect(home / "cache.sqlite3")
    try:
        feeds = conn.execute("SELECT count(*) FROM feeds").fetchone()[0]
        stories = conn.execute("SELECT count(*) FROM stories").fetchone()[0]
        unread = conn.execute("SELECT count(*) FROM stories WHERE read = 0").fetchone()[0]
    finally:
        conn.close()
    return int(feeds), int(stories), int(unread)


def block(screen: str, feeds: int, stories: int, unread: int) -> str:
    lines = [line.rstrip() for line in screen.rstrip("\n").split("\n")]
    read = stories - unread
    caption = (
        f"The reader at {WIDTH}x{HEIGHT} on a fresh install: the sample articles ({stories}"
        f" stories in {feeds} feeds, all unread at first), after opening one story from a search"
        f" and going back to All with Escape ({read} read, {unread} unread). Captured from tmux"
        " with `tmux capture-pane -p` by `python tools/readme_screen.py`:"
    )
    return f"{START}\n{caption}\n\n```\n" + "\n".join(lines) + f"\n```\n{END}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="print the block, change nothing")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        print("readme_screen: tmux is not installed (apt-get install tmux)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tuinews-readme-") as tmp:
        home = Path(tmp) / "home"
        screen = capture(home)
        new = block(screen, *counts(home))
    if args.check:
        print(new)
        return 0
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        print(f"readme_screen: no {START} ... {END} block in {README}", file=sys.stderr)
        return 1
    README.write_text(pattern.sub(lambda _: new, text, count=1), encoding="utf-8")
    print(f"rewrote the screen in {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
