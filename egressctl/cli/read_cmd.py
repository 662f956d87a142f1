"""``status``, ``history`` and ``unlock``: reading the journal (and the one operator override).

With ``--json`` each prints one object with a ``schema`` field; the lists (``status`` without a site,
``history``) sit under ``sites`` and ``entries`` so every document has the same versioned top level.
Rendering (rich) and the engine are imported by the command that runs, not to build ``--help``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from egressctl.cli import complete, jsonout
from egressctl.cli.common import handles_errors, make_engine, out_console
from egressctl.exitcodes import ExitCode

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
LiveOpt = Annotated[bool, typer.Option("--live", help="Also read every device (read-only) and show drift: "
                                       "egressctl objects that differ from what the journal says.")]


@handles_errors
def status(ctx: typer.Context,
           site: Annotated[str | None, typer.Argument(help="Site name (all sites when omitted).",
                                                      autocompletion=complete.sites)] = None,
           live: LiveOpt = False,
           json_out: JsonOpt = False) -> None:
    """Where a site stands: state, lock, last operation, each device's last step, and what to do.

    After a crash this names the interrupted operation, the device and step it stopped at, and the
    command that resumes it. With --live each device is read too and compared with the journal (drift).

    For example:

    \b
      egressctl status
      egressctl status lab --json
      egressctl status lab --live
    """  # noqa: D301 - \b is click's no-rewrap marker
    from egressctl.cli.output import render_overview, render_status

    engine = make_engine(ctx)
    out = out_console()
    try:
        if site is None:
            rows = [o.to_dict() for o in engine.sites_overview()]
            jsonout.emit(jsonout.OVERVIEW, {"sites": rows}) if json_out else render_overview(out, rows)
        else:
            doc = engine.status(site).to_dict()
            if live:  # the drift view of `check` (egressctl.cli.check_cmd): devices are read only on request
                from egressctl.cli.check_cmd import drift_rows, render_drift

                doc["drift"] = drift_rows(engine.check(site, drift_only=True))
            jsonout.emit(jsonout.STATUS, doc) if json_out else render_status(out, doc)
            if live and not json_out:
                render_drift(out, doc["drift"])
    finally:
        engine.close()


@handles_errors
def history(ctx: typer.Context,
            site: Annotated[str | None, typer.Argument(help="Only this site's rows.",
                                                       autocompletion=complete.sites)] = None,
            verify: Annotated[bool, typer.Option("--verify", help="Check the hash chain (exit 5 if broken).")]
            = False,
            limit: Annotated[int | None, typer.Option("--limit", "-n", help="Only the last N rows.")] = None,
            json_out: JsonOpt = False) -> None:
    """The append-only audit trail; --verify recomputes its hash chain.

    For example:

    \b
      egressctl history lab -n 50
      egressctl history --verify
    """  # noqa: D301 - \b is click's no-rewrap marker
    from egressctl.cli.output import line, render_history

    engine = make_engine(ctx)
    out = out_console()
    try:
        if verify:
            check = engine.verify_history()
            jsonout.emit(jsonout.CHAIN, check.to_dict()) if json_out else out.print(
                line("chain intact: " if check.ok else ("CHAIN BROKEN: ", "bold red"), check.message))
            if not check.ok:
                raise typer.Exit(ExitCode.PARTIAL)
            return
        rows = [e.to_dict() for e in engine.history(site, limit)]
        jsonout.emit(jsonout.HISTORY, {"entries": rows}) if json_out else render_history(out, rows)
    finally:
        engine.close()


@handles_errors
def unlock(ctx: typer.Context,
           site: Annotated[str, typer.Argument(help="Site name.", autocompletion=complete.sites)],
           json_out: JsonOpt = False) -> None:
    """Remove a site's lock, such as one left by a crashed run on another host. Audited.

    A crashed run on this host does not need it: re-running the command takes over its stale lock.
    """
    from egressctl.cli.output import line

    engine = make_engine(ctx)
    out = out_console()
    try:
        removed = engine.unlock(site)
    finally:
        engine.close()
    doc = {"site": site, "removed": removed.to_dict() if removed else None}
    if json_out:
        jsonout.emit(jsonout.UNLOCK, doc)
    else:
        out.print(line(f"removed lock held by {removed.owner}" if removed else f"{site} was not locked"))
