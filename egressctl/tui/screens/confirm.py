"""Modal confirmations: a typed site name for cut and restore, a plain yes/no for the second ask.

A typo, Escape or a click outside never confirms: the only way to get ``True`` is typing the exact name
(or pressing the explicit "Yes" button on the yes/no modal). The plan's warnings (established sessions that
survive the cut, a dead-man switch that lives in the controller) sit outside the scrolling plan, right
above the name prompt: an operator cannot type the name without having them in front of their eyes.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from egressctl.tui.format import content


def _warning_lines(warnings: list[str]) -> Content:
    """One ``!! warning`` line each (plain text: device words are never markup)."""
    parts: list[str | tuple[str, str]] = []
    for i, warning in enumerate(warnings):
        parts += ["\n" if i else "", ("!! ", "b"), warning]
    return content(*parts)


class TypedConfirm(ModalScreen[bool]):
    """Show what will happen and require the site's name typed exactly."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#confirm-input"  # focused as the modal activates, so the first typed letter is not lost

    def __init__(self, title: str, body: str, expected: str, warnings: Sequence[str] = ()) -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._expected = expected
        self._warnings = list(warnings)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self._title, id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(self._body, markup=False)
            if self._warnings:
                yield Static(_warning_lines(self._warnings), id="confirm-warnings")
            yield Label(content("Type the site name (", (self._expected, "b"), ") to confirm:"))
            yield Input(placeholder="type the site name here", id="confirm-input")
            yield Label("", id="confirm-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Confirm", variant="error", id="ok")
                yield Button("Cancel", id="cancel")

    def _try(self) -> None:
        value = self.query_one("#confirm-input", Input).value.strip()
        if value == self._expected:
            self.dismiss(True)
        else:
            self.query_one("#confirm-error", Label).update(
                content((f"'{value}' is not '{self._expected}': nothing was started.", "red"))
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._try()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._try()
        else:
            self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)


class YesNo(ModalScreen[bool]):
    """A plain second confirmation; the default focus is on "No"."""

    BINDINGS = [Binding("escape", "no", "No"), Binding("y", "yes", "Yes", show=False)]
    AUTO_FOCUS = "#no"

    def __init__(self, question: str) -> None:
        super().__init__()
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(content(self._question), id="dialog-title")
            with Horizontal(id="dialog-buttons"):
                yield Button("Yes", variant="error", id="yes")
                yield Button("No", variant="primary", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
