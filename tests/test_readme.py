"""The README's screen matches the samples a fresh install loads (issue 17: it said "All (39)"
where a fresh start shows 40). ``python tools/readme_screen.py`` rewrites it from tmux."""

from __future__ import annotations

import re
from pathlib import Path

from tuinews.core.feeds import parse_feed
from tuinews.core.samples import sample_feeds, sample_file

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_screen_shows_the_counts_of_a_fresh_install() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- screen -->", 1)[1].split("<!-- /screen -->", 1)[0]
    per_feed = {}
    for feed in sample_feeds():
        data = sample_file(feed.url)
        assert data is not None, feed.url
        parsed = parse_feed(data, url=feed.url)
        per_feed[parsed.title or feed.title] = len(parsed.entries)
    total = sum(per_feed.values())
    caption = re.search(r"\((\d+) stories in (\d+) feeds.*?\((\d+) read, (\d+) unread\)", block)
    assert caption, block[:400]
    stories, feeds, read, unread = map(int, caption.groups())
    assert (stories, feeds) == (total, len(per_feed))
    assert read + unread == total
    # The screen itself: All and Unread count what is unread after opening one story.
    assert f"All ({unread})" in block and f"Unread ({unread})" in block
    # The status line counts rows: one per event, so reports folded into another row leave
    # the count (and a folded row says "+N source(s)").
    rows = re.search(r"\d+/(\d+) · All", block)
    assert rows, block[-400:]
    assert 0 < int(rows.group(1)) <= total
    if int(rows.group(1)) < total:
        assert re.search(r"\+\d+ sources?", block)
