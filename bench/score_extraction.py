"""Body and metadata accuracy of tuinews's stored article against bare trafilatura, on real pages.

Usage::

    python bench/score_extraction.py --expected-dir /work/scratch/readability-expected
    python bench/score_extraction.py --expected-dir DIR --systems tuinews,bare,readability
    python bench/score_extraction.py --expected-dir DIR --per-page out.tsv

Page sets (all from ``../shared/data/pages/readability``, resolved from the repository):

* ``readability-real``: the 94 real pages (``source.html`` of 8 KB or more; the other 36 are
  Readability.js's small synthetic fixtures such as ``ol`` or ``replace-brs``), split into
  ``TUNE`` and ``TEST`` as ``/work/labels/SPLIT.md`` defines it (folders sorted by name, 1-based
  line n: n % 3 == 1 is TUNE). Expected text: ``<name>/expected.html`` under ``--expected-dir``
  (see bench/README.md for where those files come from).
* ``readability-all``: all 130 pages, the same way.
* ``labelled``: our own labels (``bench/labels/bodies.json``): for each page a CSS selector of
  the article body and selectors of what to leave out of it; the expected text is derived from
  ``source.html`` at run time, so the labels hold no article text.

Scoring, as article-extraction benchmarks do it (bag of words): both texts are lowercased
(``str.casefold`` after NFKC), split into word tokens with the regex ``\\w+`` (so punctuation
and Markdown syntax characters are dropped; CJK runs count as one token each), and compared as
multisets: precision = |common| / |extracted|, recall = |common| / |expected|, F1 their harmonic
mean, per page; a page set's figure is the mean over its pages (a page where a system finds
nothing scores 0). tuinews's Markdown is turned into the text a reader sees before scoring
(rendered by markdown-it-py; link targets and image links dropped, link text kept): the same
for every Markdown output; bare trafilatura is scored on its default plain-text output.

Metadata (``expected-metadata.json``, real pages only, pages where the field is not null): exact
title (whitespace-normalised equality), byline loose (casefolded, punctuation and a leading
"by" removed, one contains the other), day (the UTC date of ``publishedTime``).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
DATA = REPO.parent / "shared" / "data" / "pages" / "readability"
LABELS = REPO / "bench" / "labels" / "bodies.json"
PAGE_URL = "http://fakehost/test/page.html"
REAL_MIN_BYTES = 8000

_TOKEN = re.compile(r"\w+")


# ------------------------------------------------------------------------------------------
# Tokens and scores
# ------------------------------------------------------------------------------------------


def tokens(text: str) -> Counter[str]:
    """The bag of word tokens of ``text`` (see the module docstring)."""
    return Counter(_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()))


@dataclass
class Score:
    precision: float
    recall: float
    f1: float


def score(got: str, expected: str) -> Score:
    g, e = tokens(got), tokens(expected)
    common = sum((g & e).values())
    if not common:
        return Score(0.0, 0.0, 0.0)
    p, r = common / sum(g.values()), common / sum(e.values())
    return Score(p, r, 2 * p * r / (p + r))


_BLOCK_TAGS = {
    "p", "div", "section", "article", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "table", "tr", "td", "th", "figure", "figcaption", "br", "dd", "dt",
}  # fmt: skip


def html_text(element: object) -> str:
    """Visible text of an lxml element, blocks separated (no script/style/img alt)."""
    from lxml import etree

    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "noscript", "template"):
            if el.tail:
                parts.append(el.tail)
            return
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        if el.text and isinstance(el.tag, str):
            parts.append(el.text)
        for child in el:
            walk(child)
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    walk(element)  # type: ignore[arg-type]
    return re.sub(r"[ \t]*\n\s*", "\n", "".join(parts)).strip()


def markdown_text(markdown: str) -> str:
    """The text a reader sees of a Markdown document: rendered, link targets and images gone."""
    import lxml.html
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(markdown)
    if not html.strip():
        return ""
    tree = lxml.html.fromstring(f"<div>{html}</div>")
    for img in tree.iter("img"):
        img.drop_tree() if img.getparent() is not None else None
    return html_text(tree)


# ------------------------------------------------------------------------------------------
# Pages
# ------------------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    html: str
    expected: str
    part: str  # "TUNE" or "TEST"
    real: bool
    meta: dict[str, object] = field(default_factory=dict)


def split_parts(names: list[str]) -> dict[str, str]:
    """TUNE / TEST as /work/labels/SPLIT.md defines it (C-locale sort, n % 3 == 1 -> TUNE)."""
    ordered = sorted(names, key=lambda n: n.encode())
    return {n: ("TUNE" if i % 3 == 1 else "TEST") for i, n in enumerate(ordered, start=1)}


def readability_pages(expected_dir: Path) -> list[Page]:
    folders = [p for p in DATA.iterdir() if (p / "source.html").is_file()]
    parts = split_parts([p.name for p in folders])
    pages = []
    missing = []
    for folder in sorted(folders):
        expected_file = expected_dir / folder.name / "expected.html"
        if not expected_file.is_file():
            missing.append(folder.name)
            continue
        import lxml.html

        raw = expected_file.read_text(encoding="utf-8")
        expected = html_text(lxml.html.fromstring(raw)) if raw.strip() else ""
        source = folder / "source.html"
        meta_file = folder / "expected-metadata.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        pages.append(
            Page(
                folder.name,
                source.read_text(encoding="utf-8", errors="replace"),
                expected,
                parts[folder.name],
                source.stat().st_size >= REAL_MIN_BYTES,
                meta,
            )
        )
    if missing:
        print(f"warning: no expected.html for {len(missing)} pages: {missing[:5]}...")
    return pages


def labelled_pages() -> list[Page]:
    """Our own labels: the expected body is derived from source.html by CSS selectors."""
    import lxml.html
    from lxml.cssselect import CSSSelector

    if not LABELS.is_file():
        return []
    labels = json.loads(LABELS.read_text(encoding="utf-8"))
    folders = [p.name for p in DATA.iterdir() if (p / "source.html").is_file()]
    parts = split_parts(folders)
    pages = []
    for entry in labels["pages"]:
        html = (DATA / entry["page"] / "source.html").read_text(encoding="utf-8", errors="replace")
        pages.append(
            Page(
                entry["page"],
                html,
                labelled_text(html, entry["body"], entry.get("exclude", [])),
                parts[entry["page"]],
                True,
            )
        )
    del CSSSelector, lxml
    return pages


def labelled_text(html: str, body: list[str], exclude: list[str]) -> str:
    """The expected text of a labelled page: the body selectors' elements (in document order,
    nested matches once), minus the excluded selectors' elements."""
    import lxml.html
    from lxml.cssselect import CSSSelector

    tree = lxml.html.fromstring(html)
    for selector in exclude:
        for el in CSSSelector(selector)(tree):
            if el.getparent() is not None:
                el.drop_tree()
    chosen: list[object] = []
    for selector in body:
        for el in CSSSelector(selector)(tree):
            if not any(el in set(c.iterancestors()) or el is c for c in chosen):  # type: ignore[attr-defined]
                chosen = [c for c in chosen if el not in set(c.iterancestors())]  # type: ignore[attr-defined]
                chosen.append(el)
    if not chosen:
        raise SystemExit(f"a label matches nothing: {body}")
    order = {el: i for i, el in enumerate(tree.iter())}
    chosen.sort(key=lambda el: order.get(el, 0))  # type: ignore[arg-type]
    return "\n".join(html_text(el) for el in chosen)


