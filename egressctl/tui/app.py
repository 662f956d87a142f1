"""The incident TUI: one app, built by one factory, over the same engine the CLI uses.

Every blocking call (journal reads, device sessions, packets) runs in a thread worker and comes back as a
typed message, so the screen never freezes. Operations are started only after a modal that shows the plan
(and its warnings) and requires the site's name typed exactly; a full restore asks a second time. An
operation's events are folded into a progress model by its worker and shown coalesced
(:mod:`egressctl.tui.progress`, :mod:`egressctl.tui.coalesce`); the leak watch is the app's too
(:mod:`egressctl.tui.watching`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from egressctl.tui.backend import Backend, Doc
from egressctl.tui.format import get, plan_text
from egressctl.tui.heap import FullCollections, freeze_heap
from egressctl.tui.messages import Loaded, OperationDone, OperationProgressed
from egressctl.tui.priority import Priority
from egressctl.tui.progress import OperationProgress
from egressctl.tui.proof import grouped_warnings
from egressctl.tui.screens.confirm import TypedConfirm, YesNo
from egressctl.tui.screens.history import HistoryScreen
from egressctl.tui.screens.operation import OperationScreen
from egressctl.tui.screens.site import SiteScreen
from egressctl.tui.screens.sites import SitesScreen
from egressctl.tui.watching import WatchingApp

QUIT_WARNING = (
    "An operation is running on {site}.\n\n"
    "Quitting stops it the way Ctrl-C stops the CLI: no further device is committed; devices already "
    "changing finish their step (confirm, or roll back) and the TUI exits when they have. A change left "
    "unconfirmed reverts by its device's dead-man switch (Junos, IOS, FortiOS, Linux); PAN-OS has none, "
    "so a commit there stays until the next egressctl run rolls it back or confirms it.\n"
    "`egressctl status {site}` explains the state afterwards, and re-running the operation resumes it.\n\n"
    "Stop the operation and quit?"
)


class EgressApp(WatchingApp):
    """The egressctl TUI."""

    CSS_PATH = "app.tcss"
    TITLE = "egressctl"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("o", "show_operation", "Operation"),
    ]

    def __init__(self, backend: Backend, site: str | None = None, watch_seconds: float = 60.0) -> None:
        super().__init__(watch_seconds)
        self.backend = backend
        self.initial_site = site
        self.running_site: str | None = None
        self.running_target: str | None = None
        self.progress: OperationProgress | None = None
        self.op_screen: OperationScreen | None = None
        self.exit_after_operation = False
        self.priority = Priority()
        self.full_collections = FullCollections()

    def get_default_screen(self) -> Screen[None]:
        return SitesScreen()

    def on_mount(self) -> None:
        self.priority.raise_()  # the screen ahead of batch work (egressctl.tui.priority), undone on unmount
        if self.initial_site:
            self.open_site(self.initial_site)
        self.call_after_refresh(freeze_heap)

    def on_unmount(self) -> None:
        self.priority.restore()
        self.full_collections.release()  # the thresholds are the process's, not the app's

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``o`` (back to the operation) is offered only once there is one."""
        return self.progress is not None if action == "show_operation" else True

    # ----- navigation ---------------------------------------------------------------------------
    def open_site(self, site: str) -> None:
        """Show one site's screen."""
        self.push_screen(SiteScreen(site))

    def open_history(self, site: str) -> None:
        """Show one site's journal."""
        self.push_screen(HistoryScreen(site))

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
        devices: list[Doc] = list(get(plan, "devices", default=[]) or [])

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

        body = plan_text(plan, target)
        self.push_screen(TypedConfirm(f"{verb} {site}", body, site, grouped_warnings(devices)), after_typed)

    def _run(self, site: str, target: str, plan: list[Doc]) -> None:
        self.running_site, self.running_target = site, target
        names = [str(get(d, "device", "name", default="?")) for d in plan]
        self.progress = OperationProgress(site, target, names, plan, wake=self._progressed)
        self.op_screen = OperationScreen(self.progress)
        self.push_screen(self.op_screen)
        self.call_after_refresh(freeze_heap)
        self.full_collections.hold()  # no full collection mid-operation (egressctl.tui.heap)
        self._apply(site, target, self.progress)

    def _progressed(self) -> None:
        """Called from the worker when the model changes after the screen last looked (once per look)."""
        self.post_message(OperationProgressed())

    @work(thread=True, exclusive=True, group="operation", exit_on_error=False)
    def _apply(self, site: str, target: str, progress: OperationProgress) -> None:
        """Run the operation; its events are folded into ``progress`` here, off the UI thread."""
        try:
            result = self.backend.apply(site, target, progress.apply)
        except Exception as exc:
            result = {"outcome": "failed", "state": "unknown", "error": str(exc)}
        self.post_message(OperationDone(result))

    def _shown_op_screen(self) -> OperationScreen | None:
        """The operation's screen while it is in the stack (a popped one is gone: ``o`` opens a new one)."""
        op = self.op_screen
        return op if op is not None and op in self.screen_stack else None

    def on_operation_progressed(self, message: OperationProgressed) -> None:
        if (op := self._shown_op_screen()) is not None:
            op.progressed()

    def on_operation_done(self, message: OperationDone) -> None:
        self.full_collections.release()
        site = self.running_site
        self.running_site = self.running_target = None
        if self.progress is not None:
            self.progress.finish(message.result)
        if (op := self._shown_op_screen()) is not None:
            op.apply_now()
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

    def action_show_operation(self) -> None:
        """Back to the running (or last) operation's progress after leaving its screen."""
        if self.progress is None or self.screen is self.op_screen:
            return
        if self._shown_op_screen() is not None:
            self.notify("The operation's screen is open underneath: Escape goes back to it.")
            return
        self.op_screen = OperationScreen(self.progress)
        self.push_screen(self.op_screen)

    async def action_quit(self) -> None:
        """Quit, but never silently while an operation runs: say what happens to its devices first."""
        if not self.running_site:
            self.stop_watch()
            self.exit()
            return
        if self.exit_after_operation:
            self.notify("Already stopping: the devices in flight are finishing their step.")
            return

        def decided(yes: bool | None) -> None:
            if not yes:
                return
            self.stop_watch()
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
