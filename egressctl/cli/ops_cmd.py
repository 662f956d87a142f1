"""``isolate``, ``restore`` and ``plan``: the commands that change (or would change) a site.

Imported to build every command line (``--help`` included), so only typer and the option types are
imported here; rendering (rich), progress sinks, the planner and the engine are imported by the command
that runs.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egressctl.cli import complete, jsonout
from egressctl.cli.common import err_console, handles_errors, is_tty, make_engine, out_console

if TYPE_CHECKING:
    from rich.console import Console

    from egressctl.events import Sink
    from egressctl.planner import Plan

SiteArg = Annotated[str, typer.Argument(help="Site name from the inventory.", show_default=False,
                                        autocompletion=complete.sites)]
SitesArg = Annotated[list[str] | None, typer.Argument(
    help="Site name(s) from the inventory; several run in parallel with one summary.", show_default=False,
    autocompletion=complete.sites)]
GroupOpt = Annotated[str | None, typer.Option("--group", "-g", help=(
    "Every site of this inventory group, in parallel (each with its own lock, journal and proof)."))]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to type the site name to confirm.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Plan and print; send nothing (says so).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Stream events as JSON lines; the last is the result.")]
RevertOpt = Annotated[int, typer.Option("--revert-in", min=10, max=3600,
                                        help="Dead-man switch: seconds until an unconfirmed change reverts.")]
StageOpt = Annotated[str | None, typer.Option("--stage", "-s", help="Restore up to this stage.",
                                              autocompletion=complete.stages)]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Do not connect; render from unknown/normal.")]
NoVerifyOpt = Annotated[bool, typer.Option("--no-verify", help="Skip the active verification afterwards.")]
NoHeldOpt = Annotated[bool, typer.Option(
    "--no-held-sessions", help="Do not hold flows open across the change (verification proves new "
                               "connections only).")]
WatchAfterOpt = Annotated[float, typer.Option(
    "--watch-after", min=0, max=600, metavar="SECONDS",
    help="Passive watch on every capture point while the probes run after the cut (0: none).")]
DeviceOpt = Annotated[list[str] | None, typer.Option("--device", "-d",
                                                     help="Only this device (repeatable).",
                                                     autocompletion=complete.devices)]
UnlockOpt = Annotated[bool, typer.Option("--force-unlock", help="Remove a stale site lock first.")]
TakeOverOpt = Annotated[bool, typer.Option(
    "--take-over", help="Act on another controller's unconfirmed change (refused with exit 4 otherwise).")]


def _confirm_by_name(site: str, console: Console) -> Any:
    from egressctl.cli.output import line

    def confirm(plan: Plan) -> bool:
        names = ", ".join(d.device for d in plan.devices)
        console.print(line((plan.target, "bold"), " site ", (site, "bold"), f" on {names}."))
        try:
            typed = typer.prompt(f"Type the site name ({site}) to confirm", err=True, default="",
                                 show_default=False)
        except typer.Abort:
            return False
        return bool(typed.strip() == site)

    return confirm


def _operate(ctx: typer.Context, site: str, target: str | None, full: bool, *, yes: bool, dry_run: bool,
             json_out: bool, revert_in: int, no_verify: bool, device: list[str] | None,
             force_unlock: bool, no_held: bool = False, watch_after: float = 0.0,
             take_over: bool = False) -> None:
    from egressctl.cli.output import render_result
    from egressctl.cli.progress import JsonLines, LinePrinter, LiveTable

    engine = make_engine(ctx)
    out = out_console()
    jl = JsonLines()
    sink: Sink
    display: AbstractContextManager[Any]
    if json_out:
        sink, display = jl, nullcontext()
    elif is_tty():
        table = LiveTable(out, [d.name for d in engine.site(site).devices if not device or d.name in device])
        sink, display = table, table
    else:
        sink = LinePrinter(out)
        display = nullcontext()
    kw: dict[str, Any] = {
        "dry_run": dry_run, "verify": not no_verify, "yes": yes, "revert_in": revert_in, "sink": sink,
        "devices": device, "force_unlock": force_unlock, "confirm": _confirm_by_name(site, err_console()),
        "held_sessions": not no_held, "watch_after": watch_after, "take_over": take_over,
    }
    try:
        with display:
            if target == "isolated":
                res = engine.isolate(site, **kw)
            else:
                res = engine.restore(site, target, full, **kw)
    finally:
        engine.close()
    doc = res.to_dict()
    if json_out:
        jl.write(jsonout.OPERATION, {"event": "result", **doc})
    else:
        render_result(out, doc)
    raise typer.Exit(res.exit_code)


def _estate(ctx: typer.Context, sites: list[str] | None, group: str | None, target: str | None, full: bool,
            *, yes: bool, dry_run: bool, json_out: bool, revert_in: int, no_verify: bool,
            device: list[str] | None, force_unlock: bool, no_held: bool, watch_after: float) -> bool:
    """Run the estate command when several sites or a group are named; False for exactly one site."""
    if group is None and len(sites or []) == 1:
        return False
    from egressctl.cli.estate_cmd import operate_estate

    operate_estate(ctx, list(sites or []), group, target, full, yes=yes, dry_run=dry_run, json_out=json_out,
                   force_unlock=force_unlock, device=device, verify=not no_verify, revert_in=revert_in,
                   held_sessions=not no_held, watch_after=watch_after)
    return True


@handles_errors
def isolate(ctx: typer.Context, site: SitesArg = None, group: GroupOpt = None, yes: YesOpt = False,
            dry_run: DryRunOpt = False, json_out: JsonOpt = False, revert_in: RevertOpt = 120,
            no_verify: NoVerifyOpt = False, device: DeviceOpt = None, force_unlock: UnlockOpt = False,
            no_held_sessions: NoHeldOpt = False, watch_after: WatchAfterOpt = 3.0,
            take_over: TakeOverOpt = False) -> None:
    """Cut SITE off the internet now, keeping its management paths (fail-closed).

    Every device is changed under a dead-man switch, read back, and checked over a fresh management
    session before it is confirmed; devices that were cut stay cut even if another one fails (exit 5).
    Re-running the same command after a crash resumes it. The proof afterwards: probes from every vantage
    point, sessions held open from before the cut (denied ones must be dead), and a watch on every capture
    point while the probes run (it must see the allowed probes: silence is never proof). Exit 3 otherwise.

    For example:

    \b
      egressctl isolate lab            (asks you to type the site name)
      egressctl isolate lab --yes --json
      egressctl isolate lab --dry-run
      egressctl isolate lab lab2 lab3 --yes    (in parallel, one summary)
      egressctl isolate --group estate --yes --json
    """  # noqa: D301 - \b is click's no-rewrap marker
    if _estate(ctx, site, group, "isolated", False, yes=yes, dry_run=dry_run, json_out=json_out,
               revert_in=revert_in, no_verify=no_verify, device=device, force_unlock=force_unlock,
               no_held=no_held_sessions, watch_after=watch_after):
        return
    _operate(ctx, (site or [""])[0], "isolated", False, yes=yes, dry_run=dry_run, json_out=json_out,
             revert_in=revert_in, no_verify=no_verify, device=device, force_unlock=force_unlock,
             no_held=no_held_sessions, watch_after=watch_after, take_over=take_over)


@handles_errors
def restore(ctx: typer.Context, site: SitesArg = None, group: GroupOpt = None,
            stage: StageOpt = None,
            full: Annotated[bool, typer.Option("--full", help="Remove every egressctl rule.")] = False,
            yes: YesOpt = False, dry_run: DryRunOpt = False, json_out: JsonOpt = False,
            revert_in: RevertOpt = 120, no_verify: NoVerifyOpt = False, device: DeviceOpt = None,
            force_unlock: UnlockOpt = False, no_held_sessions: NoHeldOpt = False,
            take_over: TakeOverOpt = False) -> None:
    """Reopen SITE stage by stage (--stage NAME) or completely (--full). All-or-nothing.

    Stages are cumulative, in inventory order. If any device fails, every device is rolled back to its
    state before this restore (exit 1). Allowed flows held open from before the restore must survive it.

    For example:

    \b
      egressctl restore lab --stage ministry
      egressctl restore lab --full --yes
      egressctl restore --group estate --full --yes
    """  # noqa: D301 - \b is click's no-rewrap marker
    if _estate(ctx, site, group, stage, full, yes=yes, dry_run=dry_run, json_out=json_out,
               revert_in=revert_in, no_verify=no_verify, device=device, force_unlock=force_unlock,
               no_held=no_held_sessions, watch_after=0.0):
        return
    _operate(ctx, (site or [""])[0], stage, full, yes=yes, dry_run=dry_run, json_out=json_out,
             revert_in=revert_in, no_verify=no_verify, device=device, force_unlock=force_unlock,
             no_held=no_held_sessions, take_over=take_over)


@handles_errors
def plan(ctx: typer.Context, site: SiteArg,
         to: Annotated[str, typer.Option("--to", help="isolated, a stage name, or normal.",
                                         autocompletion=complete.targets)],
         offline: OfflineOpt = False,
         json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
         device: DeviceOpt = None) -> None:
    """Show what reaching a target would send to each device, and the diff. Nothing is sent.

    Reads each device's state over a read-only session unless --offline. Exits 6 when a device could not
    be read (the plan is then incomplete), like isolate/restore --dry-run.

    For example:

    \b
      egressctl plan lab --to isolated
      egressctl plan lab --to ministry --json
    """  # noqa: D301 - \b is click's no-rewrap marker
    from egressctl.cli.output import render_plan
    from egressctl.engine import plan_exit_code

    engine = make_engine(ctx)
    try:
        result = engine.plan(site, to, offline=offline, devices=device)
    finally:
        engine.close()
    doc = result.to_dict()
    if json_out:
        jsonout.emit(jsonout.PLAN, doc)
    else:
        render_plan(out_console(), doc)
    raise typer.Exit(plan_exit_code(result))
