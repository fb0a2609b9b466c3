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
    new_stories: reactive[int] = reactive(0)
    """Stories the background refresh brought since the reader last looked at the top."""
    hidden: reactive[int] = reactive(0)
    """Stories of this list the kill-file hides."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def render(self) -> Text:
        text = Text(self.position, no_wrap=True, overflow="ellipsis")
        if self.hidden:
            text.append(f" · {self.hidden:,} hidden by filters", style="dim")
        if self.new_stories:
            noun = "story" if self.new_stories == 1 else "stories"
            text.append(f"  {self.new_stories:,} new {noun}", style="bold")
        if self.activity:
            text.append("  ")
            text.append(self.activity, style="bold")
        if self.sync:
            text.append("  ")
            text.append(self.sync, style="bold red" if "failed" in self.sync else "dim")
        return text
