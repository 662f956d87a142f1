"""The live leak watch: totals, a rate chart, leak flows and the inside hosts still beaconing.

A watch whose capture dropped packets is never shown as clean: drops are stated in red next to the
verdict, because a leak may have been among the dropped packets. Nor is a silent one: each capture point's
``liveness`` (did it see the site's traffic, some of it allowed) is shown under the totals, and a point
that saw none is *not proven live*, whatever the leak count says. Tables are kept in step row by row
(:func:`egressctl.tui.tables.sync_rows`), never rebuilt per update.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Sparkline, Static

from egressctl.tui.backend import Doc
from egressctl.tui.format import content, get, plain
from egressctl.tui.proof import liveness_lines
from egressctl.tui.tables import sync_rows


def _not_live(stats: Doc) -> list[str]:
    """Capture points whose liveness is known and not verified."""
    live = get(stats, "liveness", default={}) or {}
    return [name for name, doc in live.items() if isinstance(doc, dict) and doc.get("status") != "verified"]


def _live_so_far(name: str, doc: Doc) -> tuple[str, str]:
    """A capture point's liveness while the watch runs: counts so far, never a final "unverified"."""
    live = doc.get("status") == "verified"
    counts = f"{doc.get('site_packets', 0)} site packets, {doc.get('allowed_packets', 0)} allowed so far"
    return f"{name}: {counts}: " + ("live" if live else "not proven live yet"), "green" if live else "yellow"


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
    elif not_live := _not_live(stats):
        parts.append(f"[b yellow]no leak seen, but {len(not_live)} capture point(s) not proven live[/]")
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
        yield Static("", id="watch-liveness")
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
        with self.app.batch_update():
            self.query_one("#watch-summary", Static).update(watch_summary(stats, running))
            self._show_liveness(get(stats, "liveness", default={}) or {}, running)
            rate = get(stats, "rate", "pps", default=None)
            if rate is not None:
                self.rates = [*self.rates[-59:], float(rate)]
                self.query_one("#watch-rate", Sparkline).data = self.rates
            self._show_tables(stats)

    def _show_liveness(self, live: Doc, running: bool) -> None:
        """Each capture point's liveness; while running only "not proven yet", the verdict is the report's."""
        if running:
            lines = [_live_so_far(name, doc) for name, doc in live.items() if isinstance(doc, dict)]
        else:
            lines = liveness_lines({name: {"liveness": doc} for name, doc in live.items()})
        box = self.query_one("#watch-liveness", Static)
        box.display = bool(lines)
        box.update(content(*(part for i, (text, style) in enumerate(lines)
                             for part in (("\n" if i else ""), (text, style)))))

    def _show_tables(self, stats: Doc) -> None:
        flows = [
            (str(get(f, "key", default=f"{get(f, 'exit', default='')} {get(f, 'flow', default=f)}")),
             (plain(get(f, "exit", default="")), plain(get(f, "flow", "key", default=f)),
              plain(get(f, "packets", "count", default=""))))
            for f in get(stats, "leak_flows", "flows", default=[]) or []
        ]
        sync_rows(self.query_one("#watch-leaks", DataTable), list(dict(flows).items()))
        beacons = [
            (str(get(b, "host", "src", default="")),
             (plain(get(b, "host", "src", default="")), plain(get(b, "attempts", "count", default="")),
              plain(", ".join(str(x) for x in (get(b, "destinations", "top", default=[]) or [])[:3]))))
            for b in get(stats, "beacons", default=[]) or []
        ]
        sync_rows(self.query_one("#watch-beacons", DataTable), list(dict(beacons).items()))

    def action_back(self) -> None:
        self.app.pop_screen()
