"""Bad feeds through the real ingest path: loopback HTTP -> ``Service.refresh`` -> SQLite.

Every file of ``../shared/data/feeds/`` (batched, 200 feeds per refresh) and our own nasty cases
(empty, HTML, 50 MB, billion laughs, XXE, deep nesting, 10,000 items, missing fields, duplicate
guids, odd dates, relative links, undeclared encodings) must yield stories or a clear error stored
on the feed and printed by ``tuinews feeds``; none may crash, hang, read a local file or grow
memory without bound. Parser-level checks of the same inputs are in ``tests/core/test_feeds.py``.
"""

from __future__ import annotations

import json
import mimetypes
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import shared_data
from tests.hostile.faults import (
    TALLY,
    HostileServer,
    big_feed_chunks,
    cli,
    make_service,
    streamed,
)
from tests.loopback import Route
from tuinews.core.errors import ParseError
from tuinews.core.feeds import parse_feed

BATCH = 200
INTERNAL = "internal error"


def _content_type(path: Path) -> str:
    if path.suffix == ".json":
        return "application/feed+json"
    guess = mimetypes.guess_type(path.name)[0]
    return guess if guess and ("xml" in guess or "json" in guess) else "application/xml"


def _db_text(db: Path) -> bytes:
    """Every byte of the cache (main file and WAL) for "was this ever stored" checks."""
    out = b""
    for suffix in ("", "-wal"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


# --------------------------------------------------------------------------------------------
# The shared corpus
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_corpus_feed_is_stored_or_explained(tmp_path: Path, hostile: HostileServer) -> None:
    root = shared_data("feeds")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) > 1000
    for i, path in enumerate(files):
        hostile.routes[f"/c/{i}"] = Route(path.read_bytes(), content_type=_content_type(path))
    svc = make_service(tmp_path / "cache.sqlite3", read=5, total=20)
    crashes: list[str] = []
    unexplained: list[str] = []
    hangs = stories = errors = empty = lost = 0
    try:
        ids = {svc.store.add_feed(hostile.url(f"/c/{i}")).id: path for i, path in enumerate(files)}
        id_list = sorted(ids)
        for start in range(0, len(id_list), BATCH):
            batch = id_list[start : start + BATCH]
            t0 = time.monotonic()
            summary = svc.refresh(batch)
            elapsed = time.monotonic() - t0
            hangs += elapsed > 120
            assert len(summary.results) == len(batch)
            for r in summary.results:
                if r.error and INTERNAL in r.error:
                    crashes.append(f"{ids[r.feed_id]}: {r.error}")
        # What the parser alone makes of each file: the ingest path must store exactly that.
        expected: dict[int, int | None] = {}
        for fid, path in ids.items():
            try:
                parsed = parse_feed(
                    path.read_bytes(), url=svc.store.feed(fid).url, content_type=_content_type(path)
                )
                expected[fid] = len({e.guid for e in parsed.entries})
            except ParseError:
                expected[fid] = None
        for feed in svc.store.feeds(with_totals=True):
            if feed.id not in ids:
                continue
            want = expected[feed.id]
            if feed.last_error:
                errors += 1
                if want is not None:
                    unexplained.append(f"{ids[feed.id]}: parses alone but: {feed.last_error}")
            elif want is None:
                unexplained.append(f"{ids[feed.id]}: no error stored for a ParseError")
            elif feed.total:
                stories += 1
            else:
                empty += 1  # a valid feed without items (many feedparser channel-only tests)
            if want is not None and feed.total < want:
                lost += want - feed.total
                unexplained.append(f"{ids[feed.id]}: {feed.total} stored of {want}")
        assert svc.store.integrity_check() == "ok"
    finally:
        svc.close()
    TALLY.add("bad-feeds/corpus", inputs=len(files), crashes=len(crashes), hangs=hangs, lost=lost)
    print(f"[hostile] corpus: {stories} with stories, {empty} empty, {errors} with an error")
    assert not crashes, crashes[:10]
    assert not unexplained, unexplained[:10]
    assert hangs == 0
    assert stories > len(files) / 2


