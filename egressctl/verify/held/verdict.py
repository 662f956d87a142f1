"""Judging held-open sessions: denied flows dead after the change, allowed flows alive.

A flow counts as *held* only if it was established when its agent said ``ready``, before any device was
touched; one that was not had nothing to survive and is listed as skipped, with one exception: a denied
flow answering *after* the change is a leak however it got there. A held flow that ended during the change
(a device's reset) is dead. After the mark, answers within ``grace`` may have been in flight and prove
nothing; a later one means the flow is alive. A vantage point whose agent failed or sent no report gives
``unknown`` for each of its flows, which is never a pass.

The entries are the verification document's ``held_sessions`` (the keys the TUI renders: vantage, exit,
devices, proto, src, sport, dst, dport, expect, observed, ok), plus ``purpose`` and when the flow last
answered (``last_answer_s`` after the change, ``last_answer_at`` as a UNIX time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from egressctl.verify.held.plan import HeldFlow

Entry = dict[str, Any]


@dataclass
class HeldReport:
    """Every held flow's verdict, the flows that could not be held, and agents that failed."""

    entries: list[Entry] = field(default_factory=list)
    skipped: list[Entry] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    cost_s: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every held flow did what the target says and every agent reported."""
        return not self.errors and all(e["ok"] for e in self.entries)

    @property
    def problems(self) -> list[str]:
        """Verdict words: ``leak`` (a denied flow survived), ``blocked-allowed``, ``unverified``."""
        bad = [e for e in self.entries if not e["ok"]]
        words = [("leak", any(e["observed"] == "alive" for e in bad)),
                 ("blocked-allowed", any(e["observed"] == "dead" for e in bad)),
                 ("unverified", bool(self.errors) or any(e["observed"] == "unknown" for e in bad))]
        return [w for w, hit in words if hit]

    @property
    def leaking_exits(self) -> list[str]:
        """Exits a denied session survived on, in first-seen order."""
        survived = [e for e in self.entries if not e["ok"] and e["observed"] == "alive"]
        return list(dict.fromkeys(e["exit"] for e in survived))

    def summary_lines(self) -> list[str]:
        """Lines for the verification summary: the counts, then every contradiction named."""
        alive = sum(e["observed"] == "alive" for e in self.entries)
        lines = [f"  held sessions: {len(self.entries)} held across the change ({alive} alive), "
                 f"{len(self.skipped)} could not be opened before it"]
        lines += [f"  held-session agent on {k} failed: {v}" for k, v in self.errors.items()]
        for e in self.entries:
            if e["ok"]:
                continue
            what = {"alive": "SESSION LEAK", "dead": "allowed session DROPPED"}.get(e["observed"], "UNKNOWN")
            lines.append(f"    {what}: {describe(e)}")
        return lines

    def details(self) -> dict[str, Any]:
        """The keys this report adds to a verification document."""
        return {"held_sessions": self.entries, "held_sessions_ok": self.ok,
                "held_sessions_skipped": self.skipped, "held_sessions_errors": self.errors,
                "held_sessions_cost_s": self.cost_s}


def describe(e: Entry) -> str:
    """``vantage proto src:sport -> dst:dport via exit X (devices a, b), expected E, last answer ...``."""
    devices = ", ".join(e["devices"]) or "none"
    src = f"{e['src']}:{e['sport']}" if e.get("sport") else e["src"]
    last = e.get("last_answer_s")
    heard = "never answered" if last is None else f"last answer {last:+.1f} s from the change"
    return (f"{e['vantage']} {e['proto']} {src} -> {e['dst']}:{e['dport']} via exit {e['exit']} "
            f"(devices {devices}; {e['purpose']}), expected {e['expect']}, {heard}")


def _entry(f: HeldFlow, sport: int, observed: str, last: float | None, wall: float | None) -> Entry:
    return {"vantage": f.vantage, "exit": f.exit, "devices": list(f.devices), "proto": f.proto,
            "src": f.src, "sport": sport, "dst": f.dst, "dport": f.dport, "expect": f.expect,
            "observed": observed, "ok": observed == f.expect, "purpose": f.purpose, "last_answer_s": last,
            "last_answer_at": None if last is None or wall is None else round(wall + last, 3)}


def _judge_one(f: HeldFlow, seen: dict[str, Any], ready: dict[str, Any], grace: float,
               wall: float) -> tuple[Entry | None, str]:
    """The flow's entry, or None and why it was not held."""
    last = seen.get("last_answer_s")
    sport = int(seen.get("sport") or ready.get("sport") or 0)
    answered_after = last is not None and last > grace
    if not ready.get("established"):
        if f.expect == "dead" and answered_after:
            return _entry(f, sport, "alive", last, wall), ""
        return None, str(ready.get("error") or "no answer before the change")
    return _entry(f, sport, "alive" if answered_after else "dead", last, wall), ""


def judge(flows: dict[str, list[HeldFlow]], ready: dict[str, dict[str, dict[str, Any]]],
          reports: dict[str, dict[str, Any]], errors: dict[str, str], grace: float,
          marked_wall: float) -> HeldReport:
    """Judge every planned flow from its agent's report (``unknown`` where there is none)."""
    out = HeldReport(errors=dict(errors))
    for vp, planned in flows.items():
        rep = {str(r["id"]): r for r in reports.get(vp, {}).get("flows", [])}
        for f in planned:
            seen = rep.get(f.id)
            if seen is None:
                sport = int(ready.get(vp, {}).get(f.id, {}).get("sport") or 0)
                out.entries.append(_entry(f, sport, "unknown", None, None))
                continue
            entry, why = _judge_one(f, seen, ready.get(vp, {}).get(f.id, {}), grace, marked_wall)
            if entry is not None:
                out.entries.append(entry)
            else:
                out.skipped.append({"vantage": f.vantage, "exit": f.exit, "proto": f.proto, "src": f.src,
                                    "dst": f.dst, "dport": f.dport, "expect": f.expect, "purpose": f.purpose,
                                    "reason": why})
    return out
