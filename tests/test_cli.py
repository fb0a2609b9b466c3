"""The installed ``tuinews`` command, run as a subprocess with a temporary data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.loopback import LoopbackServer, Route, rss

TUINEWS = Path(sys.executable).parent / "tuinews"

COMMANDS = [
    "add",
    "remove",
    "prefetch",
    "feeds",
    "refresh",
    "list",
    "read",
    "export",
    "related",
    "import-opml",
    "export-opml",
    "cleanup",
    "searches",
]


def run(
    data: Path, *args: str, check: int | None = 0, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TUINEWS_HOME"}
    proc = subprocess.run(
        [str(TUINEWS), "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the bundled samples loaded (once for the module)."""
    data = tmp_path_factory.mktemp("demo")
    run(data, "--demo", "feeds")
    return data


def test_installed_script_version_and_help(tmp_path: Path) -> None:
    assert TUINEWS.exists(), "the console script is not installed"
    from tuinews import __version__

    assert run(tmp_path, "--version").stdout.strip() == f"tuinews {__version__}"
    for command in COMMANDS:
        out = run(tmp_path, command, "--help").stdout
        assert out.startswith("usage: tuinews") and command in out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = run(tmp_path, "list", "--limit", "many", check=2)
    assert "invalid int value" in proc.stderr


def test_demo_feeds_and_list(demo: Path) -> None:
    feeds = json.loads(run(demo, "feeds", "--json").stdout)
    assert len(feeds) >= 3 and all(f["total"] > 0 for f in feeds)
    stories = json.loads(run(demo, "list", "--json", "--limit", "500").stdout)
    assert len(stories) == sum(f["total"] for f in feeds)
    assert all(s["has_article"] for s in stories)
    pubs = [s["published"] for s in stories]
    assert pubs == sorted(pubs, reverse=True)
    one = json.loads(
        run(demo, "list", "--json", "--limit", "3", "--feed", str(feeds[0]["id"])).stdout
    )
    assert len(one) == 3 and {s["feed_id"] for s in one} == {feeds[0]["id"]}


def test_search_read_related_export(demo: Path, tmp_path: Path) -> None:
    stories = json.loads(run(demo, "list", "--json", "--limit", "500").stdout)
    target = stories[0]
    word = max(target["title"].split(), key=len).strip(",.:;'\"")
    hits = json.loads(run(demo, "list", "--json", "--search", word).stdout)
    assert target["id"] in [h["id"] for h in hits]
    text = run(demo, "read", str(target["id"]), "--offline").stdout
    assert text.startswith(f"# {target['title']}")
    assert len(text.split()) > 300
    related = json.loads(run(demo, "related", str(target["id"]), "--json").stdout)
    assert related and all(r["story_id"] != target["id"] for r in related)
    out_dir = tmp_path / "exports"
    path = Path(
        run(demo, "export", str(target["id"]), "-o", str(out_dir), "--offline").stdout.strip()
    )
    assert path.parent == out_dir and path.suffix == ".md"
    md = path.read_text()
    assert md.startswith("---\n")
    tokens = MarkdownIt().parse(md.split("\n---\n", 1)[1])
    assert any(t.type == "heading_open" and t.tag == "h1" for t in tokens)
    # No overwrite without --force.
    again = run(demo, "export", str(target["id"]), "-o", str(out_dir), "--offline", check=1)
    assert "--force" in again.stderr
    run(demo, "export", str(target["id"]), "-o", str(out_dir), "--offline", "--force")


def test_opml_roundtrip(demo: Path, tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    run(demo, "export-opml", str(opml))
    fresh = tmp_path / "fresh"
    out = run(fresh, "import-opml", str(opml)).stdout
    assert "feeds added" in out
    feeds_demo = {f["url"] for f in json.loads(run(demo, "feeds", "--json").stdout)}
    feeds_new = {f["url"] for f in json.loads(run(fresh, "feeds", "--json").stdout)}
    assert feeds_new == feeds_demo
    missing = run(fresh, "import-opml", str(tmp_path / "nope.opml"), check=1)
    assert "cannot read" in missing.stderr


def test_add_refresh_remove_against_loopback(tmp_path: Path, server: LoopbackServer) -> None:
    server.routes["/feed"] = Route(rss("Loop News", [("a", "First", server.url("/a"))]), etag=True)
    server.routes["/bad"] = Route(b"", status=500)
    data = tmp_path / "data"
    out = run(data, "add", server.url("/feed")).stdout
    assert "Loop News" in out and "1 stories" in out
    run(data, "add", server.url("/bad"), check=1)
    server.routes["/feed"] = Route(
        rss("Loop News", [("b", "Second", server.url("/b")), ("a", "First", server.url("/a"))]),
        etag=True,
    )
    proc = run(data, "refresh")
    assert "[1/1] Loop News: 1 new" in proc.stderr
    assert "1 new stories" in proc.stdout
    proc = run(data, "refresh")
    assert "unchanged" in proc.stderr
    run(data, "prefetch", "Loop News", "on")
    assert json.loads(run(data, "feeds", "--json").stdout)[0]["prefetch"] is True
    proc = run(data, "remove", "Loop News")
    assert "removed" in proc.stdout
    assert json.loads(run(data, "list", "--json").stdout) == []
    err = run(data, "remove", "Loop News", check=1)
    assert "no feed matches" in err.stderr


def test_refresh_reports_failures_with_reasons(tmp_path: Path, server: LoopbackServer) -> None:
    server.routes["/ok"] = Route(rss("Fine", [("a", "A", server.url("/a"))]))
    server.routes["/gone"] = Route(b"", status=404)
    data = tmp_path / "data"
    run(data, "add", server.url("/ok"))
    # Subscribe to a broken feed through OPML (add would refuse it up front).
    opml = tmp_path / "x.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="Broken" xmlUrl="{server.url("/gone")}"/>'
        "</body></opml>"
    )
    run(data, "import-opml", str(opml))
    proc = run(data, "refresh")
    assert "1 failed" in proc.stdout and "not found (404)" in proc.stdout