# --------------------------------------------------------------------------------------------
# Our own nasty cases
# --------------------------------------------------------------------------------------------

MARKER = "TUINEWS-LOCAL-FILE-MARKER-7f3a9c"


def _rss(items: str, *, title: str = "Nasty", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://127.0.0.1/</link>{items}</channel></rss>"
    ).encode()


def _items(n: int, prefix: str = "g") -> str:
    return "".join(
        f"<item><guid>{prefix}{i}</guid><title>Item {i}</title>"
        f"<link>http://127.0.0.1/{prefix}/{i}</link>"
        f"<pubDate>Mon, 01 Jun 2026 10:{i % 60:02d}:00 GMT</pubDate></item>"
        for i in range(n)
    )


def _xxe_payloads(tmp_path: Path) -> dict[str, bytes]:
    marker = tmp_path / "marker.txt"
    marker.write_text(MARKER, encoding="utf-8")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "file://{marker}">', encoding="utf-8")
    item = (
        "<item{attr}><guid>x1</guid><title>Item &leak;</title><link>http://127.0.0.1/x</link>"
        "<description>Body &leak; end</description></item>"
    )
    body = '<rss version="2.0"><channel><title>XXE &leak;</title>{item}</channel></rss>'
    doctypes = {
        "xxe-system": f'<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{marker}">]>',
        "xxe-param": f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]>',
        "xxe-external-dtd": f'<!DOCTYPE rss SYSTEM "file://{dtd}">',
        "xxe-unterminated": f'<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{marker}"> ',
    }
    out: dict[str, bytes] = {}
    # xml:base on the item sends the feed to feedparser (the fallback parser) as well.
    for attr_name, attr in (("", ""), ("-fallback", ' xml:base="http://127.0.0.1/b/"')):
        for name, doctype in doctypes.items():
            doc = '<?xml version="1.0"?>' + doctype + body.format(item=item.format(attr=attr))
            out[name + attr_name] = doc.encode()
            utf16 = doc.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>')
            out[name + attr_name + "-utf16"] = utf16.encode("utf-16")
        xinclude = (
            '<?xml version="1.0"?><rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude">'
            f"<channel><title>XI</title><item{attr}><guid>x1</guid><title>XI item</title>"
            f'<description><xi:include href="file://{marker}" parse="text"/></description>'
            "</item></channel></rss>"
        )
        out["xinclude" + attr_name] = xinclude.encode()
    return out


def _billion_laughs() -> dict[str, bytes]:
    ents = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{ents}]><rss version="2.0"><channel>'
        "<title>Laughs &lol9;</title><item><guid>l1</guid><title>&lol9;</title>"
        "<description>&lol9;</description></item></channel></rss>"
    )
    quadratic = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"a" * 100_000}">]>'
        '<rss version="2.0"><channel><title>Q</title><item><guid>q1</guid>'
        f"<title>quad</title><description>{'&a;' * 20_000}</description></item></channel></rss>"
    )
    return {
        "billion-laughs": doc.encode(),
        "billion-laughs-utf16": doc.replace(
            '<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>'
        ).encode("utf-16"),
        "quadratic-blowup": quadratic.encode(),
    }


def _deep() -> dict[str, bytes]:
    html_deep = "&lt;div&gt;" * 50_000 + "deep text" + "&lt;/div&gt;" * 50_000
    xml_deep = "<x>" * 50_000 + "deep" + "</x>" * 50_000
    return {
        "deep-html-in-description": _rss(
            f"<item><guid>d1</guid><title>Deep</title><description>{html_deep}</description></item>"
        ),
        "deep-xml-elements": _rss(f"<item><guid>d2</guid><title>Deep</title>{xml_deep}</item>"),
        "deep-xml-root": ("<rss>" * 100_000 + "</rss>" * 100_000).encode(),
        "deep-json": (
            b'{"version":"https://jsonfeed.org/version/1.1","items":'
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}"
        ),
    }