# ------------------------------------------------------------------------------------------
# Systems
# ------------------------------------------------------------------------------------------


@dataclass
class Output:
    text: str
    title: str | None = None
    author: str | None = None
    day: str | None = None
    seconds: float = 0.0
    note: str = ""
    title_repeated: bool = False
    """The body opens (first blocks before a real paragraph) with the title again."""


def run_bare(html: str) -> Output:
    import trafilatura

    text = trafilatura.extract(html, url=PAGE_URL) or ""
    meta = trafilatura.extract_metadata(html, default_url=PAGE_URL)
    return Output(
        text,
        meta.title if meta else None,
        meta.author if meta else None,
        (meta.date or None) if meta else None,
    )


def run_tuinews(html: str) -> Output:
    from tuinews.core.errors import ExtractError
    from tuinews.core.extract import extract_page
    from tuinews.core.text import drop_leading_title

    start = time.perf_counter()
    try:
        article = extract_page(html.encode("utf-8"), "text/html; charset=utf-8", PAGE_URL)
    except ExtractError as exc:
        return Output("", seconds=time.perf_counter() - start, note=exc.message)
    seconds = time.perf_counter() - start  # the extraction only, not the scoring's rendering
    day = article.published.astimezone(UTC).date().isoformat() if article.published else None
    note = getattr(article, "extractor", "") or ""
    text = markdown_text(article.markdown)
    out = Output(text, article.title, article.author, day, seconds, note)
    out.title_repeated = drop_leading_title(article.markdown, article.title) != article.markdown
    return out


