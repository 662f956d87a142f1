"""Human renderings of the engine's result documents (``--json`` prints the documents themselves).

Every value shown comes from a device, the inventory or the journal, so it is always wrapped in
:class:`rich.text.Text` (styled by spans, never by markup) and printed on a console with markup and emoji
codes off: ``2001:100::1/128``, ``[bold]`` in a device's error text or ``:100:`` in ``file:100:`` come out
exactly as they went in.
"""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from egressctl.inventory.credentials import redact

_OUTCOME_STYLE = {"ok": "green", "noop": "green", "dry-run": "cyan", "rolled-back": "yellow",
                  "partial": "bold red", "interrupted": "yellow", "aborted": "yellow"}
Part = str | tuple[str, str]


def line(*parts: Part) -> Text:
    """A line from plain and ``(text, style)`` parts; nothing in it is read as markup."""
    return Text.assemble(*parts)


def cell(value: Any, limit: int | None = None) -> Text:
    """A table cell holding ``value`` verbatim (redacted, optionally cut to ``limit`` characters)."""
    text = redact("" if value is None else str(value))
    return Text(text[:limit] if limit else text)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _device_plan(console: Console, d: dict[str, Any]) -> None:
    current = d["current"] or "unknown"
    state = "no-op (already there)" if d["noop"] else (d["skipped"] or "change")
    console.print(line("\n", (d["device"], "bold"), f" {d['platform']} exit {d['exit']}: {current} -> "
                       f"{d['target']}: {state}; safety net: {d['safety_net']}"))
    if d.get("on_fire") and not d["noop"]:
        console.print(line("  if it fires: ", redact(d["on_fire"])))
    if d["error"]:
        console.print(line("  ", ("could not read state:", "red"), " ", redact(d["error"])))
    if d["pending_commit"]:
        console.print(line("  ", ("a commit is pending confirmation on this device", "yellow")))
    for diff_line in d["diff"]:
        console.print(line("  ", (diff_line, "green" if diff_line.startswith("+") else "red")))
    if not d["noop"]:
        console.print("  commands:")
        for command in d["lines"]:
            console.print(line("    ", redact(command)))


def render_plan(console: Console, plan: dict[str, Any]) -> None:
    """Per device: where it is, where it goes, the rule diff and the commands that would be sent."""
    console.print(line(("plan", "bold"), f" site {plan['site']} -> ", (plan["target"], "bold"),
                       f" (policy {plan['fingerprint']})"))
    for d in plan["devices"]:
        _device_plan(console, d)
    unread = [d["device"] for d in plan["devices"] if d["error"]]
    if unread:
        console.print(line("\n", (f"incomplete: could not read {', '.join(unread)}", "bold red")))
    console.print(line("\n", ("Nothing was sent.", "dim")))


def _sessions(d: dict[str, Any]) -> str:
    """The ``sessions`` step's outcome: ``2/2 cleared`` (of matched), ``stateless``, ``FAILED`` or ``-``."""
    s = d.get("sessions")
    if not s:
        return "-"  # the step did not run (not an isolation, no session kill, or the device failed first)
    if s.get("ok") is False:
        return "FAILED"
    if s.get("handling") == "stateless":
        return "stateless"
    return f"{s.get('cleared', 0)}/{s.get('matched', 0)} cleared"


def render_result(console: Console, res: dict[str, Any]) -> None:
    """The outcome of isolate/restore with one row per device, then what still needs an operator."""
    if res["plan"] is not None:
        render_plan(console, res["plan"])
    if res["devices"]:
        table = Table("device", "outcome", "before", "after", "sessions", "failed step", "error")
        for d in res["devices"]:
            table.add_row(cell(d["device"]), cell(d["outcome"]), cell(d["before"]), cell(d["after"]),
                          cell(_sessions(d)), cell(d["failed_step"]), cell(d["error"], 120))
        console.print(table)
    for warning in res.get("warnings") or []:
        console.print(line(("needs attention: ", "bold yellow"), redact(str(warning))))
    ver = res.get("verification")
    if ver:
        console.print(line("verification: ", (ver["verdict"], "green" if ver["ok"] else "bold red"), " ",
                           ver["summary"]))
    outcome = (res["outcome"], _OUTCOME_STYLE.get(res["outcome"], ""))
    console.print(line(outcome, ": ", redact(res["message"]), f" (exit {res['exit_code']})"))


def render_status(console: Console, st: dict[str, Any]) -> None:
    """A site's state, lock, last operation and per-device progress."""
    console.print(line((st["site"], "bold"), ": ", st["state"]))
    op = st["operation"]
    if op:
        how = op["status"] + (f", {op['outcome']}" if op["outcome"] else "")
        console.print(line(f"last operation {op['op_id']}: {op['kind']} -> {op['target']} ({how}) "
                           f"started {_when(op['started'])}"))
    lock = st["lock"]
    if lock:
        console.print(line(f"locked by {lock['owner']} until {_when(lock['expires'])}"
                           f"{' (stale)' if lock['stale'] else ''}"))
    if st["devices"]:
        table = Table("device", "last step", "status", "detail", "at")
        for dev, r in sorted(st["devices"].items()):
            table.add_row(cell(dev), cell(r["step"]), cell(r["status"]), cell(r["detail"], 100),
                          cell(_when(r["at"])))
        console.print(table)
    ver = st.get("verification")
    if ver:
        console.print(line(f"last verification: {ver['verdict']}: ", redact(ver["summary"]),
                           f" at {_when(ver['at'])}"))
    console.print(line(st["hint"]))


def render_overview(console: Console, rows: list[dict[str, Any]]) -> None:
    """One row per site."""
    table = Table("site", "state", "devices", "exits", "locked by", "last operation")
    for r in rows:
        table.add_row(cell(r["site"]), cell(r["state"]), cell(r["devices"]), cell(", ".join(r["exits"])),
                      cell(r["locked_by"]), cell(r["last_operation"]))
    console.print(table)


def render_history(console: Console, entries: list[dict[str, Any]]) -> None:
    """The audit trail, one line per row."""
    for e in entries:
        payload = json.dumps(e["payload"], sort_keys=True, default=str)
        console.print(line(f"{e['seq']:>6} {_when(e['at'])} {e['site']:<10} {e['op_id'] or '-':<22} "
                           f"{e['kind']:<18} ", redact(payload)[:160]))
