"""Exports of hostile titles end to end (feed -> cache -> ``Service.export`` -> files).

Titles with ``/``, ``..``, NUL, reserved device names or 500 characters give safe, distinct file
names inside the chosen directory; existing files are not overwritten without ``force``. The
pure file-name and writer functions are tested in ``tests/core/test_export.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hostile.faults import TALLY, HostileServer, cli, make_service
from tests.loopback import Route
from tuinews.core.errors import ExportError

TITLES = [
    "a/b/c",
    "../../../../etc/passwd",
    "..",
    ".",
    "/",
    "\\..\\..\\windows\\system32",
    "NUL\x00byte",
    "CON",
    "con.txt",
    "aux",
    "COM1",
    "LPT9",
    "nul .",
    "  ",
    "",
    "x" * 500,
    "é" * 300,
    "🙂" * 100,
    ".hidden",
    "-rf --no-preserve-root",
    "~/.bashrc",
    "C:\\autoexec.bat",
    "file:///etc/passwd",
    "name\nwith\nnewlines",
    "\x1b[31mred\x1b[0m",
    "same title",
    "same title",
    "Same Title!",
]


def _feed(server: HostileServer) -> bytes:
    items = [
        {
            "id": f"e{i}",
            "title": title,
            "url": server.url(f"/p/{i}"),
            "summary": f"Summary number {i}.",
            "date_published": "2026-06-01T10:00:00Z",
        }
        for i, title in enumerate(TITLES)
    ]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Exports", "items": items}
    ).encode()


def test_hostile_titles_export_to_safe_distinct_files(
    tmp_path: Path, hostile: HostileServer
) -> None:
    hostile.routes["/feed.json"] = Route(_feed(hostile), content_type="application/feed+json")
    svc = make_service(tmp_path / "cache.sqlite3")
    out = tmp_path / "out"
    outside_before = set(os.listdir(tmp_path))
    try:
        svc.store.add_feed(hostile.url("/feed.json"))
        svc.refresh()
        ids = [s.id for s in svc.list_stories(limit=100)]
        assert len(ids) == len(TITLES)
        paths = svc.export(ids, out, fetch=False)
        assert len(paths) == len(ids) == len(set(paths)), "stories overwrote each other"
        for p in paths:
            assert p.parent.resolve() == out.resolve(), p
            assert p.exists() and p.suffix == ".md"
            assert len(p.name.encode()) <= 255 and p.name.isascii() and "\x00" not in p.name
            assert not p.name.startswith(("-", ".", "~")), p.name
        assert sorted(os.listdir(out)) == sorted(p.name for p in paths)
        assert set(os.listdir(tmp_path)) == outside_before | {"out"}
        texts = {p.read_text(encoding="utf-8") for p in paths}
        assert all(f"Summary number {i}." in "".join(texts) for i in range(len(TITLES)))

        # A second export refuses to overwrite, then overwrites with force.
        first = paths[0]
        first.write_text("mine", encoding="utf-8")
        with pytest.raises(ExportError, match="exists"):
            svc.export([ids[0]], out, fetch=False)
        assert first.read_text(encoding="utf-8") == "mine"
        again = svc.export([ids[0]], out, fetch=False, force=True)
        assert again == [first] and first.read_text(encoding="utf-8") != "mine"
        # A single story to a named file: the name is checked too.
        target = out / "chosen.md"
        assert svc.export([ids[1]], target, fetch=False) == [target]
        with pytest.raises(ExportError):
            svc.export([ids[1]], target, fetch=False)
    finally:
        svc.close()
    TALLY.add("exports", inputs=len(TITLES) + 3)


def test_cli_export_refuses_overwrite_and_leaves_file(
    tmp_path: Path, hostile: HostileServer
) -> None:
    hostile.routes["/feed.json"] = Route(_feed(hostile), content_type="application/feed+json")
    data = tmp_path / "data"
    cli(data, "add", hostile.url("/feed.json"))
    story = json.loads(cli(data, "list", "--json", "--limit", "1").stdout)[0]
    out = tmp_path / "out"
    written = Path(
        cli(data, "export", str(story["id"]), "-o", str(out), "--offline").stdout.strip()
    )
    written.write_text("keep me", encoding="utf-8")
    proc = cli(data, "export", str(story["id"]), "-o", str(out), "--offline", check=1)
    assert "exists" in proc.stderr and "Traceback" not in proc.stderr
    assert written.read_text(encoding="utf-8") == "keep me"
    TALLY.add("exports", inputs=1)
