"""The live leak watch: totals, a rate chart, leak flows and the inside hosts still beaconing.

A watch whose capture dropped packets is never shown as clean: drops are stated in red next to the
verdict, because a leak may have been among the dropped packets.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Sparkline, Static

from egressctl.tui.backend import Doc
from egressctl.tui.format import content, get, plain


def watch_summary(stats: Doc, running: bool) -> str:
    """One line saying what the watch saw; never 'clean' when packets were dropped or nothing was seen."""
    packets = int(get(stats, "packets", default=0) or 0)
    leaks = int(get(stats, "leak_packets", "leaks", default=0) or 0)
    drops = int(get(stats, "drops", "kernel_drops", default=0) or 0)
    unverified = int(get(stats, "unverified", default=0) or 0)
    verdict = get(stats, "verdict", default="")
    head = "watching" if running else (f"watch ended ({verdict})" if verdict else "watch ended")
    parts = [f"{head}: {packets} packets, {leaks} leak packets, {unverified} unverified"]
    if drops:
        parts.append(f"[b white on red] {drops} DROPPED BY THE KERNEL: NOT CLEAN [/]")
    elif leaks:
        parts.append("[b white on red] LEAKING [/]")
    elif packets == 0:
        parts.append("[yellow]no traffic seen yet[/yellow]")
    else:
        parts.append("[green]no leak seen, no drops[/green]")
    return "  ".join(parts)


class WatchScreen(Screen[None]):
    """Shows the app's leak watch (the app owns the worker, so leaving this screen never stops it)."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("r", "restart", "Restart")]

    def __init__(self, site: str) -> None:
        super().__init__()
        self.site = site
        self.rates: list[float] = [0.0]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("starting the watch...", id="watch-summary")
        yield Sparkline(self.rates, id="watch-rate")
        with Horizontal(id="watch-tables"):
            with Vertical():
                yield Label("Leak flows", classes="box-title")
                yield DataTable(id="watch-leaks", cursor_type="row")
            with Vertical():
                yield Label("Inside hosts still trying (beacons)", classes="box-title")
                yield DataTable(id="watch-beacons", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"egressctl - {self.site} - watch"
        self.query_one("#watch-leaks", DataTable).add_columns("Exit", "Flow", "Packets")
        self.query_one("#watch-beacons", DataTable).add_columns("Host", "Attempts", "Top destinations")
        app = self.app
        if getattr(app, "watch_site", None) == self.site and getattr(app, "watch_stats", None):
            self.show(app.watch_stats, running=bool(app.watch_running))  # type: ignore[attr-defined]

    def action_restart(self) -> None:
        if getattr(self.app, "watch_running", False):
            self.notify("The watch is still running.")
        else:
            self.app.start_watch(self.site)  # type: ignore[attr-defined]
            self.query_one("#watch-summary", Static).update("starting the watch...")

    def show(self, stats: Doc, running: bool) -> None:
        """Render the running totals (or the final report, or the error that ended the watch)."""
        if "error" in stats:
            self.query_one("#watch-summary", Static).update(
                content(("watch failed:", "b red"), " ", str(stats["error"])))
            return
        self._show(stats, running)

    def _show(self, stats: Doc, running: bool) -> None:
        self.query_one("#watch-summary", Static).update(watch_summary(stats, running))
        rate = get(stats, "rate", "pps", default=None)
        if rate is not None:
            self.rates = [*self.rates[-59:], float(rate)]
            self.query_one("#watch-rate", Sparkline).data = self.rates
        leaks = self.query_one("#watch-leaks", DataTable)
        leaks.clear()
        for f in get(stats, "leak_flows", "flows", default=[]) or []:
            leaks.add_row(
                plain(get(f, "exit", default="")),
                plain(get(f, "flow", "key", default=f)),
                plain(get(f, "packets", "count", default="")),
            )
        beacons = self.query_one("#watch-beacons", DataTable)
        beacons.clear()
        for b in get(stats, "beacons", default=[]) or []:
            dests = get(b, "destinations", "top", default=[]) or []
            beacons.add_row(
                plain(get(b, "host", "src", default="")),
                plain(get(b, "attempts", "count", default="")),
                plain(", ".join(str(x) for x in dests[:3])),
            )

    def action_back(self) -> None:
        self.app.pop_screen()
