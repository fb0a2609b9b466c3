"""Modal dialogs. Each one is a ``ModalScreen[T]`` that dismisses with its answer (None when
cancelled); the caller passes a callback to ``push_screen``.
Model: Textualize/frogmouth ``dialogs/yes_no_dialog.py``."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class InputDialog(ModalScreen[str | None]):
    """Ask for one line of text (a feed URL, a search, an export path)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog_cancel")]

    def __init__(
        self,
        title: str,
        *,
        value: str = "",
        placeholder: str = "",
        hint: str = "",
        ok_label: str = "OK",
        dialog_id: str | None = None,
    ) -> None:
        super().__init__(id=dialog_id, classes="dialog-screen")
        self._title = title
        self._value = value
        self._placeholder = placeholder
        self._hint = hint
        self._ok_label = ok_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._title, style="bold"), classes="dialog-title", markup=False)
            yield Input(value=self._value, placeholder=self._placeholder, id="dialog-input")
            if self._hint:
                yield Static(Text(self._hint, style="dim"), classes="dialog-hint", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._ok_label, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def accept(self) -> None:
        value = self.query_one(Input).value.strip()
        self.dismiss(value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Ask a yes/no question; dismisses True for yes."""

    BINDINGS = [
        Binding("escape,n", "no", "No", id="dialog_no"),
        Binding("y", "yes", "Yes", id="dialog_yes"),
    ]

    def __init__(self, question: Text, *, yes_label: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self._question = question
        self._yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._question, classes="dialog-question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._yes_label, variant="error", id="yes")
                yield Button("No", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class HelpDialog(ModalScreen[None]):
    """Every binding of the main screen and the app: keys, description and id (the name to
    use under ``[keys]`` in the config file)."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help_close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self._rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label(Text("Keys", style="bold"), classes="dialog-title", markup=False)
            text = Text()
            width = max((len(k) for k, _, _ in self._rows), default=4)
            for keys, description, binding_id in self._rows:
                text.append(f"{keys:<{width}}  ", style="bold")
                text.append(description)
                text.append(f"  ({binding_id})\n", style="dim")
            text.append(
                '\nRemap any key in config.toml, e.g. [keys] next_story = "j,down".',
                style="dim",
            )
            with VerticalScroll(id="help-scroll"):
                yield Static(text, id="help-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", variant="primary", id="close")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
