"""``isolate``/``restore`` over several sites or a group: event lines tagged with the site, one summary.

Called by ``ops_cmd`` when more than one site, or ``--group``, is named; one site alone keeps the
single-site command's output exactly. The operation itself is :func:`egressctl.estate.run_estate`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import typer

from egressctl.cli import jsonout
from egressctl.cli.common import err_console, make_engine, out_console
from egressctl.errors import PolicyError

if TYPE_CHECKING:
    from rich.console import Console

    from egressctl.estate import EstateResult
    from egressctl.events import Event, Sink

ESTATE_NOTE = ("exit code: the most urgent site's, in this order: 5 needs attention, 3 not proven, "
               "130 interrupted, 1 rolled back, 4 locked, 2 usage, 6, 7, then 0")


class SitePrinter:
    """One line per event, the site first, so parallel sites' lines can be told apart (and grepped)."""

    def __init__(self, console: Console, width: int) -> None:
        self.console, self.width = console, width
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Print one event line after its site's name."""
        from rich.text import Text

        from egressctl.cli.progress import event_line
        from egressctl.inventory.credentials import redact

        with self._lock:
            self.console.print(Text(redact(f"{event.site:<{self.width}} {event_line(event)}")))


def _confirm(console: Console, sites: list[str], group: str | None, target: str) -> bool:
    """The operator types the group's name, or the number of sites when no group was named."""
    console.print(f"{target}: {len(sites)} sites: {', '.join(sites)}")
    word = group if group is not None else str(len(sites))
    what = "group name" if group is not None else "number of sites"
    try:
        typed = typer.prompt(f"Type the {what} ({word}) to confirm", err=True, default="", show_default=False)
    except typer.Abort:
        return False
    return bool(typed.strip() == word)


def render_summary(console: Console, result: EstateResult) -> None:
    """The summary table: one row per site, then the totals and the exit-code rule."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"{result.operation} -> {result.target}"), expand=False)
    for col in ("site", "outcome", "exit", "verification", "state", "seconds", "slowest device"):
        table.add_column(col)
    for run in result.runs:
        slow = f"{run.slowest_device} {run.slowest_device_seconds:.1f}s" if run.slowest_device else ""
        table.add_row(*(Text(x) for x in (run.site, run.outcome, str(run.exit_code), run.verdict,
                                          run.result.state if run.result else run.error,
                                          f"{run.seconds:.1f}", slow)))
    console.print(table)
    s = result.to_dict()["summary"]
    console.print(Text(f"{s['ok']}/{s['sites']} sites ok, {s['verified']} verified; "
                       f"wall {s['seconds']:.1f}s (slowest site {s['slowest_site_seconds']:.1f}s, "
                       f"slowest device {s['slowest_device']} {s['slowest_device_seconds']:.1f}s); "
                       f"exit {result.exit_code}"))
    console.print(Text(ESTATE_NOTE))


def operate_estate(ctx: typer.Context, sites: list[str], group: str | None, target: str | None, full: bool,
                   *, yes: bool, dry_run: bool, json_out: bool, force_unlock: bool,
                   device: list[str] | None, **kw: Any) -> None:
    """Run one operation over ``sites`` and the ``group``'s sites; exit with the most urgent site's code."""
    from egressctl.cli.progress import JsonLines
    from egressctl.estate import resolve_sites, run_estate

    if device:
        raise PolicyError("--device names one site's devices: use it with a single site")
    if target != "isolated" and full == (target is not None):
        raise PolicyError("restore needs exactly one of --stage NAME or --full")
    goal = "normal" if full else str(target)
    engine = make_engine(ctx)
    try:
        names = resolve_sites(engine.inventory, sites, group)
        if not (yes or dry_run) and not _confirm(err_console(), names, group, goal):
            err_console().print("not confirmed: nothing was changed")
            raise typer.Exit(2)
        jl = JsonLines()
        sink: Sink = jl if json_out else SitePrinter(out_console(), max(map(len, names)))
        result = run_estate(engine, names, goal, group=group, sink=sink, dry_run=dry_run,
                            force_unlock=force_unlock, **kw)
    finally:
        engine.close()
    if json_out:
        jl.write(jsonout.ESTATE, {"event": "result", **result.to_dict()})
    else:
        render_summary(out_console(), result)
    raise typer.Exit(result.exit_code)