NASTY_EXPECT: dict[str, tuple[str, int | None, str | None]] = {
    # name: (outcome "stories" | "error" | "either", exact story count or None, error words)
    "empty-body": ("error", 0, "empty"),
    "whitespace-body": ("error", 0, "empty"),
    "html-page": ("error", 0, "HTML page"),
    "html-as-rss": ("error", 0, "HTML page"),
    "json-not-feed": ("error", 0, "JSON"),
    "garbage-bytes": ("error", 0, None),
    "fifty-mb-declared": ("error", 0, "too large"),
    "fifty-mb-streamed": ("error", 0, "too large"),
    "ten-thousand-items": ("stories", 5_000, None),
    "no-title-link-guid": ("stories", 3, None),
    "duplicate-guids": ("stories", 2, None),
    "bad-and-future-dates": ("stories", 4, None),
    "relative-links": ("stories", 3, None),
    "latin1-undeclared": ("stories", 1, None),
    "cp1252-undeclared": ("stories", 1, None),
    "shift-jis-http-charset": ("stories", 1, None),
    "gzip-without-header": ("stories", 3, None),
}


def _nasty_routes(hostile: HostileServer, tmp_path: Path) -> dict[str, str]:
    """Serve every nasty case; returns name -> path."""
    cases: dict[str, Route] = {
        "empty-body": Route(b""),
        "whitespace-body": Route(b" \r\n\t \n"),
        "html-page": Route(
            b"<!doctype html><html><head><title>Site</title></head><body><p>Hello</p></body></html>",
            content_type="text/html",
        ),
        "html-as-rss": Route(b"<html><body><h1>Not a feed</h1></body></html>"),
        "json-not-feed": Route(b'{"hello": "world"}', content_type="application/json"),
        "garbage-bytes": Route(bytes(range(256)) * 64, content_type="application/octet-stream"),
        "ten-thousand-items": Route(_rss(_items(10_000, "t"))),
        "no-title-link-guid": Route(
            _rss(
                "<item><description>only a body</description></item>"
                "<item><title>only a title</title></item>"
                "<item><link>http://127.0.0.1/only-link</link></item>"
            )
        ),
        "duplicate-guids": Route(
            _rss(
                "<item><guid>same</guid><title>First</title></item>"
                "<item><guid>same</guid><title>Second</title></item>"
                "<item><guid>other</guid><title>Third</title></item>"
            )
        ),
        "bad-and-future-dates": Route(
            _rss(
                "<item><guid>d1</guid><title>Garbage date</title><pubDate>not a date</pubDate></item>"
                "<item><guid>d2</guid><title>Future</title><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
                "<item><guid>d3</guid><title>Year 0</title><pubDate>Mon, 01 Jan 0000 00:00:00 GMT</pubDate></item>"
                "<item><guid>d4</guid><title>Overflow</title><pubDate>99999999999999999999</pubDate></item>"
            )
        ),
        "relative-links": Route(
            _rss(
                "<item><guid>r1</guid><title>Rel</title><link>/story/1</link></item>"
                "<item><guid>r2</guid><title>Rel2</title><link>story/2?a=b</link></item>"
                "<item><guid>r3</guid><title>Proto</title><link>//127.0.0.1/story/3</link></item>"
            )
        ),
        "latin1-undeclared": Route(
            b'<rss version="2.0"><channel><title>Caf\xe9</title><item><guid>l1</guid>'
            b"<title>Cr\xe8me br\xfbl\xe9e \xe0 la carte</title></item></channel></rss>",
            content_type="application/rss+xml",
        ),
        "cp1252-undeclared": Route(
            b'<rss version="2.0"><channel><title>Quotes</title><item><guid>c1</guid>'
            b"<title>\x93Smart quotes\x94 \x96 and \x80uro</title></item></channel></rss>",
            content_type="application/rss+xml",
        ),
        "shift-jis-http-charset": Route(
            (
                '<rss version="2.0"><channel><title>日本</title><item><guid>s1</guid>'
                "<title>東京のニュース</title></item></channel></rss>"
            ).encode("shift_jis"),
            content_type="application/rss+xml; charset=shift_jis",
        ),
        "gzip-without-header": Route(__import__("gzip").compress(_rss(_items(3, "z")))),
    }
    for name, body in {**_xxe_payloads(tmp_path), **_billion_laughs(), **_deep()}.items():
        cases[name] = Route(body)
    paths: dict[str, str] = {}
    for name, route in cases.items():
        hostile.routes[f"/n/{name}"] = route
        paths[name] = f"/n/{name}"
    fifty = 50 * 1024 * 1024
    hostile.raw["/n/fifty-mb-declared"] = streamed(
        big_feed_chunks(fifty), headers={"Content-Length": str(fifty + 100)}
    )
    hostile.raw["/n/fifty-mb-streamed"] = streamed(big_feed_chunks(fifty))
    paths["fifty-mb-declared"] = "/n/fifty-mb-declared"
    paths["fifty-mb-streamed"] = "/n/fifty-mb-streamed"
    return paths


