"""Related stories that share only common words (issue 17): counts on the samples and on real feeds.

    python bench/related_common_words.py [--items FILE.tsv]
    PYTHONPATH=/tmp/old/src python bench/related_common_words.py   # the same for another src

Prints, for the code on the path:

* on the labelled samples (``sample_articles/labels.json``): how many "more on this topic"
  items of the sidebar are on the open story's topic and how many are not;
* on the real captured feeds in ``../shared/data/feeds/real`` (stored through the real parser
  into a temp cache, titles and summaries only): how many topic items the sidebar shows.

``--items`` writes every non-page item of the real-feeds run as TSV (story id, group, score,
open title, item title, reason), to compare two runs and read what was dropped or added.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "feeds" / "real"


def samples(tmp: Path) -> tuple[int, int]:
    from tuinews.core.related import related_stories
    from tuinews.core.service import Service

    labels = json.loads((REPO / "sample_articles" / "labels.json").read_text(encoding="utf-8"))
    service = Service(tmp / "samples.sqlite3")
    try:
        service.load_samples()
        store = service.store
        url_to_slug = {s["url"]: slug for slug, s in labels["stories"].items()}
        slug_of = {
            sid: url_to_slug[u] for u, sid in store.stories_with_link(list(url_to_slug)).items()
        }
        on = off = 0
        for sid, slug in slug_of.items():
            for item in related_stories(store, sid):
                if item.group != "topic" or item.story_id not in slug_of:
                    continue
                same = (
                    labels["stories"][slug_of[item.story_id]]["topic"]
                    == labels["stories"][slug]["topic"]
                )
                on, off = (on + 1, off) if same else (on, off + 1)
        return on, off
    finally:
        service.close()


def real_feeds(tmp: Path, items_file: Path | None) -> tuple[int, int, int]:
    from tuinews.core.feeds import parse_feed
    from tuinews.core.related import related_stories
    from tuinews.core.store import Store

    store = Store(tmp / "real.sqlite3")
    try:
        for path in sorted(REAL.glob("*/*")):
            try:
                parsed = parse_feed(path.read_bytes(), url=f"http://127.0.0.1:9/{path.name}")
            except Exception:  # a broken file of the corpus: not what this measures
                continue
            if parsed.entries:
                feed = store.add_feed(f"http://127.0.0.1:9/{path.name}", parsed.title or path.name)
                store.store_feed(feed.id, parsed)
        stories = store.list_stories(limit=100_000)
        rows: list[str] = []
        topic = 0
        for story in stories:
            for item in related_stories(store, story.id):
                topic += item.group == "topic"
                if item.group != "page":
                    rows.append(
                        "\t".join(
                            [
                                str(story.id),
                                item.group,
                                f"{item.score:.3f}",
                                story.title[:60],
                                item.title[:60],
                                item.reason,
                            ]
                        )
                    )
        if items_file is not None:
            items_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return len(stories), topic, len(rows)
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=Path, help="write the real-feeds items as TSV here")
    args = parser.parse_args()
    import tuinews

    print(f"code: {Path(tuinews.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="tuinews-related-") as tmp:
        on, off = samples(Path(tmp))
        print(f"samples: topic items on the story's topic {on}, off it {off}")
        if not REAL.is_dir():
            print(f"real feeds: {REAL} is absent, skipped")
            return 0
        n, topic, shown = real_feeds(Path(tmp), args.items)
        print(f"real feeds: {n} stories, {topic} topic items ({shown} items outside 'page')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
