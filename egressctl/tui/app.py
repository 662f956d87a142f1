"""The incident TUI: one app, built by one factory, over the same engine the CLI uses.

Every blocking call (journal reads, device sessions, packets) runs in a thread worker and comes back as a
typed message, so the screen never freezes. Operations are started only after a modal that shows the plan
and requires the site's name typed exactly; a full restore asks a second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from egressctl.tui.backend import Backend, Doc
from egressctl.tui.format import get, plan_text
from egressctl.tui.messages import EngineEvent, Loaded, OperationDone, WatchDone, WatchUpdate
from egressctl.tui.screens.confirm import TypedConfirm, YesNo
from egressctl.tui.screens.history import HistoryScreen
from egressctl.tui.screens.operation import OperationScreen
from egressctl.tui.screens.site import SiteScreen
from egressctl.tui.screens.sites import SitesScreen
from egressctl.tui.screens.watch import WatchScreen

QUIT_WARNING = (
    "An operation is running on {site}.\n\n"
    "Quitting stops it the way Ctrl-C stops the CLI: no further device is committed; devices already "
    "changing finish their step (confirm, or roll back) and the TUI exits when they have. A change left "
    "unconfirmed reverts by its device's dead-man switch (Junos, IOS, FortiOS, Linux); PAN-OS has none, "
    "so a commit there stays until the next egressctl run rolls it back or confirms it.\n"
    "`egressctl status {site}` explains the state afterwards, and re-running the operation resumes it.\n\n"
    "Stop the operation and quit?"
)


class EgressApp(App[None]):
    """The egressctl TUI."""

    CSS_PATH = "app.tcss"
    TITLE = "egressctl"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("ctrl+c", "quit", "Quit", show=False)]

    def __init__(self, backend: Backend, site: str | None = None, watch_seconds: float = 60.0) -> None:
        super().__init__()
        self.backend = backend
        self.initial_site = site
        self.running_site: str | None = None
        self.running_target: str | None = None
        self.op_screen: OperationScreen | None = None
        self.watch_seconds = watch_seconds
        self.watch_site: str | None = None
        self.watch_running = False
        self.watch_stats: Doc = {}
        self.exit_after_operation = False

    def get_default_screen(self) -> Screen[None]:
        return SitesScreen()

    def on_mount(self) -> None:
        if self.initial_site:
            self.open_site(self.initial_site)

    # ----- navigation ---------------------------------------------------------------------------
    def open_site(self, site: str) -> None:
        """Show one site's screen."""
        self.push_screen(SiteScreen(site))

    def open_history(self, site: str) -> None:
        """Show one site's journal."""
        self.push_screen(HistoryScreen(site))

    def open_watch(self, site: str) -> None:
        """Show the live leak watch of ``site``, starting it unless it already runs there."""
        if not (self.watch_running and self.watch_site == site):
            self.start_watch(site)
        self.push_screen(WatchScreen(site))

    # ----- the leak watch -----------------------------------------------------------------------
    # The watch belongs to the app, not to its screen: the operator leaves it to follow an operation
    # (and comes back) without stopping the capture, exactly like an operation outlives its screen.
    def start_watch(self, site: str) -> None:
        """Start the watch in a worker, against the running operation's target when there is one."""
        if self.watch_running:
            self.notify(f"A watch is already running on {self.watch_site}.", severity="warning")
            return
        target = self.running_target if self.running_site == site else None
        self.watch_site, self.watch_running, self.watch_stats = site, True, {}
        self._watch(site, target)

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def _watch(self, site: str, target: str | None) -> None:
        def forward(stats: Doc) -> None:
            self.post_message(WatchUpdate(stats))

        try:
            report = self.backend.watch(site, self.watch_seconds, forward, target=target)
        except Exception as exc:
            report = {"error": str(exc)}
        self.post_message(WatchDone(report))

    def _stop_watch(self) -> None:
        """Quitting stops the watch (its capture agents too) instead of leaving it to run out."""
        stop = getattr(self.backend, "stop_watch", None)
        if self.watch_running and stop is not None:
            stop()

    def _watch_screens(self) -> list[WatchScreen]:
        return [s for s in self.screen_stack if isinstance(s, WatchScreen) and s.site == self.watch_site]

    def on_watch_update(self, message: WatchUpdate) -> None:
        self.watch_stats = message.stats
        for screen in self._watch_screens():
            screen.show(message.stats, running=True)

    def on_watch_done(self, message: WatchDone) -> None:
        self.watch_running = False
        self.watch_stats = message.report
        for screen in self._watch_screens():
            screen.show(message.report, running=False)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, SiteScreen):
            yield SystemCommand("Isolate site", "Cut the site off (asks first)", screen.action_isolate)
            yield SystemCommand(
                "Restore next stage", "Open the next stage (asks first)", screen.action_restore_next
            )
            yield SystemCommand(
                "Full restore", "Remove every egressctl rule (asks twice)", screen.action_restore_full
            )
            yield SystemCommand("Verify", "Prove the current state with probes", screen.action_verify)
            yield SystemCommand("Watch", "Live leak watch on the upstream links", screen.action_watch)
            yield SystemCommand("History", "Journal and audit chain", screen.action_history)

    # ----- operations ---------------------------------------------------------------------------
    def start_operation(self, site: str, target: str) -> None:
        """Plan (in a worker), then confirm in a modal, then run: never anything before the confirmation."""
        if self.running_site:
            self.notify(f"An operation is already running on {self.running_site}.", severity="warning")
            return
        self.notify(f"Planning {site} -> {target}...")
        self._plan(site, target)

    @work(thread=True, exclusive=True, group="plan")
    def _plan(self, site: str, target: str) -> None:
        try:
            plan = self.backend.plan(site, target)
        except Exception as exc:
            self.post_message(Loaded("plan-error", {"error": str(exc)}))
            return
        self.post_message(Loaded("plan", {"site": site, "target": target, "plan": plan}))

    def on_loaded(self, message: Loaded) -> None:
        if message.what == "plan-error":
            self.notify(f"Plan refused: {message.doc['error']}", severity="error", timeout=10, markup=False)
        elif message.what == "plan":
            self._confirm(message.doc["site"], message.doc["target"], message.doc["plan"])
        elif message.what == "verify":
            ver = message.doc
            self.notify(
                f"Verification: {get(ver, 'verdict', default='?')} - {get(ver, 'summary', default='')}",
                severity="information" if get(ver, "ok", default=False) else "error",
                timeout=10,
                markup=False,
            )
            if isinstance(self.screen, SiteScreen):
                self.screen.action_refresh()

    def _confirm(self, site: str, target: str, plan: Doc) -> None:
        verb = {"isolated": "ISOLATE", "normal": "FULLY RESTORE"}.get(target, f"RESTORE to stage '{target}'")
        devices = [str(get(d, "device", "name", default="?")) for d in get(plan, "devices", default=[]) or []]

        def after_typed(ok: bool | None) -> None:
            if not ok:
                self.notify("Cancelled: nothing was sent.")
                return
            if target == "normal":
                self.push_screen(
                    YesNo(
                        f"Full restore of {site}: every egressctl rule is removed and the site is open to "
                        "the internet again. Are you sure?"
                    ),
                    lambda sure: (
                        self._run(site, target, devices)
                        if sure
                        else self.notify("Cancelled: nothing was sent.")
                    ),
                )
            else:
                self._run(site, target, devices)

        self.push_screen(TypedConfirm(f"{verb} {site}", plan_text(plan, target), site), after_typed)

    def _run(self, site: str, target: str, devices: list[str]) -> None:
        self.running_site, self.running_target = site, target
        self.op_screen = OperationScreen(site, target, devices)
        self.push_screen(self.op_screen)
        self._apply(site, target)

    @work(thread=True, exclusive=True, group="operation", exit_on_error=False)
    def _apply(self, site: str, target: str) -> None:
        def forward(event: Doc) -> None:
            self.post_message(EngineEvent(event))

        try:
            result = self.backend.apply(site, target, forward)
        except Exception as exc:
            result = {"outcome": "failed", "state": "unknown", "error": str(exc)}
        self.post_message(OperationDone(result))

    def on_engine_event(self, message: EngineEvent) -> None:
        if self.op_screen is not None:
            self.op_screen.show_event(message.event)

    def on_operation_done(self, message: OperationDone) -> None:
        site = self.running_site
        self.running_site = self.running_target = None
        if self.op_screen is not None:
            self.op_screen.show_result(message.result)
        outcome = get(message.result, "outcome", default="?")
        self.notify(f"{site}: {outcome}", severity="information" if outcome in ("ok", "noop") else "error")
        if self.exit_after_operation:
            self.exit()

    def start_verify(self, site: str) -> None:
        """Run the active verification in a worker."""
        self.notify(f"Verifying {site}...")
        self._verify(site)

    @work(thread=True, exclusive=True, group="verify")
    def _verify(self, site: str) -> None:
        try:
            self.post_message(Loaded("verify", self.backend.verify(site)))
        except Exception as exc:
            self.post_message(Loaded("verify", {"verdict": "error", "summary": str(exc), "ok": False}))

    async def action_quit(self) -> None:
        """Quit, but never silently while an operation runs: say what happens to its devices first."""
        if not self.running_site:
            self._stop_watch()
            self.exit()
            return
        if self.exit_after_operation:
            self.notify("Already stopping: the devices in flight are finishing their step.")
            return

        def decided(yes: bool | None) -> None:
            if not yes:
                return
            self._stop_watch()
            interrupt = getattr(self.backend, "interrupt", None)
            if interrupt is not None and interrupt():
                self.exit_after_operation = True
                self.notify("Stopping before the next commit; quitting when the devices in flight finish.")
            else:
                self.exit()

        self.push_screen(YesNo(QUIT_WARNING.format(site=self.running_site)), decided)


def make_app(
    backend: Backend | None = None,
    *,
    inventory: Path | str | None = None,
    state_dir: Path | None = None,
    site: str | None = None,
    watch_seconds: float = 60.0,
) -> EgressApp:
    """Build the app: the one factory used by ``egressctl tui`` and by the tests."""
    if backend is None:
        from egressctl.tui.engine_backend import EngineBackend

        backend = EngineBackend(inventory, state_dir=state_dir)
    return EgressApp(backend, site=site, watch_seconds=watch_seconds)
