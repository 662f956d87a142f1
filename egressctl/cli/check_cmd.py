"""``egressctl check SITE``: the preflight of :mod:`egressctl.check`, and the drift view of ``status --live``.

The table lists every check of every subject (the site, each device, vantage point and capture point) with
its result in plain words, then what each device's dead-man switch does when it fires, then the rule diff
of any device that drifted from the journal. ``--json`` prints the same report (``egressctl.check/1``).
Exit 0 when nothing failed, 7 when something did (or, with ``--strict``, warned).

Like every command module, this one imports the engine and rich only when the command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from egressctl.cli import complete, jsonout
from egressctl.cli.common import handles_errors, make_engine, out_console

if TYPE_CHECKING:
    from rich.console import Console

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
DeviceOpt = Annotated[list[str] | None, typer.Option("--device", "-d", help="Only this device (repeatable).",
                                                     autocompletion=complete.devices)]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Warnings fail the check too (exit 7).")]
STYLE = {"ok": ("ok", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "bold red")}
DIFF_LEGEND = "(- held by the device only, + expected by the journal but missing from the device)"


@handles_errors
def check(ctx: typer.Context,
          site: Annotated[str, typer.Argument(help="Site name.", autocompletion=complete.sites)],
          device: DeviceOpt = None, strict: StrictOpt = False, json_out: JsonOpt = False) -> None:
    """Check a site before an incident, changing nothing.

    Every device over one read-only session (pinned host key, credential, state, pending changes, drift
    from the journal, sessions, vendor prerequisites and what its dead-man switch does when it fires),
    every vantage point (runs one probe to its own address) and capture point, in parallel.
    Exit 0: nothing failed; 7: a check failed (with --strict: or warned).

    For example:

    \b
      egressctl check lab
      egressctl check lab --device ce-a --json
    """  # noqa: D301 - \b is click's no-rewrap marker
    engine = make_engine(ctx)
    try:
        report = engine.check(site, devices=device, strict=strict)
    finally:
        engine.close()
    doc = report.to_dict()
    if json_out:
        jsonout.emit(jsonout.CHECK, doc)
    else:
        render_check(out_console(), doc)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _result(status: str) -> Any:
    from rich.text import Text

    word, style = STYLE.get(status, (status, ""))
    return Text(word, style=style)


def _subject_name(s: dict[str, Any]) -> str:
    extra = {"site": "site", "device": s["info"].get("platform", ""), "vantage-point": "vantage point",
             "capture": "capture"}.get(s["kind"], s["kind"])
    return f"{s['name']} ({extra})"


def render_check(console: Console, doc: dict[str, Any]) -> None:
    """The check report as tables (see the module docstring)."""
    from rich.table import Table

    from egressctl.cli.output import cell, line

    slow = doc.get("slowest")
    took = f"checked in {doc['elapsed_s']:.1f} s" + (
        f" (slowest: {slow['name']} {slow['elapsed_s']:.1f} s)" if slow else "")
    console.print(line((doc["site"], "bold"), f": {took}"))
    table = Table("subject", "check", "result", "detail")
    for s in doc["subjects"]:
        last = len(s["checks"]) - 1
        for i, c in enumerate(s["checks"]):
            table.add_row(cell(_subject_name(s) if i == 0 else ""), cell(c["name"]), _result(c["status"]),
                          cell(c["detail"]), end_section=i == last)
    console.print(table)
    _render_effects(console, [s for s in doc["subjects"] if s["kind"] == "device"])
    render_drift(console, [s["info"]["drift"] for s in doc["subjects"]
                           if s["kind"] == "device" and s["info"].get("drift")], table=False)
    style = "bold red" if doc["status"] == "fail" else ("yellow" if doc["status"] == "warn" else "green")
    console.print(line((doc["summary"], style), f" (exit {doc['exit_code']})"))


def _render_effects(console: Console, devices: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from egressctl.cli.output import cell

    if not devices:
        return
    table = Table("device", "safety net", "if its dead-man switch fires", title="Safety nets",
                  title_justify="left")
    for d in devices:
        table.add_row(cell(d["name"]), cell(d["info"].get("safety_net") or "-"),
                      cell(d["info"].get("safety_net_effect") or "-"))
    console.print(table)


def render_drift(console: Console, rows: list[dict[str, Any]], *, table: bool = True) -> None:
    """Each device's drift (a table when ``table``), then the rule diff of every device that differs."""
    from rich.table import Table

    from egressctl.cli.output import cell, line

    if table and rows:
        t = Table("device", "drift", "journal", "device holds", "detail", title="Drift from the journal",
                  title_justify="left")
        for r in rows:
            t.add_row(cell(r["device"]), _drift_word(r["status"]), cell(r["expected"] or "?"),
                      cell(r["held"] or "?"), cell(r["detail"]))
        console.print(t)
    for r in rows:
        if not r["diff"]:
            continue
        held = f" (journal: {r['expected'] or '?'}, device holds: {r['held'] or '?'}) {DIFF_LEGEND}"
        console.print(line((f"{r['device']}: {r['status']}", "bold"), held))
        for d in r["diff"]:
            console.print(line(("  " + d, "red" if d.startswith("-") else "green")))


def _drift_word(status: str) -> Any:
    from rich.text import Text

    style = {"in-sync": "green", "drift": "bold red", "stale": "yellow"}.get(status, "yellow")
    return Text(status, style=style)


def drift_rows(report: Any) -> list[dict[str, Any]]:
    """Per device, its drift document (``status --live``); a device that could not be read says why."""
    rows: list[dict[str, Any]] = []
    for s in report.subjects:
        if s.kind != "device":
            continue
        found = s.info.get("drift")
        if found is None:
            why = next((c.detail for c in s.checks if c.status != "ok"), "not read")
            found = {"device": s.name, "status": "unknown", "expected": s.info.get("expected"),
                     "held": None, "detail": f"not read: {why}", "diff": []}
        rows.append(found)
    return rows