@pytest.mark.slow
def test_nasty_feeds_yield_stories_or_a_clear_error(tmp_path: Path, hostile: HostileServer) -> None:
    paths = _nasty_routes(hostile, tmp_path)
    data = tmp_path / "data"
    db = data / "cache.sqlite3"
    svc = make_service(db, read=5, total=30)
    crashes: list[str] = []
    try:
        feed_ids = {name: svc.store.add_feed(hostile.url(p)).id for name, p in paths.items()}
        t0 = time.monotonic()
        summary = svc.refresh()
        elapsed = time.monotonic() - t0
        results = {r.feed_id: r for r in summary.results}
        feeds = {f.id: f for f in svc.store.feeds(with_totals=True)}
        for name, fid in feed_ids.items():
            res, feed = results[fid], feeds[fid]
            if res.error and INTERNAL in res.error:
                crashes.append(f"{name}: {res.error}")
                continue
            # Each yields stories or a clear error, never silence.
            assert feed.total > 0 or feed.last_error or res.outcome == "new", (name, res, feed)
            expect = NASTY_EXPECT.get(name)
            if expect is None:  # XXE, laughs, deep: stories or an error, both fine
                print(f"[hostile]   {name}: {feed.total} stories, error={feed.last_error!r}")
                continue
            kind, count, words = expect
            if kind == "error":
                assert feed.last_error and res.outcome == "failed", (name, feed)
                if words:
                    assert words.lower() in feed.last_error.lower(), (name, feed.last_error)
            else:
                assert not feed.last_error, (name, feed.last_error)
            if count is not None:
                assert feed.total == count, (name, feed.total)
        stories = svc.list_stories(limit=20_000)
        by_feed: dict[int, list] = {}
        for s in stories:
            by_feed.setdefault(s.feed_id, []).append(s)
        titles = {s.title for s in by_feed[feed_ids["duplicate-guids"]]}
        assert titles == {"First", "Third"}
        rel = sorted(s.link or "" for s in by_feed[feed_ids["relative-links"]])
        expected = [
            hostile.url("/story/1"),
            hostile.url("/n/story/2?a=b"),
            "http://127.0.0.1/story/3",
        ]  # protocol-relative: same scheme, no port
        assert rel == sorted(expected)
        assert [s.title for s in by_feed[feed_ids["latin1-undeclared"]]] == [
            "Crème brûlée à la carte"
        ]
        assert "“Smart quotes”" in by_feed[feed_ids["cp1252-undeclared"]][0].title
        assert by_feed[feed_ids["shift-jis-http-charset"]][0].title == "東京のニュース"
        dates = {s.guid: s.published for s in by_feed[feed_ids["bad-and-future-dates"]]}
        # Unreadable dates fall back to when the story was first seen; future ones are clamped.
        latest = datetime.now(UTC) + timedelta(days=1)
        assert set(dates) == {"d1", "d2", "d3", "d4"}
        assert all(d is None or d <= latest for d in dates.values()), dates
        no_fields = by_feed[feed_ids["no-title-link-guid"]]
        assert len({s.guid for s in no_fields}) == 3 and all(s.guid for s in no_fields)
        # No expansion: no stored title or summary grows from a few bytes of entities.
        assert max(len(s.title) + len(s.summary) for s in stories) < 50_000
        assert svc.store.integrity_check() == "ok"
    finally:
        svc.close()
    # No local file was read: the marker is nowhere in the cache, nor in what the CLI shows.
    assert MARKER.encode() not in _db_text(db)
    out = cli(data, "feeds").stdout
    listing = cli(data, "list", "--limit", "20000").stdout
    assert MARKER not in out and MARKER not in listing
    # The errors are shown to the user.
    for line in ("The feed is empty", "HTML page", "too large"):
        assert line in out, line
    TALLY.add("bad-feeds/nasty", inputs=len(paths), crashes=len(crashes), hangs=int(elapsed > 60))
    assert not crashes, crashes
    assert elapsed < 60, elapsed


