"""Human renderings of the engine's result documents (``--json`` prints the documents themselves)."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from egressctl.inventory.credentials import redact

_OUTCOME_STYLE = {"ok": "green", "noop": "green", "dry-run": "cyan", "rolled-back": "yellow",
                  "partial": "bold red", "interrupted": "yellow", "aborted": "yellow"}


def print_json(console: Console, doc: Any) -> None:
    """Print a document as indented JSON (redacted)."""
    console.print(redact(json.dumps(doc, indent=2, default=str, sort_keys=True)), markup=False,
                  highlight=False, soft_wrap=True)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def render_plan(console: Console, plan: dict[str, Any]) -> None:
    """Per device: where it is, where it goes, the rule diff and the commands that would be sent."""
    console.print(f"[bold]plan[/] site {escape(plan['site'])} -> [bold]{escape(plan['target'])}[/] "
                  f"(policy {plan['fingerprint']})")
    for d in plan["devices"]:
        current = d["current"] or "unknown"
        state = "no-op (already there)" if d["noop"] else (d["skipped"] or "change")
        console.print(f"\n[bold]{escape(d['device'])}[/] {d['platform']} exit {d['exit']}: "
                      f"{escape(current)} -> {escape(d['target'])}: {state}; safety net: {d['safety_net']}")
        if d["error"]:
            console.print(f"  [red]could not read state:[/] {escape(redact(d['error']))}")
        if d["pending_commit"]:
            console.print("  [yellow]a commit is pending confirmation on this device[/]")
        for line in d["diff"]:
            style = "green" if line.startswith("+") else "red"
            console.print(f"  [{style}]{escape(line)}[/]")
        if not d["noop"]:
            console.print("  commands:")
            for line in d["lines"]:
                console.print(f"    {escape(redact(line))}", highlight=False)
    console.print("\n[dim]Nothing was sent.[/]")


def render_result(console: Console, res: dict[str, Any]) -> None:
    """The outcome of isolate/restore with one row per device."""
    if res["plan"] is not None:
        render_plan(console, res["plan"])
    if res["devices"]:
        table = Table("device", "outcome", "before", "after", "failed step", "error")
        for d in res["devices"]:
            table.add_row(d["device"], d["outcome"], d["before"] or "", d["after"] or "",
                          d["failed_step"] or "", escape(redact(d["error"]))[:120])
        console.print(table)
    ver = res.get("verification")
    if ver:
        style = "green" if ver["ok"] else "bold red"
        console.print(f"verification: [{style}]{escape(ver['verdict'])}[/] {escape(ver['summary'])}")
    style = _OUTCOME_STYLE.get(res["outcome"], "")
    console.print(f"[{style}]{escape(res['outcome'])}[/]: {escape(redact(res['message']))} "
                  f"(exit {res['exit_code']})")


def render_status(console: Console, st: dict[str, Any]) -> None:
    """A site's state, lock, last operation and per-device progress."""
    console.print(f"[bold]{escape(st['site'])}[/]: {escape(st['state'])}")
    op = st["operation"]
    if op:
        console.print(f"last operation {op['op_id']}: {op['kind']} -> {op['target']} ({op['status']}"
                      f"{', ' + op['outcome'] if op['outcome'] else ''}) started {_when(op['started'])}")
    lock = st["lock"]
    if lock:
        console.print(f"locked by {lock['owner']} until {_when(lock['expires'])}"
                      f"{' (stale)' if lock['stale'] else ''}")
    if st["devices"]:
        table = Table("device", "last step", "status", "detail", "at")
        for dev, r in sorted(st["devices"].items()):
            table.add_row(dev, r["step"], r["status"], escape(redact(r["detail"]))[:100], _when(r["at"]))
        console.print(table)
    ver = st.get("verification")
    if ver:
        console.print(f"last verification: {escape(ver['verdict'])}: {escape(ver['summary'])} "
                      f"at {_when(ver['at'])}")
    console.print(escape(st["hint"]))


def render_overview(console: Console, rows: list[dict[str, Any]]) -> None:
    """One row per site."""
    table = Table("site", "state", "devices", "exits", "locked by", "last operation")
    for r in rows:
        table.add_row(r["site"], r["state"], str(r["devices"]), ", ".join(r["exits"]), r["locked_by"] or "",
                      r["last_operation"] or "")
    console.print(table)


def render_history(console: Console, entries: list[dict[str, Any]]) -> None:
    """The audit trail, one line per row."""
    for e in entries:
        payload = json.dumps(e["payload"], sort_keys=True, default=str)
        console.print(f"{e['seq']:>6} {_when(e['at'])} {e['site']:<10} {e['op_id'] or '-':<22} "
                      f"{e['kind']:<18} {redact(payload)[:160]}", markup=False, highlight=False)
