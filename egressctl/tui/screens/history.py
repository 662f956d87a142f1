"""The site's journal, filterable, with the audit chain's check result."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from egressctl.tui.backend import Doc
from egressctl.tui.format import age, content, get, plain
from egressctl.tui.messages import Loaded


class HistoryScreen(Screen[None]):
    """Journal entries of one site, newest at the bottom."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("slash", "focus_filter", "Filter")]

    def __init__(self, site: str) -> None:
        super().__init__()
        self.site = site
        self.entries: list[Doc] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("checking the audit chain...", id="chain")
        yield Input(placeholder="filter (device, event, text)", id="history-filter")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"egressctl - {self.site} - history"
        self.query_one("#history", DataTable).add_columns("Age", "Operation", "Event", "Device", "Detail")
        self.query_one("#history", DataTable).focus()
        self._load()

    @work(thread=True, exclusive=True, group="history")
    def _load(self) -> None:
        backend = self.app.backend  # type: ignore[attr-defined]
        try:
            self.post_message(Loaded("history", {"entries": backend.history(self.site)}))
            self.post_message(Loaded("chain", backend.verify_history()))
        except Exception as exc:
            self.post_message(Loaded("chain", {"ok": False, "message": str(exc)}))

    def on_loaded(self, message: Loaded) -> None:
        if message.what == "history":
            self.entries = list(message.doc.get("entries", []))
            self._fill()
        elif message.what == "chain":
            ok = bool(message.doc.get("ok"))
            text = message.doc.get("message", "")
            self.query_one("#chain", Static).update(
                content(("audit chain intact", "green"), f" ({text})")
                if ok
                else content(("AUDIT CHAIN BROKEN", "b red"), f" {text}")
            )

    def _fill(self) -> None:
        needle = self.query_one("#history-filter", Input).value.strip().lower()
        table = self.query_one("#history", DataTable)
        table.clear()
        for e in self.entries:
            row = (
                age(get(e, "at", "ts")),
                str(get(e, "op_id", "operation", default="") or "")[-6:],  # ids start with the date
                str(get(e, "event", "kind", default="")),
                str(get(e, "device", default="") or ""),
                str(get(e, "detail", "message", "summary", "step", default="") or ""),
            )
            if needle and not any(needle in c.lower() for c in row):
                continue
            table.add_row(*(plain(c) for c in row))
        if table.row_count:  # newest at the bottom: start there, as a log viewer does
            table.move_cursor(row=table.row_count - 1, animate=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill()

    def action_focus_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_back(self) -> None:
        self.app.pop_screen()
