"""The site's preflight (``egressctl check``) in the TUI: the same checks, the same words, on demand.

Opened from the site screen (``c``). The check reads every device over a read-only session and runs one
probe per vantage point, so it runs in a thread worker and only when asked; ``r`` runs it again. Failures
come first, then warnings: at 80x24 only a few rows are visible and those must be the ones to act on.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from egressctl.tui.backend import Doc
from egressctl.tui.format import content, plain
from egressctl.tui.messages import Loaded

RESULT = {"fail": "[b red]FAIL[/b red]", "warn": "[yellow]warn[/yellow]", "ok": "[green]ok[/green]"}
ORDER = {"fail": 0, "warn": 1, "ok": 2}


def check_rows(doc: Doc) -> list[tuple[str, str, str, str]]:
    """(result, subject, check, detail) of every check, failures first, then warnings, then the rest."""
    rows = [(str(c.get("status", "")), str(s.get("name", "")), str(c.get("name", "")),
             str(c.get("detail", ""))) for s in doc.get("subjects", []) for c in s.get("checks", [])]
    return sorted(rows, key=lambda r: ORDER.get(r[0], 3))


def effect_lines(doc: Doc) -> list[str]:
    """``device: what its dead-man switch does when it fires``, per device."""
    return [f"{s.get('name')}: {s.get('info', {}).get('safety_net_effect') or '-'}"
            for s in doc.get("subjects", []) if s.get("kind") == "device"]


class ChecksScreen(Screen[None]):
    """Every check of one site, with what each device's safety net does when it fires."""

    BINDINGS = [Binding("r", "refresh", "Check again"), Binding("escape", "back", "Back")]

    def __init__(self, site: str) -> None:
        super().__init__()
        self.site = site
        self.doc: Doc = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("checking (devices read-only, one probe per vantage point)...", id="check-summary")
        yield DataTable(id="checks", cursor_type="row", zebra_stripes=True)
        yield Static("", id="check-effects")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"egressctl - {self.site} - check"
        self.query_one("#checks", DataTable).add_columns("Result", "Subject", "Check", "Detail")
        self.query_one("#checks", DataTable).focus()
        self.action_refresh()

    @work(thread=True, exclusive=True, group="site-check")
    def action_refresh(self) -> None:
        """Run the check in a worker (it takes about as long as the slowest device)."""
        try:
            self.post_message(Loaded("check", self.app.backend.check(self.site)))  # type: ignore[attr-defined]
        except Exception as exc:
            self.post_message(Loaded("error", {"error": str(exc)}))

    def on_loaded(self, message: Loaded) -> None:
        summary = self.query_one("#check-summary", Static)
        if message.what == "error":
            summary.update(content((f"check failed to run: {message.doc['error']}", "bold red")))
            return
        self.doc = message.doc
        status = str(self.doc.get("status", ""))
        style = {"fail": "bold red", "warn": "yellow"}.get(status, "green")
        summary.update(content((str(self.doc.get("summary", "")), style),
                               f"  ({float(self.doc.get('elapsed_s', 0)):.1f} s)"))
        table = self.query_one("#checks", DataTable)
        table.clear()
        for result, subject, name, detail in check_rows(self.doc):
            table.add_row(RESULT.get(result, plain(result)), plain(subject), plain(name), plain(detail))
        effects = effect_lines(self.doc)
        self.query_one("#check-effects", Static).update(
            content(("If a dead-man switch fires: ", "bold"), "; ".join(effects)) if effects else "")

    def action_back(self) -> None:
        self.app.pop_screen()
