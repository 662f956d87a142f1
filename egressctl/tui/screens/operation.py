"""Live progress of one operation: a row per device, a column per step, errors in place.

The operation itself runs in a thread worker owned by the app (so leaving this screen never stops it);
this screen only renders the event stream it is sent.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog, Static

from egressctl.tui.backend import Doc
from egressctl.tui.format import content, get, plain, verdict_text

STEP_COLUMNS = ("connect", "snapshot", "load", "commit", "readback", "mgmt-check", "confirm")
_ALIASES = {"read-state": "connect", "diff": "load", "rollback": "confirm", "done": "confirm"}
_MARK = {
    "started": "[yellow]..[/yellow]",
    "ok": "[green]ok[/green]",
    "failed": "[b red]FAIL[/b red]",
    "skipped": "[dim]skip[/dim]",
}


class OperationScreen(Screen[None]):
    """Progress of the running (or last) operation on a site."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("w", "watch", "Watch the cut")]

    def __init__(self, site: str, target: str, devices: list[str]) -> None:
        super().__init__()
        self.site = site
        self.target = target
        self.devices = devices
        self.finished = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(content(f"{self.site} -> {self.target}: starting"), id="op-title")
        yield DataTable(id="op-devices", cursor_type="row")
        yield RichLog(id="op-log", markup=True, wrap=True, max_lines=500)
        yield Static("", id="op-verdict")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"egressctl - {self.site}"
        table = self.query_one("#op-devices", DataTable)
        table.add_column("Device", key="device")
        for col in STEP_COLUMNS:
            table.add_column(col, key=col)
        table.add_column("Result", key="result")
        for d in self.devices:
            table.add_row(plain(d), *["" for _ in STEP_COLUMNS], "", key=d)

    def _ensure_row(self, device: str) -> None:
        table = self.query_one("#op-devices", DataTable)
        if device not in [r.value for r in table.rows]:
            table.add_row(plain(device), *["" for _ in STEP_COLUMNS], "", key=device)

    def show_event(self, ev: Doc) -> None:
        """Render one engine event (called on the UI thread by the app)."""
        kind = str(get(ev, "event", "kind", default=""))
        log = self.query_one("#op-log", RichLog)
        device = get(ev, "device", default=None)
        if kind == "DeviceStep" and device:
            self._device_step(str(device), ev)
        elif kind == "CommitPending" and device:
            log.write(plain(f"{device}: change live, dead-man armed ({get(ev, 'revert_in')}s)", "yellow"))
        elif kind == "OperationStarted":
            self.query_one("#op-title", Static).update(
                content(f"{self.site} -> {self.target}: running ({get(ev, 'operation', default='')})")
            )
        elif kind == "VerificationDone":
            text = verdict_text(str(get(ev, "verdict", default="")))
            text.append(f"  {get(ev, 'summary', default='')}")
            self.query_one("#op-verdict", Static).update(text)
            log.write(plain(f"verification: {get(ev, 'summary', default='') or get(ev, 'verdict')}"))
        elif kind == "OperationFinished":
            self.show_result(ev)

    def _device_step(self, device: str, ev: Doc) -> None:
        self._ensure_row(device)
        step = str(get(ev, "step", default=""))
        status = str(get(ev, "status", default=""))
        col = _ALIASES.get(step, step)
        table = self.query_one("#op-devices", DataTable)
        detail = str(get(ev, "detail", default="") or "")
        if step == "rollback":
            table.update_cell(
                device,
                "result",
                "[b red]rolled back[/b red]" if status == "ok" else _MARK.get(status, status),
            )
        elif step == "done":
            table.update_cell(
                device, "result", "[green]done[/green]" if status == "ok" else _MARK.get(status, status)
            )
        elif col in STEP_COLUMNS:
            table.update_cell(device, col, _MARK.get(status, status))
        if status == "failed":
            table.update_cell(device, "result", "[b red]FAILED[/b red]")
            line = Text.assemble((f"{device} {step}:", "b red"), " ", detail)
            self.query_one("#op-log", RichLog).write(line)
        elif detail and status in ("ok", "skipped"):
            self.query_one("#op-log", RichLog).write(plain(f"{device} {step}: {detail}"))

    def show_result(self, result: Doc) -> None:
        """Show how the operation ended (outcome, resulting state, message)."""
        self.finished = True
        outcome = str(get(result, "outcome", default="?"))
        style = "green" if outcome in ("ok", "noop") else "bold red"
        msg = get(result, "message", "error", default="") or ""
        self.query_one("#op-title", Static).update(
            content(f"{self.site} -> {self.target}: ", (outcome, style),
                    f"  state {get(result, 'state', default='?')}  {msg}")
        )
        ver = get(result, "verification", default=None)
        if isinstance(ver, dict) and get(ver, "verdict"):
            text = verdict_text(str(get(ver, "verdict")))
            text.append(f"  {get(ver, 'summary', default='')}")
            self.query_one("#op-verdict", Static).update(text)

    def action_watch(self) -> None:
        """Watch the upstream links while the devices change (judged against this operation's target)."""
        self.app.open_watch(self.site)  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
