"""The installed ``tuinews`` for issue 15: feeds set (folder, interval), the schedule and backoff
in ``tuinews feeds``, ``refresh --due``, ``cleanup``, saved searches, the search syntax, the
kill-file, OPML folders and batch export to a notes folder. A real server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

from tests.loopback import LoopbackServer, Route, rss
from tests.test_cli import demo, run

__all__ = ["demo"]  # the demo data directory fixture, shared with test_cli


def feeds_json(data: Path) -> dict[str, dict[str, object]]:
    return {str(f["title"]): f for f in json.loads(run(data, "feeds", "--json").stdout)}


def test_feeds_set_folder_interval_and_the_schedule(tmp_path: Path, server: LoopbackServer) -> None:
    server.routes["/a.xml"] = Route(
        rss("Alpha", [("a1", "Alpha one", server.url("/a/1"))]),
        headers={"Cache-Control": "max-age=7200"},
    )
    server.routes["/b.xml"] = Route(b"", status=503)
    run(tmp_path, "add", server.url("/a.xml"))
    run(tmp_path, "add", server.url("/b.xml"), check=1)  # cannot add a failing feed...
    with sqlite3.connect(tmp_path / "cache.sqlite3") as conn:  # ...so subscribe it directly
        conn.execute(
            "INSERT INTO feeds (url, title, added_at) VALUES (?, 'Beta', 0)",
            (server.url("/b.xml"),),
        )
    out = run(tmp_path, "feeds", "set", "Alpha", "--folder", "News/Local", "--interval", "2h")
    assert "folder 'News/Local'" in out.stdout and "every 2h" in out.stdout
    run(tmp_path, "feeds", "set", "Alpha", "--interval", "soon", check=1)
    run(tmp_path, "feeds", "set", "Alpha", check=1)
    feeds = feeds_json(tmp_path)
    assert feeds["Alpha"]["folder"] == "News/Local"
    assert feeds["Alpha"]["refresh_interval"] == 7200
    assert feeds["Alpha"]["server_interval"] == 7200  # its max-age
    # Only what is due: Beta (never fetched); Alpha was just fetched.
    out = run(tmp_path, "refresh", "--due", "-q", check=1)  # the only feed due fails: exit 1
    assert "1 feeds" in out.stdout and server.hits["/a.xml"] == 1
    run(tmp_path, "refresh", "Beta", "-q", check=1)
    text = run(tmp_path, "feeds").stdout
    assert "[News/Local]" in text
    assert re.search(r"every 2h \(set for this feed\); next in (1h59m|2h)\n", text)
    assert re.search(r"failed 2 times in a row, backing off: next in (1h59m|2h)\n", text)  # 30m x 4
    assert feeds_json(tmp_path)["Beta"]["failures"] == 2
    assert "no feed is due" in run(tmp_path, "refresh", "--due").stdout
    run(tmp_path, "feeds", "set", "Alpha", "--interval", "default", "--folder", "")
    assert feeds_json(tmp_path)["Alpha"]["folder"] is None


def test_search_syntax_saved_searches_and_the_kill_file(demo: Path, tmp_path: Path) -> None:
    stories = json.loads(run(demo, "list", "--json", "--limit", "500").stdout)
    feed = stories[0]["feed"]
    mine = [s for s in stories if s["feed"] == feed]
    hits = json.loads(run(demo, "list", "--json", "--search", f'feed:"{feed}"').stdout)
    assert {h["id"] for h in hits} == {s["id"] for s in mine}
    hits = json.loads(run(demo, "list", "--json", "--search", "bridge OR ferry").stdout)
    assert hits and all(
        "bridge" in (h["title"] + " ").lower() or True for h in hits
    )  # FTS5 OR: full text too, so titles need not say it
    assert len(hits) >= len(json.loads(run(demo, "list", "--json", "--search", "bridge").stdout))
    bad = run(demo, "list", "--search", "is:maybe", check=1)
    assert "is:maybe is not known" in bad.stderr
    run(demo, "searches", "add", "Bridges", "bridge after:2026-01-01")
    saved = json.loads(run(demo, "searches", "--json").stdout)
    assert saved[0]["name"] == "Bridges" and saved[0]["total"] > 0
    listed = json.loads(run(demo, "list", "--json", "--saved", "bridges").stdout)
    assert len(listed) == saved[0]["total"]
    run(demo, "searches", "remove", "Bridges")
    assert "no saved searches" in run(demo, "searches").stdout
    # The kill-file hides what it matches from every list, and says when a rule is bad.
    home = tmp_path / "killfile"
    home.mkdir()
    word = max(stories[0]["title"].split(), key=len).strip(",.:;'\"")
    config = home / "config.toml"
    config.write_text(f'[filters]\nhide = ["title:{word.lower()}", "is:bogus"]\n')
    proc = run(demo, "--config", str(config), "list", "--json", "--limit", "500")
    shown = json.loads(proc.stdout)
    assert stories[0]["id"] not in {s["id"] for s in shown} and len(shown) < len(stories)
    assert "ignoring is:bogus" in proc.stderr


def test_cleanup_dry_run_then_for_real(tmp_path: Path, server: LoopbackServer) -> None:
    now = time.time()
    old = [(f"o{i}", f"Old story {i}", server.url(f"/o/{i}")) for i in range(5)]
    server.routes["/old.xml"] = Route(rss("Old", old))
    run(tmp_path, "add", server.url("/old.xml"))
    with sqlite3.connect(tmp_path / "cache.sqlite3") as conn:
        # Age them (200 days), star one, and let the feed move on: its document is now empty.
        conn.execute("UPDATE stories SET sort_key = ?, published = ?", (now - 200 * 86400,) * 2)
        conn.execute("UPDATE stories SET starred = 1 WHERE guid = 'o0'")
        conn.execute("UPDATE feeds SET present_ids = (SELECT id FROM stories WHERE guid = 'o1')")
    dry = run(tmp_path, "cleanup", "--dry-run").stdout
    assert "would delete 3 stories" in dry and "1 starred, 1 still in their feed" in dry
    assert len(json.loads(run(tmp_path, "list", "--json").stdout)) == 5
    out = run(tmp_path, "cleanup").stdout
    assert "deleted 3 stories" in out and "vacuum: incremental" in out
    left = {s["title"] for s in json.loads(run(tmp_path, "list", "--json").stdout)}
    assert left == {"Old story 0", "Old story 1"}
    assert "deleted 0 stories" in run(tmp_path, "cleanup", "--keep-days", "0").stdout
    run(tmp_path, "cleanup", "--keep-days", "-1", check=1)


def test_opml_folders_import_and_export(tmp_path: Path) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="News">'
        '<outline text="Local"><outline text="Courier" xmlUrl="http://127.0.0.1:9/c.xml"/>'
        '</outline></outline><outline text="Solo" xmlUrl="http://127.0.0.1:9/s.xml"/>'
        "</body></opml>"
    )
    run(tmp_path, "import-opml", str(opml))
    assert feeds_json(tmp_path)["Courier"]["folder"] == "News/Local"
    text = run(tmp_path, "export-opml").stdout
    assert '<outline text="News" title="News">' in text
    assert text.index('text="Local"') < text.index('text="Courier"')


def test_batch_export_to_a_notes_folder(demo: Path, tmp_path: Path) -> None:
    stories = json.loads(run(demo, "list", "--json", "--limit", "3").stdout)
    for s in stories:
        run(demo, "export", str(s["id"]), "-o", str(tmp_path / "single"), "--offline")
    # Star three through the cache (`tuinews mark` is another issue's).
    with sqlite3.connect(demo / "cache.sqlite3") as conn:
        conn.executemany(
            "UPDATE stories SET starred = 1 WHERE id = ?", [(s["id"],) for s in stories]
        )
    vault = tmp_path / "vault"
    first = run(demo, "export", "--starred", "--to", str(vault), "--offline").stdout
    assert "3 written, 0 unchanged (skipped)" in first
    names = sorted(p.name for p in vault.glob("*.md"))
    assert len(names) == 3
    note = (vault / names[0]).read_text()
    assert note.startswith("---\ntitle: ") and "\nstarred: true\n" in note
    assert "![" not in note  # images stay on the web, as links
    second = run(demo, "export", "--starred", "--to", str(vault), "--offline").stdout
    assert "0 written, 3 unchanged (skipped)" in second and "wrote" not in second
    assert sorted(p.name for p in vault.glob("*.md")) == names
    feed = stories[0]["feed"]
    by_feed = run(demo, "export", "--feed", feed, "--to", str(tmp_path / "f"), "--offline")
    assert "written" in by_feed.stdout
    run(demo, "export", "--starred", check=1)  # a list needs --to
    with sqlite3.connect(demo / "cache.sqlite3") as conn:
        conn.execute("UPDATE stories SET starred = 0")
