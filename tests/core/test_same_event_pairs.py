"""The same-event decision on hand-labelled pairs of real feed stories (issue 13).

The labels (``tests/data/same_event_pairs.json``, by a separate labeller) pair stories of
``../shared/data/feeds/real``; each pair has a ``tune``/``test`` split. Folding only folds
stories of different feeds, and every labelled positive is a pair within one feed (updates
and follow-ups), so two things are checked here: no pair of different feeds is folded at the
threshold the app uses (the 89 labelled cross-feed pairs are all different events), and the
decision finds the same-feed positives of the tune split. The issue's target (precision >= 0.95
at recall >= 0.8) is NOT met on these labels: see ``bench/same_event_pairs.py`` for the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FEEDS = REPO.parent / "shared" / "data" / "feeds" / "real"


@pytest.fixture(scope="module")
def evaluation() -> object:
    if not FEEDS.is_dir():
        pytest.skip("../shared/data is absent (a user's clone): real feeds not available")
    sys.path.insert(0, str(REPO / "bench"))
    from same_event_pairs import evaluate

    from tuinews.core.related import SAME_STORY_THRESHOLD

    return evaluate(SAME_STORY_THRESHOLD)


def test_every_labelled_pair_is_found_in_the_cache(evaluation: dict) -> None:  # type: ignore[type-arg]
    assert evaluation["unmatched"] == 0
    assert evaluation["pairs"] == 335  # 337 labelled, 2 "unsure" left out


def test_no_pair_of_different_feeds_is_folded(evaluation: dict) -> None:  # type: ignore[type-arg]
    for split in ("tune", "test"):
        assert evaluation[split]["cross_feed"]["fp"] == 0, split


def test_the_decision_finds_the_tune_positives(evaluation: dict) -> None:  # type: ignore[type-arg]
    tune = evaluation["tune"]
    assert tune["tp"] + tune["fn"] == 4
    assert tune["recall"] == 1.0
