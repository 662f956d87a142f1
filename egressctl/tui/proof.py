"""Pure text for what an isolation proves beyond its rules: sessions ended, held sessions, watch liveness.

Shared by the confirmation modal (the plan's warnings), the operation screen (sessions per device, the
verification's held sessions), the site screen (last verification) and the watch screen (liveness). Every
function tolerates a missing key: documents written before these fields existed still render.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
Styled = tuple[str, str]

_HANDLING = {
    "stateless": ("stateless", "dim"),
    "rechecked": ("rechecked", "dim"),
    "kept": ("SURVIVE", "b yellow"),
    "unknown": ("unknown", "yellow"),
}


def sessions_cell(report: Doc | None, plan: Doc | None = None, target: str = "isolated") -> Styled:
    """A device's sessions column: ``2/2 cleared``, ``stateless``, ``SURVIVE``, ``FAILED`` or ``-``.

    ``report`` is the ``sessions`` step's (or the result's) document; without one the plan says what will
    happen: only an isolation ends sessions, a device that cannot end kept sessions shows ``SURVIVE``.
    """
    if report:
        if report.get("ok") is False:
            return "FAILED", "b red"
        if report.get("handling") == "stateless":
            return "stateless", "dim"
        matched, cleared = int(report.get("matched") or 0), int(report.get("cleared") or 0)
        return f"{cleared}/{matched} cleared", "green" if cleared >= matched else "b yellow"
    if target != "isolated" or plan is None:
        return "-", "dim"
    if plan.get("ends_sessions"):
        return "", ""  # the sessions step will say
    return _HANDLING.get(str(plan.get("session_handling") or "unknown"), ("unknown", "yellow"))


def grouped_warnings(devices: list[Doc]) -> list[str]:
    """The plan's per-device warnings, one line per distinct warning naming its devices."""
    by_text: dict[str, list[str]] = {}
    for dev in devices:
        for warning in dev.get("warnings") or []:
            by_text.setdefault(str(warning), []).append(str(dev.get("device") or dev.get("name") or "?"))
    return [f"{', '.join(names)}: {text}" for text, names in by_text.items()]


def flow_text(entry: Doc) -> str:
    """``tcp 10.10.1.11:40100 -> 192.0.2.80:443`` for a held session entry."""
    sport = f":{entry['sport']}" if entry.get("sport") else ""
    dport = f":{entry['dport']}" if entry.get("dport") else ""
    return f"{entry.get('proto', '?')} {entry.get('src', '?')}{sport} -> {entry.get('dst', '?')}{dport}"


def held_rows(details: Doc) -> list[Doc]:
    """The verification's held-open sessions as rows of the probe matrix table (``ok``, from, to, ...)."""
    return [
        {
            "ok": bool(e.get("ok")),
            "vantage": e.get("vantage", ""),
            "target": f"{e.get('dst', '?')} {e.get('proto', '?')}/{e.get('dport', '')} (held)",
            "expected": e.get("expect", ""),
            "observed": e.get("observed", ""),
        }
        for e in details.get("held_sessions") or []
    ]


def held_summary(details: Doc) -> Styled | None:
    """One line on the held sessions' fate, or None when the verification held none."""
    entries = details.get("held_sessions") or []
    if not entries:
        return None
    bad = [e for e in entries if not e.get("ok")]
    if not bad and details.get("held_sessions_ok", True):
        return f"held sessions: {len(entries)}/{len(entries)} as expected", "green"
    worst = "; ".join(
        f"{e.get('vantage', '?')} {flow_text(e)} {e.get('observed', '?')} (expected {e.get('expect', '?')})"
        for e in bad[:2]
    )
    return f"held sessions: {len(bad)} of {len(entries)} NOT as expected: {worst}", "b red"


def held_lines(details: Doc) -> list[Styled]:
    """One log line per held session that did not end as expected (the ones an operator must chase)."""
    return [
        (
            f"held session {e.get('vantage', '?')} {flow_text(e)} via exit {e.get('exit', '?')} "
            f"({', '.join(e.get('devices') or []) or 'no device'}): expected {e.get('expect', '?')}, "
            f"observed {e.get('observed', '?')}",
            "b red",
        )
        for e in details.get("held_sessions") or []
        if not e.get("ok")
    ]


def liveness_lines(captures: Doc) -> list[Styled]:
    """Per capture point whether the watch proved it saw the site's traffic (``liveness``)."""
    out: list[Styled] = []
    for name, cap in captures.items():
        live = cap.get("liveness") if isinstance(cap, dict) else None
        if not isinstance(live, dict):
            continue
        if live.get("status") == "verified":
            out.append((f"{name}: live ({live.get('site_packets', 0)} site packets, "
                        f"{live.get('allowed_packets', 0)} allowed)", "green"))
        else:
            out.append((f"{name}: UNVERIFIED: {live.get('reason', 'no site traffic seen')}", "b yellow"))
    return out


def probe_row(cell: Doc) -> Doc:
    """One probe of the matrix as a row of the site screen's verification table."""
    return {
        "vantage": cell.get("vantage"),
        "target": f"{cell.get('dst')} {cell.get('proto')}/{cell.get('port')}",
        "expected": cell.get("expected"),
        "observed": cell.get("observed"),
        "ok": not cell.get("problem"),
    }


def verification_rows(details: Doc) -> list[Doc]:
    """Every proof of a verification as table rows: probes, held-open sessions, and watch liveness.

    A capture point's liveness is a row too (from ``watch``, to the capture point, expected ``live``), so
    an unproven capture sorts with the failures instead of hiding behind a clean leak count.
    """
    rows = [probe_row(c) for c in details.get("matrix") or []] + held_rows(details)
    for name, cap in ((details.get("watch") or {}).get("captures") or {}).items():
        live = cap.get("liveness") if isinstance(cap, dict) else None
        if isinstance(live, dict):
            ok = live.get("status") == "verified"
            rows.append({"ok": ok, "vantage": "watch", "target": name, "expected": "live",
                         "observed": "live" if ok else "unverified"})
    return rows
