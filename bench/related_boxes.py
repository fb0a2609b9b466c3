"""Precision and recall of the related-box finder on hand-labelled real pages.

The pages are ``../shared/data/pages/readability``; the labels are in ``tests/data``:
``related_boxes_tune.json`` (the 44 TUNE pages, labelled by H13 and used to tune) and
``related_boxes_test.json`` (the 86 held-out TEST pages, labelled by a separate labeller and
never used to tune). A link counts as found when the finder returns its URL (compared without
scheme, "www.", fragment or trailing slash) from the page, parsed the way the app parses it.

    python bench/related_boxes.py            # both sets
    python bench/related_boxes.py -v tune    # one set, every miss and every extra link
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO.parent / "shared" / "data" / "pages" / "readability"
LABELS = {
    "tune": REPO / "tests" / "data" / "related_boxes_tune.json",
    "test": REPO / "tests" / "data" / "related_boxes_test.json",
    # More held-out pages, labelled by the same labeller: real pages saved by trafilatura's
    # tests (one file per page), kept outside the repository.
    "extra": REPO / "tests" / "data" / "related_boxes_extra.json",
}
EXTRA_PAGES = Path("/work/scratch/extra_pages")


def link_key(url: str) -> str:
    """A URL for comparison: no scheme, lower-case host without "www.", no fragment/slash."""
    parts = urlsplit(urldefrag(url.strip())[0])
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


@dataclass
class Score:
    """Counts over a set of pages."""

    pages: int = 0
    pages_with_box: int = 0
    labelled: int = 0
    found: int = 0
    correct: int = 0
    misses: dict[str, list[str]] = field(default_factory=dict)
    extras: dict[str, list[str]] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 1.0


def score(labels_path: Path, pages: Path = PAGES) -> Score:
    """Run the finder on every labelled page and count right, missed and extra links.

    ``pages`` holds one folder per page (``<page>/source.html``) or one file per page.
    """
    from tuinews.core.extract import decode_html
    from tuinews.core.related_links import find_related_links

    result = Score()
    for record in json.loads(labels_path.read_text(encoding="utf-8")):
        page = record["page"]
        path = pages / page / "source.html"
        raw = (path if path.is_file() else pages / page).read_bytes()
        html = decode_html(raw, "text/html")
        base = record["base_url"]
        if base.startswith("//"):
            base = "https:" + base
        expected = {link_key(link["url"]) for box in record["boxes"] for link in box["links"]}
        got = {link_key(link.url) for link in find_related_links(html, base)}
        result.pages += 1
        result.pages_with_box += bool(expected)
        result.labelled += len(expected)
        result.found += len(got)
        result.correct += len(expected & got)
        if expected - got:
            result.misses[page] = sorted(expected - got)
        if got - expected:
            result.extras[page] = sorted(got - expected)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=[], help="tune, test, extra (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and extras")
    args = parser.parse_args()
    if not PAGES.is_dir():
        print(f"{PAGES} is absent: no real pages to measure on", file=sys.stderr)
        return 1
    for name in args.sets or ["tune", "test", "extra"]:
        path = LABELS[name]
        if not path.is_file():
            print(f"{name}: {path} is absent")
            continue
        s = score(path, EXTRA_PAGES if name == "extra" else PAGES)
        print(
            f"{name}: {s.pages} pages ({s.pages_with_box} with a related box), "
            f"{s.labelled} labelled links, {s.found} found, {s.correct} right: "
            f"precision {s.precision:.3f}, recall {s.recall:.3f}"
        )
        if args.verbose:
            for page in sorted(set(s.misses) | set(s.extras)):
                for url in s.misses.get(page, []):
                    print(f"  {page}: missed {url}")
                for url in s.extras.get(page, []):
                    print(f"  {page}: extra  {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
