"""One row per event: fold reports of the same event from different feeds together.

Folding runs after stories are stored, in the background (the app's worker, or
``Service.fold_events``), never while a list is drawn: it looks at the stories it has not seen
yet (``stories.event_checked = 0``), finds other feeds' reports of the same event with the
same-event decision of :mod:`tuinews.core.related` (title candidates from the full-text index,
then the IDF-weighted word-set cosine of title and lead, within a few days), and points each
report at the event's lead (its first report) in ``stories.event_lead``. The story list then
shows one row per lead with "+N sources" (``StoryFilter.folded``), which costs the list one
count on a small partial index, not a pass over the stories.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from .related import SAME_STORY_CANDIDATES, event_candidates, same_story_groups
from .store import Store

FOLD_MAX_AGE = timedelta(days=90)
"""Stories older than this when first seen are not folded: they are not news any more."""
FOLD_BATCH = 400
"""Stories looked at per pass (one transaction each)."""
MAX_EVENT_SIZE = 12
"""A chain of look-alike stories longer than this is left unfolded: one event rarely has
more reports in one cache, and a long chain means a recurring topic, not one event."""


def fold_pass(store: Store, *, now: datetime | None = None, batch: int = FOLD_BATCH) -> int:
    """Fold one batch of the stories not looked at yet. Returns how many it looked at
    (0: nothing left)."""
    now = now or datetime.now(UTC)
    ids = store.stories_to_fold(now - FOLD_MAX_AGE, limit=batch)
    if not ids:
        return 0
    candidates = event_candidates(store, ids, limit=SAME_STORY_CANDIDATES // 4)
    pool = list(dict.fromkeys([*ids, *candidates]))
    groups = same_story_groups(store, pool, focus=ids)
    leads = store.event_leads(pool)
    published = {s.id: s.published for s in store.stories_by_ids(pool)}
    events: dict[int, list[int]] = {}
    for members in groups.values():
        # The events these stories are already in take part whole: a new report joins the
        # event, and two events a new report links become one.
        heads = {leads.get(m, m) for m in members}
        if len(heads | set(members)) > MAX_EVENT_SIZE:
            continue
        lead = min(heads, key=lambda i: (_time(published.get(i)), i))
        events.setdefault(lead, []).extend(sorted((heads | set(members)) - {lead}))
    store.set_events(events, ids)
    return len(ids)


def fold_events(
    store: Store,
    *,
    now: datetime | None = None,
    cancel: threading.Event | None = None,
    batch: int = FOLD_BATCH,
) -> int:
    """Fold every story not looked at yet, batch by batch. Returns how many were looked at."""
    total = 0
    while not (cancel is not None and cancel.is_set()):
        done = fold_pass(store, now=now, batch=batch)
        if not done:
            break
        total += done
    return total


def _time(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("inf")