def test_broken_cache_exit_3_and_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "cache.sqlite3"
    db.write_bytes(b"garbage" * 1000)
    proc = run(data, "feeds", check=3)
    assert "damaged" in proc.stderr and "Traceback" not in proc.stderr
    assert db.read_bytes() == b"garbage" * 1000


def test_hostile_titles_are_printed_clean(tmp_path: Path, server: LoopbackServer) -> None:
    title = "Evil \x1b]52;c;aGk=\x07\x1b[31mred\x1b[0m [bold]x[/bold] \u202eabc"
    body = rss(
        "Loop", [("a", title.replace("\x1b", "&#27;").replace("\x07", "&#7;"), server.url("/a"))]
    )
    server.routes["/feed"] = Route(body)
    data = tmp_path / "data"
    run(data, "add", server.url("/feed"))
    out = run(data, "list").stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "[bold]x[/bold]" in out


def test_python_m_and_the_script_flush_everything_before_leaving(demo: Path) -> None:
    """Both entry points leave without the interpreter's teardown after a headless command
    (cli.entry): every line is written first, through a pipe, and the exit code is kept."""
    env = {k: v for k, v in os.environ.items() if k != "TUINEWS_HOME"}
    base = ["--data-dir", str(demo), "list", "--json", "--limit", "1000"]
    for cmd in ([sys.executable, "-m", "tuinews", *base], [str(TUINEWS), *base]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert len(json.loads(proc.stdout)) >= 30
    missing = subprocess.run(
        [sys.executable, "-m", "tuinews", "--data-dir", str(demo), "read", "999999"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert missing.returncode == 1 and "999999" in missing.stderr


def test_list_and_feeds_print_headers_and_every_mark(demo: Path) -> None:
    """Issue 17: column headers; "10/11" explained; a starred unread story shows both marks."""
    stories = json.loads(run(demo, "list", "--json", "--limit", "1", "--unread").stdout)
    sid = str(stories[0]["id"])
    scratch = demo.parent / "marks"
    import shutil

    shutil.copytree(demo, scratch)
    from tuinews.core.store import Store

    store = Store(scratch / "cache.sqlite3")
    store.set_starred(int(sid), True)
    store.close()
    lines = run(scratch, "list", "--limit", "3", "--unread").stdout.splitlines()
    header = lines[0].split()
    assert header[:4] == ["ID", "NEW", "STAR", "PUBLISHED"], lines[0]
    row = lines[1]
    assert row.split()[:3] == [sid, "N", "*"], row
    # Each mark sits under its own header.
    assert row[lines[0].index("NEW") + 1] == "N" and row[lines[0].index("STAR") + 1] == "*"
    feeds = run(demo, "feeds").stdout
    first = feeds.splitlines()[0].split()
    assert first == ["ID", "UNREAD/TOTAL", "FEED", "URL"], feeds
    assert "UNREAD/TOTAL: unread stories / stories stored" in feeds


def test_help_shows_the_real_config_path(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "TUINEWS_HOME": str(home)}
    out = subprocess.run(
        [str(TUINEWS), "--help"], capture_output=True, text=True, env=env, timeout=60
    ).stdout
    assert str(home / "config.toml") in out.replace("\n", "").replace(" ", ""), out


def test_read_and_export_print_the_same_byline(demo: Path, tmp_path: Path) -> None:
    stories = json.loads(run(demo, "list", "--json", "--limit", "5").stdout)
    target = next(s for s in stories if s["author"])
    text = run(demo, "read", str(target["id"]), "--offline").stdout
    byline = next(line for line in text.splitlines() if line.startswith("*By "))
    config = tmp_path / "config.toml"
    out_dir = tmp_path / "vault"
    config.write_text(f'[export]\ndir = "{out_dir}"\n', encoding="utf-8")
    path = Path(
        run(demo, "--config", str(config), "export", str(target["id"]), "--offline").stdout.strip()
    )
    assert path.parent == out_dir  # the configured folder, not the current directory
    md = path.read_text(encoding="utf-8")
    assert byline in md.splitlines(), (byline, md[:600])
