"""The grouping layer between the store and the story list: one row per event.

With folding on, the store lists one row per event (its lead, ``StoryFilter.folded``) and this
layer adds what the list shows on top: the "+2 sources" of a lead (how many other feeds'
reports are folded into it, read from the store once per page of rows, never per frame) and the
reports of an event expanded in place under its row. The list's row numbers are then "visual"
rows: the store's rows with the expanded reports inserted; this layer maps one to the other.
It holds no widget state beyond that, so the list's own drawing stays as it was.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from tuinews.core.models import Story
from tuinews.core.store import Store


@dataclass(slots=True)
class _Expanded:
    """One expanded event: its lead's row in the store's list and its other reports."""

    base: int
    lead: int
    reports: list[Story] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EventRow:
    """What one visual row of the list shows."""

    story: Story
    depth: int = 0
    """0 for a row of the store's list, 1 for a report shown under its expanded event."""
    others: int = 0
    """Other reports folded into this row (0: a story on its own, or folding off)."""
    unread_others: int = 0
    """How many of those are unread."""


class EventRows:
    """Reports folded into each lead, and the events expanded in place.

    Args:
        store: the cache.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._reports: dict[int, list[Story]] = {}
        self._known: set[int] = set()
        self._expanded: list[_Expanded] = []

    # -- folded reports ------------------------------------------------------------------

    def learn(self, stories: Iterable[Story]) -> None:
        """Read the folded reports of a page of rows (one query for the page)."""
        ids = [s.id for s in stories if s.id not in self._known]
        if not ids:
            return
        self._reports.update(self._store.event_members(ids))
        self._known.update(ids)

    def reports(self, lead_id: int) -> list[Story]:
        """The other reports folded into a row (read with its page by :meth:`learn`)."""
        if lead_id not in self._known:
            self.learn([self._store.story(lead_id)])
        return self._reports.get(lead_id, [])

    def forget(self) -> None:
        """Drop what was read (after a refresh, a folding pass or a change of marks)."""
        self._reports.clear()
        self._known.clear()

    def mark(self, story_id: int, **changes: Any) -> None:
        """Change the marks of a report held here (a row opened from an expanded event)."""
        for reports in self._reports.values():
            for i, report in enumerate(reports):
                if report.id == story_id:
                    reports[i] = replace(report, **changes)
        for event in self._expanded:
            for i, report in enumerate(event.reports):
                if report.id == story_id:
                    event.reports[i] = replace(report, **changes)

    # -- expansion -----------------------------------------------------------------------

    @property
    def extra_rows(self) -> int:
        """Rows the expanded events add to the store's list."""
        return sum(len(e.reports) for e in self._expanded)

    def is_expanded(self, lead_id: int) -> bool:
        return any(e.lead == lead_id for e in self._expanded)

    def expand(self, lead_id: int, base: int) -> int:
        """Show an event's reports under its row (``base``: the row in the store's list).
        Returns how many rows it added."""
        if self.is_expanded(lead_id):
            return 0
        reports = list(self.reports(lead_id))
        if not reports:
            return 0
        bisect.insort(self._expanded, _Expanded(base, lead_id, reports), key=lambda e: e.base)
        return len(reports)

    def collapse(self, lead_id: int) -> int:
        """Fold an expanded event back into its row. Returns how many rows it removed."""
        for i, event in enumerate(self._expanded):
            if event.lead == lead_id:
                del self._expanded[i]
                return len(event.reports)
        return 0

    def collapse_all(self) -> None:
        self._expanded.clear()

    def rebase(self, index_of: dict[int, int | None]) -> None:
        """After the store's list changed: put each expanded event at its lead's new row, and
        fold back those whose lead left the list."""
        kept = []
        for event in self._expanded:
            base = index_of.get(event.lead)
            if base is not None:
                event.base = base
                event.reports = list(self.reports(event.lead))
                if event.reports:
                    kept.append(event)
        kept.sort(key=lambda e: e.base)
        self._expanded = kept

    @property
    def expanded_leads(self) -> list[int]:
        return [e.lead for e in self._expanded]

    # -- row numbers ---------------------------------------------------------------------

    def locate(self, row: int) -> tuple[int, Story | None]:
        """A visual row -> (its row in the store's list, the expanded report it shows or
        None for the store's row itself)."""
        shift = 0
        for event in self._expanded:
            top = event.base + shift
            if row <= top:
                break
            if row <= top + len(event.reports):
                return event.base, event.reports[row - top - 1]
            shift += len(event.reports)
        return row - shift, None

    def visual(self, base: int) -> int:
        """The visual row of a row of the store's list."""
        return base + sum(len(e.reports) for e in self._expanded if e.base < base)

    def visual_of_report(self, story_id: int) -> int | None:
        """The visual row of an expanded report, if it is shown."""
        shift = 0
        for event in self._expanded:
            for i, report in enumerate(event.reports):
                if report.id == story_id:
                    return event.base + shift + 1 + i
            shift += len(event.reports)
        return None

    def row(self, story: Story, report: Story | None) -> EventRow:
        """What a visual row shows: a report under its event, or a row with its count."""
        if report is not None:
            return EventRow(report, depth=1)
        reports = self._reports.get(story.id, [])
        return EventRow(
            story,
            others=len(reports),
            unread_others=sum(1 for r in reports if not r.read),
        )


def sources_suffix(row: EventRow) -> str:
    """The suffix of a folded row: "+2 sources" (what the row hides, in two words)."""
    if not row.others:
        return ""
    return f"+{row.others} source" + ("s" if row.others > 1 else "")