# --------------------------------------------------------------------------------------------
# Memory: peak RSS of a subprocess refresh over the 50 MB and 10k-item feeds
# --------------------------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys
    from tuinews.core.fetch import Fetcher, FetchLimits
    from tuinews.core.service import Service
    db, urls = sys.argv[1], sys.argv[2:]
    svc = Service(db, fetcher=Fetcher(FetchLimits(read_timeout=10, total_timeout=60),
                                      serve_samples=False), extract_workers=1)
    for u in urls:
        svc.store.add_feed(u)
    s = svc.refresh()
    print(json.dumps([[r.url, r.outcome, r.new, r.error] for r in s.results]))
    svc.close()
    """
)
_WRAPPER = textwrap.dedent(
    """
    import resource, subprocess, sys
    proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    print(proc.stdout.strip())
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    sys.exit(proc.returncode)
    """
)


def _peak_rss_kib(tmp_path: Path, name: str, urls: list[str]) -> tuple[int, list]:
    child = tmp_path / "child.py"
    child.write_text(_CHILD, encoding="utf-8")
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(_WRAPPER, encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            str(wrapper),
            sys.executable,
            str(child),
            str(tmp_path / f"{name}.db"),
            *urls,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results_line, rss_line = proc.stdout.strip().splitlines()[-2:]
    return int(rss_line), json.loads(results_line)


@pytest.mark.slow
def test_peak_memory_of_a_refresh_is_bounded(tmp_path: Path, hostile: HostileServer) -> None:
    fifty = 50 * 1024 * 1024
    hostile.raw["/big"] = streamed(big_feed_chunks(fifty))
    hostile.raw["/big-declared"] = streamed(
        big_feed_chunks(fifty), headers={"Content-Length": str(fifty)}
    )
    hostile.routes["/tenk"] = Route(_rss(_items(10_000, "t")))
    hostile.routes["/small"] = Route(_rss(_items(3, "s")))
    base_kib, _ = _peak_rss_kib(tmp_path, "base", [hostile.url("/small")])
    peak_kib, results = _peak_rss_kib(
        tmp_path, "big", [hostile.url("/big"), hostile.url("/big-declared"), hostile.url("/tenk")]
    )
    outcomes = {url.rsplit("/", 1)[1]: (outcome, new, err) for url, outcome, new, err in results}
    assert outcomes["big"][0] == "failed" and "too large" in outcomes["big"][2]
    assert outcomes["big-declared"][0] == "failed" and "too large" in outcomes["big-declared"][2]
    assert outcomes["tenk"][:2] == ("new", 5_000)
    print(
        f"[hostile] peak RSS: baseline {base_kib // 1024} MiB, 50 MB + 10k items "
        f"{peak_kib // 1024} MiB"
    )
    TALLY.add("bad-feeds/memory", inputs=3)
    # The download cap is 20 MiB: the body is held at most about twice (chunks, then joined),
    # plus the 10k-item parse. Unbounded growth would show the whole 50 MB and more.
    assert peak_kib - base_kib < 120 * 1024, (base_kib, peak_kib)