def run_readability(html: str) -> Output:
    import lxml.html
    from readability import Document  # readability-lxml

    doc = Document(html)
    summary = doc.summary(html_partial=True)
    return Output(html_text(lxml.html.fromstring(summary)) if summary.strip() else "", doc.title())


def run_traf_readability(html: str) -> Output:
    """trafilatura's own port of readability-lxml (``trafilatura.readability_lxml``)."""
    import lxml.html
    from trafilatura.readability_lxml import Document
    from trafilatura.utils import load_html

    tree = load_html(html)
    summary = Document(tree).summary() if tree is not None else ""
    return Output(html_text(lxml.html.fromstring(summary)) if summary.strip() else "")


def run_justext(html: str) -> Output:
    import justext

    paras = justext.justext(html.encode("utf-8"), justext.get_stoplist("English"))
    return Output("\n".join(p.text for p in paras if not p.is_boilerplate))


def run_goose(html: str) -> Output:
    from goose3 import Goose

    with Goose({"enable_image_fetching": False}) as g:
        article = g.extract(raw_html=html)
    return Output(article.cleaned_text or "", article.title, ", ".join(article.authors) or None)


SYSTEMS: dict[str, Callable[[str], Output]] = {
    "tuinews": run_tuinews,
    "bare": run_bare,
    "readability": run_readability,
    "traf-readability": run_traf_readability,
    "justext": run_justext,
    "goose3": run_goose,
}


# ------------------------------------------------------------------------------------------
# Metadata checks
# ------------------------------------------------------------------------------------------


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _loose(text: str | None) -> str:
    value = " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text or "").casefold()))
    return re.sub(r"^by ", "", value)


def title_ok(got: str | None, expected: str) -> bool:
    return _norm(got) == _norm(expected)


def byline_ok(got: str | None, expected: str) -> bool:
    g, e = _loose(got), _loose(expected)
    return bool(g) and bool(e) and (g in e or e in g)


