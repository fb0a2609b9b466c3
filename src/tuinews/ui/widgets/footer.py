"""The footer: the keys of what has the focus. On a narrow screen only the essential ones, so
Quit and ``? Keys`` never fall off the right edge (``?`` lists everything else)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

NARROW_ACTIONS = frozenset(
    {
        "select",  # Enter: open the story (or the related item, the feed)
        "next_story",
        "next_unread",
        "search",
        "quit",
        "help",
        "command_palette",
    }
)
"""The actions the footer still shows on a narrow screen."""
TINY_ACTIONS = frozenset({"select", "search", "quit", "help", "command_palette"})
"""...and on a very narrow one (under :data:`TINY_WIDTH` columns)."""
TINY_WIDTH = 70


class ReaderFooter(Footer):
    """Textual's footer, with a shorter set of keys when :attr:`narrow`."""

    narrow: reactive[bool] = reactive(False, recompose=True)
    """Show only :data:`NARROW_ACTIONS`."""

    def compose(self) -> ComposeResult:
        shown = 0
        keep = TINY_ACTIONS if self.app.size.width < TINY_WIDTH else NARROW_ACTIONS
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "-command-palette" not in widget.classes:
                if self.narrow and widget.action not in keep:
                    continue
                shown += 1
            yield widget
        if shown:
            self.styles.grid_size_columns = shown
