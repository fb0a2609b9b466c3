"""Time the related-stories sidebar on a big synthetic cache (a script, not a test).

Builds (once, then reuses) a cache of 100,000 generated stories over a few hundred topics:
summaries of 50-80 words, 5,000 stories with a ~600-word article text and related links, a
few percent rewritten by other feeds as "the same event". Then times ``related_stories`` for
200 random stories in a fresh process (cold word and frequency caches) and prints p50/p95/max.

    python bench/bench_related.py            # build if needed, then time
    python bench/bench_related.py --rebuild  # build a new cache first
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tuinews.core.related import related_stories, same_story_groups
from tuinews.core.store import Store

TARGET_MS = 50.0
SEED = 20261120
STORIES = 100_000
ARTICLES = 5_000
TOPICS = 300
FEEDS = 60
DUPLICATE_SHARE = 0.03

_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "br",
    "ch",
    "cr",
    "dr",
    "fl",
    "gr",
    "pl",
    "sh",
    "st",
    "th",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
_CODAS = ["", "", "n", "r", "s", "t", "l", "nd", "rk", "st", "ng"]
_STOP_TEXT = (
    "the of and to a in that is was for on with as by at from it his her their said has have had"
    " be been will would an this which who but not are were after over into about than more its"
)
_STOP = _STOP_TEXT.split()


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
    )


class Corpus:
    """Deterministic invented vocabulary: general words (Zipf), topic words, names."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        general = sorted({_word(rng, rng.choice((1, 2, 2, 3))) for _ in range(6000)})
        rng.shuffle(general)
        self.general = general[:4000]
        self.general_weights = [1.0 / (i + 1) ** 0.9 for i in range(len(self.general))]
        self.topics = [[_word(rng, rng.choice((2, 3))) for _ in range(40)] for _ in range(TOPICS)]
        self.names = [_word(rng, 2).capitalize() for _ in range(30_000)]

    def text(self, topic: int, words: int, names: list[str]) -> str:
        rng = self.rng
        vocab = self.topics[topic]
        general = rng.choices(self.general, self.general_weights, k=words)
        out: list[str] = []
        for i in range(words):
            r = rng.random()
            if r < 0.28:
                out.append(rng.choice(_STOP))
            elif r < 0.50:
                out.append(vocab[int(rng.triangular(0, len(vocab), 0))])
            elif r < 0.56:
                out.append(rng.choice(names))
            else:
                out.append(general[i])
            if rng.random() < 0.07:
                out[-1] += "."
        return " ".join(out)

    def title(self, topic: int, names: list[str]) -> str:
        rng = self.rng
        words = [rng.choice(names)] + rng.sample(self.topics[topic][:15], 3)
        words += rng.choices(self.general[:800], k=rng.randint(2, 5))
        rng.shuffle(words)
        return " ".join(words).capitalize()