def day_ok(got: str | None, expected: str) -> bool:
    try:
        want = datetime.fromisoformat(expected.replace("Z", "+00:00"))
    except ValueError:
        return False
    want_day = (want.astimezone(UTC) if want.tzinfo else want).date().isoformat()
    return bool(got) and got[:10] == want_day


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--expected-dir",
        type=Path,
        required=True,
        help="folder with <name>/expected.html for the readability pages",
    )
    parser.add_argument("--systems", default="tuinews,bare")
    parser.add_argument("--per-page", type=Path, help="write per-page F1 to this TSV")
    parser.add_argument("--only", help="comma-separated page names")
    args = parser.parse_args()
    systems = args.systems.split(",")

    readability = readability_pages(args.expected_dir)
    labelled = labelled_pages()
    if args.only:
        wanted = set(args.only.split(","))
        readability = [p for p in readability if p.name in wanted]
        labelled = [p for p in labelled if p.name in wanted]

    results: dict[tuple[str, str, str], tuple[Score, Output]] = {}
    for system in systems:
        run = SYSTEMS[system]
        run(readability[0].html)  # imports and caches outside the timings
        for setname, pages in (("readability", readability), ("labelled", labelled)):
            for page in pages:
                start = time.perf_counter()
                try:
                    out = run(page.html)
                except Exception as exc:  # a competitor failing on a page scores 0 there
                    out = Output("", note=f"error: {exc!r}"[:80])
                if not out.seconds:
                    out.seconds = time.perf_counter() - start
                results[(system, setname, page.name)] = (score(out.text, page.expected), out)

    def table(setname: str, pages: list[Page], label: str) -> None:
        groups = {
            f"{label} all ({len(pages)})": pages,
            f"{label} TUNE": [p for p in pages if p.part == "TUNE"],
            f"{label} TEST": [p for p in pages if p.part == "TEST"],
        }
        print("\n| pages | n | " + " | ".join(f"{s} P / R / F1" for s in systems) + " |")
        print("|---|---|" + "---|" * len(systems))
        for group, members in groups.items():
            if not members:
                continue
            cells = []
            for s in systems:
                scores = [results[(s, setname, p.name)][0] for p in members]
                cells.append(
                    f"{100 * statistics.mean(x.precision for x in scores):.1f} / "
                    f"{100 * statistics.mean(x.recall for x in scores):.1f} / "
                    f"**{100 * statistics.mean(x.f1 for x in scores):.2f}**"
                )
            print(f"| {group} | {len(members)} | " + " | ".join(cells) + " |")

    real = [p for p in readability if p.real]
    print(f"# Body scores ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC), mean per page, in %")
    table("readability", real, "readability real")
    table("readability", readability, "readability every page")
    if labelled:
        table("labelled", labelled, "our labels")

    print("\n# Metadata on the real readability pages (page only, no feed entry)")
    print("| system | title exact | byline loose | day |")
    print("|---|---|---|---|")
    for s in systems:
        counts = {"title": [0, 0], "byline": [0, 0], "day": [0, 0]}
        for page in real:
            out = results[(s, "readability", page.name)][1]
            checks = (
                ("title", page.meta.get("title"), title_ok, out.title),
                ("byline", page.meta.get("byline"), byline_ok, out.author),
                ("day", page.meta.get("publishedTime"), day_ok, out.day),
            )
            for key, want, check, got in checks:
                if isinstance(want, str) and want.strip():
                    counts[key][1] += 1
                    counts[key][0] += check(got, want)
        print(
            f"| {s} | "
            + " | ".join(f"{c[0]}/{c[1]} = {c[0] / max(1, c[1]):.3f}" for c in counts.values())
            + " |"
        )

    repeated = [
        p.name for p in real if results[(systems[0], "readability", p.name)][1].title_repeated
    ]
    print(
        f"\n{systems[0]}: the body repeats the title at its top on {len(repeated)} of {len(real)} real pages {repeated}"
    )

    print("\n# Time per page (ms, median over every readability page; extraction only, and")
    print("# for bare trafilatura extract() plus extract_metadata(); noisy, see bench_extract)")
    for s in systems:
        times = [results[(s, "readability", p.name)][1].seconds for p in readability]
        print(f"- {s}: {1000 * statistics.median(times):.1f}")

    if args.per_page:
        with args.per_page.open("w", encoding="utf-8") as handle:
            handle.write("set\tpage\tpart\treal\t" + "\t".join(systems) + "\tnote\n")
            for setname, pages in (("readability", readability), ("labelled", labelled)):
                for p in pages:
                    f1s = [f"{100 * results[(s, setname, p.name)][0].f1:.1f}" for s in systems]
                    note = results[(systems[0], setname, p.name)][1].note
                    handle.write(f"{setname}\t{p.name}\t{p.part}\t{p.real}\t")
                    handle.write("\t".join(f1s) + f"\t{note}\n")


if __name__ == "__main__":
    main()
