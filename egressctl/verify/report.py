"""Human rendering of verification results (the CLI's non-JSON output).

Everything here renders the same JSON documents ``--json`` prints (``ActiveReport.to_dict()``, watch
events, ``CaptureReport.to_dict()``), so what people read and what machines parse never disagree.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from egressctl.verify.watch.report import describe_flow

_STYLE = {"leak": "bold red", "blocked-allowed": "bold yellow", None: "green"}


def active_table(doc: dict[str, Any]) -> Table:
    """The probe matrix: one row per probe, expected vs observed, problems highlighted."""
    t = Table(title=f"probe matrix: {doc['site']} at {doc['target']}", show_lines=False)
    for col in ("vantage", "exit", "probe", "purpose", "expected", "observed", "by"):
        t.add_column(col)
    for row in doc.get("matrix", []):
        what = "icmp echo" if row["proto"] == "icmp" else f"{row['proto']}/{row['port']}"
        observed = f"{row['observed']} ({row['detail']})"
        t.add_row(row["vantage"], row["exit"], f"{row['dst']} {what}", row["purpose"], row["expected"],
                  observed, row.get("responder") or "", style=_STYLE.get(row.get("problem"), ""))
    return t


def print_active(console: Console, doc: dict[str, Any], matrix: bool = True) -> None:
    """Matrix (unless ``matrix`` is False) and the verdict paragraph."""
    if matrix and doc.get("matrix"):
        console.print(active_table(doc))
    style = "bold green" if doc.get("ok") else "bold red"
    console.print(str(doc.get("summary", doc.get("verdict"))), style=style, markup=False, highlight=False)


def watch_line(event: dict[str, Any]) -> str | None:
    """One line per notable watch event (leaks as they happen, per-second stats), or None."""
    kind, where = event.get("event"), event.get("capture", event.get("exit", "?"))
    if kind == "start":
        return (f"watching {where}: {event.get('bpf_instructions')}-instruction site filter, "
                f"{event.get('walker')} walker")
    if kind == "leak":
        return f"LEAK via exit {event.get('exit')}: {describe_flow(event['flow'])}"
    if kind == "stats":
        c = event.get("counters", {})
        return (f"{where}: {c.get('packets', 0)} packets, {c.get('leaks', 0)} leak packets, "
                f"{event.get('unverified', 0)} unverified, {event.get('kernel_drops', 0)} kernel drops")
    if kind == "error":
        return f"capture {where} failed: {event.get('error')}"
    return None


def print_capture(console: Console, doc: dict[str, Any]) -> None:
    """Offline capture analysis result."""
    from egressctl.verify.capture.offline import report_lines

    for text, style in report_lines(doc):
        console.print(text, style=style, markup=False, highlight=False)
