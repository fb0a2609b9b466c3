"""Golden tests: every sample page in sample_articles/ against its expected extraction.

Body similarity uses difflib.SequenceMatcher's ratio on whitespace-normalised text (with
autojunk off). Unlike a token-set measure it is order-sensitive, so it also catches
paragraphs that come out twice or in the wrong place, and a dropped paragraph costs exactly
its share of the text. The pages are a few thousand characters, so it stays fast (measured:
every sample >= 0.998).
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from tuinews.core.extract import extract_article
from tuinews.core.related_links import find_related_links

SAMPLES = Path(__file__).resolve().parents[2] / "sample_articles"
GOLDEN = SAMPLES / "golden"
MIN_SIMILARITY = 0.9


def golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.json")) if GOLDEN.is_dir() else []


def load(path: Path) -> tuple[dict[str, Any], str]:
    golden = json.loads(path.read_text(encoding="utf-8"))
    page = SAMPLES / "pages" / golden["site"] / f"{path.stem}.html"
    return golden, page.read_text(encoding="utf-8")


def normalise(text: str) -> str:
    return " ".join(text.split())


def comment_snippets(html: str) -> list[str]:
    """Texts of the reader comments on a page (the containers whose id/class says so)."""
    tree = lxml.html.fromstring(html)
    snippets = []
    for el in tree.iter():
        attrs = f"{el.get('id', '')} {el.get('class', '')}"
        if isinstance(el.tag, str) and re.search(r"\bcomments\b|comments-area", attrs):
            # The innermost text blocks: one comment's text, not author+time+text run together.
            for block in el.iter("p", "div", "blockquote"):
                innermost = block.find(".//p") is None and block.find(".//div") is None
                if innermost and len(text := normalise(block.text_content())) >= 25:
                    snippets.append(text)
    return snippets


pytestmark = pytest.mark.skipif(
    not golden_files(),
    reason="sample_articles/golden/ is absent (build it with tools/build_samples.py)",
)


@pytest.fixture(params=golden_files(), ids=lambda p: p.stem)
def golden_case(request: pytest.FixtureRequest) -> tuple[dict[str, Any], str]:
    return load(request.param)


def test_golden_metadata(golden_case: tuple[dict[str, Any], str]) -> None:
    golden, html = golden_case
    article = extract_article(html, golden["url"])
    assert article.title == golden["title"]
    assert article.author == golden["author"]
    assert article.published == datetime.fromisoformat(golden["published"])
    if golden.get("site_name"):
        assert article.site_name == golden["site_name"]


def test_golden_body_text(golden_case: tuple[dict[str, Any], str]) -> None:
    golden, html = golden_case
    article = extract_article(html, golden["url"])
    expected, got = normalise(golden["text"]), normalise(article.text)
    ratio = difflib.SequenceMatcher(None, expected, got, autojunk=False).ratio()
    assert ratio >= MIN_SIMILARITY, f"similarity {ratio:.3f}"
    comments = comment_snippets(html)
    assert comments, "the sample page should carry reader comments"
    for snippet in comments:
        assert snippet not in got, f"comment text in the article: {snippet!r}"
        assert snippet not in article.markdown


def test_golden_related_links(golden_case: tuple[dict[str, Any], str]) -> None:
    golden, html = golden_case
    expected = [link["url"] for link in golden["related_links"]]
    found = find_related_links(html, golden["url"])
    assert [link.url for link in found] == expected
    titles = {link["url"]: link.get("title") for link in golden["related_links"]}
    for link in found:
        if titles[link.url]:
            assert link.title == titles[link.url]
    # extract_article fills the same list.
    assert [link.url for link in extract_article(html, golden["url"]).related_links] == expected


def test_golden_covers_every_sample_page() -> None:
    pages = {p.stem for p in (SAMPLES / "pages").glob("*/*.html")}
    assert pages == {p.stem for p in golden_files()}
