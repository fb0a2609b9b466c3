"""The status line: what the list holds, and the progress of background work."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class StatusLine(Static):
    """One line at the bottom: the list's position on the left, the work in progress on the
    right. Both are plain text (feed titles and errors come from the web)."""

    position: reactive[str] = reactive("")
    """Where the cursor is ("12/340 · Unread")."""
    activity: reactive[str] = reactive("")
    """Background work ("refreshing 3/12 feeds, 1 failed")."""
    sync: reactive[str] = reactive("")
    """The sync with the account's server: its progress, or its last result or error."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def render(self) -> Text:
        text = Text(self.position, no_wrap=True, overflow="ellipsis")
        if self.activity:
            text.append("  ")
            text.append(self.activity, style="bold")
        if self.sync:
            text.append("  ")
            text.append(self.sync, style="bold red" if "failed" in self.sync else "dim")
        return text
