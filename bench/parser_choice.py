"""Compare feedparser, feedparser-rs and tuinews's parse_feed (prints figures; not a test).

Usage: python bench/parser_choice.py [DATA_DIR]   (default: ../shared/data/feeds from the repo)

Figures: time per file and per entry over every file of the corpus, how often each raises, how
often the entry counts agree with feedparser's, how often parse_feed fell back to feedparser;
then a synthetic ~100 KB RSS feed of 50 items with content:encoded, parsed 20 times.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import feedparser
import feedparser_rs

from tuinews.core.errors import ParseError
from tuinews.core.feeds import parse_feed

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "feeds"


def corpus(data_dir: Path) -> None:
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and p.name != "LICENSE")
    bodies = [(p, p.read_bytes()) for p in files]
    times: dict[str, float] = Counter()
    raises: Counter[str] = Counter()
    counts: dict[str, list[int]] = {"feedparser": [], "feedparser-rs": [], "parse_feed": []}
    used: Counter[str] = Counter()
    for path, body in bodies:
        start = time.perf_counter()
        try:
            n_fp = len(feedparser.parse(body).entries)
        except Exception:  # noqa: BLE001 - counting raises is the point
            raises["feedparser"] += 1
            n_fp = -1
        times["feedparser"] += time.perf_counter() - start

        start = time.perf_counter()
        try:
            n_rs = len(feedparser_rs.parse(body).entries)
        except Exception:  # noqa: BLE001
            raises["feedparser-rs"] += 1
            n_rs = -1
        times["feedparser-rs"] += time.perf_counter() - start

        start = time.perf_counter()
        try:
            feed = parse_feed(body, url="http://example.org/feed.xml")
            n_ours = len(feed.entries)
            used[feed.parser] += 1
        except ParseError:
            raises["parse_feed (ParseError)"] += 1
            n_ours = 0
        except Exception as exc:  # noqa: BLE001
            raises["parse_feed (other!)"] += 1
            print(f"  !! {path}: {exc!r}")
            n_ours = -1
        times["parse_feed"] += time.perf_counter() - start
        counts["feedparser"].append(n_fp)
        counts["feedparser-rs"].append(n_rs)
        counts["parse_feed"].append(n_ours)

    is_json = [p.suffix == ".json" for p, _ in bodies]
    total_entries = sum(max(n, 0) for n in counts["feedparser"])
    print(f"corpus: {len(files)} files under {data_dir}, {total_entries} entries (feedparser)")
    for name in ("feedparser", "feedparser-rs", "parse_feed"):
        per_file = times[name] / len(files) * 1000
        per_entry = times[name] / max(total_entries, 1) * 1000
        print(
            f"  {name:<14} total {times[name]:6.2f} s   {per_file:6.3f} ms/file   "
            f"{per_entry:6.3f} ms/entry"
        )
    print(f"  raises: {dict(raises) or 'none'}")
    for name in ("feedparser-rs", "parse_feed"):
        pairs = [
            (a, b)
            for a, b, j in zip(counts["feedparser"], counts[name], is_json, strict=True)
            if not j
        ]
        same = sum(a == b for a, b in pairs)
        fewer = sum(b < a for a, b in pairs)
        more = sum(b > a for a, b in pairs)
        print(
            f"  {name:<14} same entry count as feedparser on {same}/{len(pairs)} XML files "
            f"({same / len(pairs):.1%}); fewer on {fewer}, more on {more}"
        )
    json_ours = [n for n, j in zip(counts["parse_feed"], is_json, strict=True) if j]
    print(f"  JSON Feed files: parse_feed entries {json_ours} (feedparser reads none)")
    print(f"  parse_feed used: {dict(used)}")
    real = [
        (a, b)
        for (p, _), a, b in zip(bodies, counts["feedparser"], counts["parse_feed"], strict=True)
        if "/real/" in str(p) and p.suffix != ".json"
    ]
    same_real = sum(a == b for a, b in real)
    print(f"  real XML feeds: parse_feed agrees with feedparser on {same_real}/{len(real)}")


def synthetic_feed(items: int = 50) -> bytes:
    paragraph = (
        "<p>Lorem ipsum dolor sit amet, <a href='/x'>consectetur</a> adipiscing elit, sed do "
        "eiusmod tempor <em>incididunt</em> ut labore et dolore magna aliqua.</p>"
    )
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Synthetic</title>'
        "<link>https://example.com/</link><description>bench</description>"
    ]
    for i in range(items):
        parts.append(
            f"<item><title>Story number {i} &amp; more</title>"
            f"<link>https://example.com/story/{i}</link><guid>https://example.com/story/{i}</guid>"
            f"<pubDate>Mon, {1 + i % 28:02d} Jan 2024 10:00:00 +0000</pubDate>"
            f"<dc:creator>Author {i}</dc:creator>"
            f"<description><![CDATA[{paragraph}]]></description>"
            f"<content:encoded><![CDATA[{paragraph * 11}]]></content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def synthetic(repeats: int = 20) -> None:
    body = synthetic_feed()
    print(
        f"synthetic RSS: {len(body) / 1024:.0f} KiB, 50 items with content:encoded, {repeats} runs"
    )
    runs = {
        "feedparser": lambda: feedparser.parse(body),
        "feedparser-rs": lambda: feedparser_rs.parse(body),
        "parse_feed": lambda: parse_feed(body, url="https://example.com/feed.xml"),
    }
    assert parse_feed(body, url="https://example.com/feed.xml").parser == "feedparser-rs"
    for name, run in runs.items():
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            samples.append(time.perf_counter() - start)
        median = statistics.median(samples) * 1000
        print(
            f"  {name:<14} median {median:7.2f} ms/feed   {median / 50:6.3f} ms/entry   "
            f"(min {min(samples) * 1000:.2f}, max {max(samples) * 1000:.2f})"
        )


def main() -> int:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    if data_dir.is_dir():
        corpus(data_dir)
    else:
        print(f"corpus: {data_dir} is absent; skipped")
    synthetic()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
