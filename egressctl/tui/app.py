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
from egressctl.tui.format import get
from egressctl.tui.messages import EngineEvent, Loaded, OperationDone
from egressctl.tui.screens.confirm import TypedConfirm, YesNo
from egressctl.tui.screens.history import HistoryScreen
from egressctl.tui.screens.operation import OperationScreen
from egressctl.tui.screens.site import SiteScreen
from egressctl.tui.screens.sites import SitesScreen
from egressctl.tui.screens.watch import WatchScreen

QUIT_WARNING = (
    "An operation is running on {site}.\n\n"
    "If you quit now, devices whose change is live but not yet confirmed revert by their own dead-man "
    "switch when its timer ends (Junos, IOS, FortiOS, Linux). PAN-OS has no native switch: a change "
    "committed there stays until the next egressctl run rolls it back or confirms it.\n"
    "`egressctl status {site}` explains the state afterwards, and re-running the operation resumes it.\n\n"
    "Quit anyway?"
)


def plan_text(plan: Doc, target: str) -> str:
    """The plan as the confirmation modal shows it: what each device receives and its safety net."""
    lines = [f"Target: {target}"]
    opens = get(plan, "opens", default=None)
    if opens:
        lines.append("Opens:")
        lines += [f"  + {o}" for o in opens]
    for dev in get(plan, "devices", default=[]) or []:
        name = get(dev, "device", "name", default="?")
        net = get(dev, "safety_net", default="")
        if get(dev, "noop", default=False):
            lines.append(f"\n{name}: already at target, nothing sent")
            continue
        cmds = get(dev, "lines", "commands", default=[]) or []
        lines.append(f"\n{name} ({get(dev, 'platform', default='')}, {net}): {len(cmds)} line(s)")
        lines += [f"    {c}" for c in cmds[:12]]
        if len(cmds) > 12:
            lines.append(f"    ... {len(cmds) - 12} more")
    return "\n".join(lines)


class EgressApp(App[None]):
    """The egressctl TUI."""

    CSS_PATH = "app.tcss"
    TITLE = "egressctl"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("ctrl+c", "quit", "Quit", show=False)]

    def __init__(self, backend: Backend, site: str | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.initial_site = site
        self.running_site: str | None = None
        self.op_screen: OperationScreen | None = None

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
        """Start the live leak watch on a site."""
        self.push_screen(WatchScreen(site))

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
            self.notify(f"Plan refused: {message.doc['error']}", severity="error", timeout=10)
        elif message.what == "plan":
            self._confirm(message.doc["site"], message.doc["target"], message.doc["plan"])
        elif message.what == "verify":
            ver = message.doc
            self.notify(
                f"Verification: {get(ver, 'verdict', default='?')} - {get(ver, 'summary', default='')}",
                severity="information" if get(ver, "ok", default=False) else "error",
                timeout=10,
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
        self.running_site = site
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
        self.running_site = None
        if self.op_screen is not None:
            self.op_screen.show_result(message.result)
        outcome = get(message.result, "outcome", default="?")
        self.notify(f"{site}: {outcome}", severity="information" if outcome in ("ok", "noop") else "error")

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
            self.exit()
            return

        def decided(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(YesNo(QUIT_WARNING.format(site=self.running_site)), decided)


def make_app(
    backend: Backend | None = None,
    *,
    inventory: Path | str | None = None,
    state_dir: Path | None = None,
    site: str | None = None,
) -> EgressApp:
    """Build the app: the one factory used by ``egressctl tui`` and by the tests."""
    if backend is None:
        from egressctl.tui.engine_backend import EngineBackend

        backend = EngineBackend(inventory, state_dir=state_dir)
    return EgressApp(backend, site=site)