def build(path: Path) -> None:
    """Write the synthetic cache in one transaction per table group (fast executemany)."""
    rng = random.Random(SEED)
    corpus = Corpus(rng)
    store = Store(path)
    now = 1_790_000_000
    t0 = time.perf_counter()
    stories: list[tuple[object, ...]] = []
    fts: list[tuple[object, ...]] = []
    meta: list[tuple[int, int, int]] = []  # (topic, feed, time) per story
    for sid in range(1, STORIES + 1):
        if sid > 10 and rng.random() < DUPLICATE_SHARE:
            # The same event from another feed: same names, reworded title and summary.
            src = rng.randint(max(1, sid - 300), sid - 1)
            topic, feed, when = meta[src - 1]
            feed = (feed + rng.randint(1, FEEDS - 1)) % FEEDS + 1
            when += rng.randint(0, 36 * 3600)
            title_words = str(fts[src - 1][1]).split()
            rng.shuffle(title_words)
            title = " ".join(title_words[: max(3, len(title_words) - 1)]).capitalize()
            src_summary = str(fts[src - 1][2]).split()
            summary = (
                " ".join(src_summary[: len(src_summary) // 2])
                + " "
                + corpus.text(topic, rng.randint(25, 40), src_summary[:5])
            )
        else:
            topic = rng.randrange(TOPICS)
            feed = rng.randint(1, FEEDS)
            when = now - rng.randint(0, 365 * 86400)
            names = rng.sample(corpus.names, 4)
            title = corpus.title(topic, names)
            summary = corpus.text(topic, rng.randint(50, 80), names)
        meta.append((topic, feed, when))
        link = f"https://feed{feed}.example/{sid}"
        stories.append((sid, feed, f"g{sid}", link, title, when, when, when, summary))
        fts.append((sid, title, summary))
    article_ids = set(rng.sample(range(1, STORIES + 1), ARTICLES))
    by_topic: dict[int, list[int]] = {}
    for sid, (topic, _, _) in enumerate(meta, 1):
        by_topic.setdefault(topic, []).append(sid)
    articles: list[tuple[object, ...]] = []
    links: list[tuple[object, ...]] = []
    for sid in sorted(article_ids):
        topic = meta[sid - 1][0]
        text = (
            str(fts[sid - 1][2])
            + "\n\n"
            + corpus.text(topic, rng.randint(520, 640), str(fts[sid - 1][1]).split()[:3])
        )
        articles.append((sid, stories[sid - 1][3], text, text, len(text.split()), now))
        fts[sid - 1] = (sid, fts[sid - 1][1], text)
        for pos, other in enumerate(rng.sample(by_topic[topic], min(3, len(by_topic[topic])))):
            links.append((sid, pos, stories[other - 1][3], str(stories[other - 1][4]), None, None))
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO feeds (id, url, title, added_at) VALUES (?, ?, ?, ?)",
            [(f, f"https://feed{f}.example/rss", f"Feed {f}", now) for f in range(1, FEEDS + 1)],
        )
        conn.executemany(
            "INSERT INTO stories (id, feed_id, guid, link, title, published, first_seen,"
            " sort_key, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            stories,
        )
        conn.executemany(
            "INSERT INTO articles (story_id, url, markdown, text, word_count, fetched_at,"
            " extracted) VALUES (?, ?, ?, ?, ?, ?, 1)",
            articles,
        )
        conn.executemany(
            "INSERT INTO related_links (story_id, position, url, title, source, published)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            links,
        )
        conn.executemany("INSERT INTO story_fts (rowid, title, body) VALUES (?, ?, ?)", fts)
    with store.transaction() as conn:
        conn.execute("INSERT INTO story_fts (story_fts) VALUES ('optimize')")
    store.conn.execute("ANALYZE")
    store.close()
    print(f"built {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(path: Path, samples: int, profile: bool) -> None:
    store = Store(path)
    n = store.indexed_story_count()
    rng = random.Random(SEED + 1)
    ids = rng.sample(range(1, n + 1), samples)
    profiler = cProfile.Profile() if profile else None
    times: list[float] = []
    per_group: dict[str, int] = {"same": 0, "page": 0, "topic": 0}
    for sid in ids:
        if profiler:
            profiler.enable()
        t = time.perf_counter()
        items = related_stories(store, sid, limit=10)
        times.append((time.perf_counter() - t) * 1000)
        if profiler:
            profiler.disable()
        for r in items:
            per_group[r.group] += 1
    p50, p95 = statistics.median(times), _percentile(times, 0.95)
    print(f"related_stories over {n:,} stories, {samples} random stories (cold caches):")
    print(f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {max(times):.1f} ms")
    print(f"  p95 / target {TARGET_MS:.0f} ms = {p95 / TARGET_MS:.2f}")
    print(
        "  items per sidebar: " + ", ".join(f"{g} {n / samples:.2f}" for g, n in per_group.items())
    )
    warm = []
    for sid in ids[:50]:
        t = time.perf_counter()
        related_stories(store, sid, limit=10)
        warm.append((time.perf_counter() - t) * 1000)
    print(f"  again, warm (50): p50 {statistics.median(warm):.1f} ms  max {max(warm):.1f} ms")
    page = [s.id for s in store.list_stories(limit=100)]
    t = time.perf_counter()
    folded = same_story_groups(store, page)
    print(
        f"same_story_groups over a page of 100 stories: {(time.perf_counter() - t) * 1000:.1f}"
        f" ms, {len(folded)} groups"
    )
    store.close()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", type=Path, default=Path(tempfile.gettempdir()) / "tuinews-bench-related.sqlite3"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile the timed calls")
    args = parser.parse_args()
    if args.rebuild or not args.db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(args.db) + suffix).unlink(missing_ok=True)
        build(args.db)
    run(args.db, args.samples, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
