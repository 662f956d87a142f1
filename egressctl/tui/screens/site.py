"""One site: its devices, its stages (current marked), its last proof and its recent journal."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, OptionList, Static
from textual.widgets.option_list import Option

from egressctl.tui.backend import Doc
from egressctl.tui.format import age, content, countdown, get, plain, state_text, verdict_text
from egressctl.tui.messages import Loaded


class SiteScreen(Screen[None]):
    """Everything about one site on one screen, and the keys that act on it."""

    BINDINGS = [
        Binding("i", "isolate", "Isolate"),
        Binding("n", "restore_next", "Next stage"),
        Binding("s", "restore_selected", "Restore to selected"),
        Binding("f", "restore_full", "Full restore"),
        Binding("v", "verify", "Verify"),
        Binding("w", "watch", "Watch"),
        Binding("h", "history", "History"),
        Binding("c", "check", "Check"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "back", "Sites"),
    ]

    def __init__(self, site: str) -> None:
        super().__init__()
        self.site = site
        self.doc: Doc = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="site-summary")
        with Horizontal(id="site-top"):
            with Vertical(id="devices-box"):
                yield Label("Devices", classes="box-title")
                yield DataTable(id="devices", cursor_type="row", zebra_stripes=True)
            with Vertical(id="stages-box"):
                yield Label("Stages", classes="box-title")
                yield OptionList(id="stages")
        with Horizontal(id="site-bottom"):
            with Vertical(id="matrix-box"):
                yield Label("Last verification", classes="box-title")
                yield DataTable(id="matrix", cursor_type="row")
            with Vertical(id="journal-box"):
                yield Label("Journal", classes="box-title")
                yield DataTable(id="journal", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"egressctl - {self.site}"
        self.query_one("#devices", DataTable).add_columns(
            "Device", "Platform", "Exit", "Reach", "State", "Dead-man", "Safety net"
        )
        self.query_one("#matrix", DataTable).add_columns("", "From", "To", "Expected", "Observed")
        self.query_one("#journal", DataTable).add_columns("Age", "Device", "What")
        self.query_one("#devices", DataTable).focus()
        self.action_refresh()
        self.set_interval(1.0, self._tick)

    def on_screen_resume(self) -> None:
        """Coming back from an operation, a verification or the watch: the site has likely changed.

        Not when a modal it opened is dismissed only to start an operation (its screen is already on top):
        reading every device then would compete with the operation for the devices and the interpreter.
        """
        if self.doc and self.app.screen is self:
            self.action_refresh()

    @work(thread=True, exclusive=True, group="site-status")
    def action_refresh(self) -> None:
        """Read the site's status (it connects to devices read-only) in a worker."""
        try:
            self.post_message(Loaded("site", self.app.backend.site(self.site)))  # type: ignore[attr-defined]
        except Exception as exc:
            self.post_message(Loaded("error", {"error": str(exc)}))

    def on_loaded(self, message: Loaded) -> None:
        if message.what == "error":
            self.query_one("#site-summary", Static).update(content((str(message.doc["error"]), "red")))
            return
        if message.what == "site":
            self.doc = message.doc
            self._show_doc()

    def _show_doc(self) -> None:
        d = self.doc
        ver = get(d, "verification", "last_verification", default={}) or {}
        lock = get(d, "lock_owner", "lock", default=None)
        summary = state_text(get(d, "state"))
        target = str(get(d, "target", default="-"))
        summary.append(f"   target: {target}   " if target not in str(get(d, "state")) else "   ")
        summary.append_text(verdict_text(get(ver, "verdict")))
        if get(ver, "at", "verified_at"):
            summary.append(f" ({age(get(ver, 'at', 'verified_at'))} ago)")
        if lock:
            summary.append(f"   locked by {lock}", style="yellow")
        note = get(d, "explanation", "message", default="")
        if note:
            summary.append(f"\n{note}", style="italic")
        for dev in get(d, "devices", default=[]) or []:
            if get(dev, "error", default=""):
                summary.append(f"\n{get(dev, 'name')} unreachable: {get(dev, 'error')}", style="bold red")
        self.query_one("#site-summary", Static).update(summary)
        self._fill_devices(get(d, "devices", default=[]) or [])
        self._fill_stages()
        self._fill_matrix(ver)
        self._fill_journal(get(d, "journal", "recent", default=[]) or [])

    def _fill_devices(self, devices: list[Doc]) -> None:
        table = self.query_one("#devices", DataTable)
        row = table.cursor_row  # a refresh must not throw the operator's cursor back to the top
        table.clear()
        for dev in devices:
            reach = get(dev, "reachable", default=None)
            table.add_row(
                plain(get(dev, "name", default="?")),
                plain(get(dev, "platform", default="")),
                plain(get(dev, "exit", default="")),
                "-" if reach is None else ("[green]up[/green]" if reach else "[red]DOWN[/red]"),
                state_text(get(dev, "target", "state")),
                self._deadman(dev),
                plain(get(dev, "safety_net", default="")),
                key=str(get(dev, "name", default="?")),
            )
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    @staticmethod
    def _deadman(dev: Doc) -> str:
        if not get(dev, "pending", "pending_commit", default=False):
            return "-"
        deadline = get(dev, "deadline", "pending_deadline", default=None)
        return countdown(deadline) if deadline else "[b yellow]pending[/b yellow]"

    def _fill_stages(self) -> None:
        stages = self.query_one("#stages", OptionList)
        current = str(get(self.doc, "target", default=""))
        stages.clear_options()
        for t in self.targets():
            mark = "> " if t == current else "  "
            stages.add_option(Option(plain(f"{mark}{t}"), id=t))

    def _fill_matrix(self, ver: Doc) -> None:
        table = self.query_one("#matrix", DataTable)
        table.clear()
        rows = get(ver, "matrix", "probes", default=[]) or []
        # failures first: at 80x24 only a few rows are visible, and those must be the ones that matter
        for row in sorted(rows, key=lambda r: bool(get(r, "ok", "pass", default=False))):
            ok = bool(get(row, "ok", "pass", default=False))
            table.add_row(
                "[green]ok[/green]" if ok else "[b red]FAIL[/b red]",
                plain(get(row, "vantage", "vantage_point", "from", default="")),
                plain(get(row, "target", "dst", "to", default="")),
                plain(get(row, "expected", default="")),
                plain(get(row, "observed", "outcome", default="")),
            )

    def _fill_journal(self, entries: list[Doc]) -> None:
        table = self.query_one("#journal", DataTable)
        table.clear()
        # newest first, without lock bookkeeping or the "started" half of each step: the box is small and
        # the history screen has everything
        shown = [
            e
            for e in entries
            if get(e, "status", default="") != "started"
            and not str(get(e, "event", "kind", default="")).startswith("lock-")
        ]
        for e in reversed(shown[-50:]):
            event = str(get(e, "event", "kind", default=""))
            detail = str(get(e, "detail", "message", "step", default="") or "")
            table.add_row(
                age(get(e, "at", "ts")),
                plain(get(e, "device", default="") or ""),
                plain((detail if event == "DeviceStep" else f"{event} {detail}".strip())[:70]),
            )

    def _tick(self) -> None:
        """Refresh dead-man countdowns without touching the devices."""
        devices = get(self.doc, "devices", default=[]) or []
        if any(get(d, "pending", "pending_commit", default=False) for d in devices):
            self._fill_devices(devices)

    def targets(self) -> list[str]:
        """Targets of this site, from the status document (most closed first)."""
        stages = [
            str(get(s, "name", default=s) if isinstance(s, dict) else s)
            for s in get(self.doc, "stages", default=[]) or []
        ]
        return ["isolated", *stages, "normal"]

    def next_target(self) -> str | None:
        """The next more-open target after the current one, or None when already normal."""
        order = self.targets()
        current = str(get(self.doc, "target", default="normal"))
        if current not in order or current == "normal":
            return None
        return order[order.index(current) + 1]

    def _selected_target(self) -> str | None:
        stages = self.query_one("#stages", OptionList)
        if stages.highlighted is None:
            return None
        opt: Any = stages.get_option_at_index(stages.highlighted)
        return str(opt.id) if opt.id else None

    def action_isolate(self) -> None:
        self.app.start_operation(self.site, "isolated")  # type: ignore[attr-defined]

    def action_restore_next(self) -> None:
        target = self.next_target()
        if target is None:
            self.notify("The site is not cut: there is no stage to restore.", severity="warning")
        else:
            self.app.start_operation(self.site, target)  # type: ignore[attr-defined]

    def action_restore_selected(self) -> None:
        target = self._selected_target()
        if target is None:
            self.notify("Highlight a stage in the Stages list first.", severity="warning")
        else:
            self.app.start_operation(self.site, target)  # type: ignore[attr-defined]

    def action_restore_full(self) -> None:
        self.app.start_operation(self.site, "normal")  # type: ignore[attr-defined]

    def action_verify(self) -> None:
        self.app.start_verify(self.site)  # type: ignore[attr-defined]

    def action_watch(self) -> None:
        self.app.open_watch(self.site)  # type: ignore[attr-defined]

    def action_history(self) -> None:
        self.app.open_history(self.site)  # type: ignore[attr-defined]

    def action_check(self) -> None:
        """The site's preflight (``egressctl check``) on a screen of its own (it reads every device)."""
        from egressctl.tui.screens.checks import ChecksScreen

        self.app.push_screen(ChecksScreen(self.site))

    def action_back(self) -> None:
        self.app.pop_screen()
