"""A recorded backend for the TUI's screen tests.

Faithful to the documents the engine returns (``to_dict()`` shapes), but serves them from memory: this is
the test double at the TUI's one seam (``egressctl.tui.backend.Backend``). End-to-end behaviour through
the real engine on the lab is covered by ``test_tui_lab.py``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from egressctl.planner import CONTROLLER_DEADMAN, SESSIONS_SURVIVE
from egressctl.tui.proof import verification_rows

Doc = dict[str, Any]


def _ago(seconds: float) -> float:
    """A timestamp ``seconds`` before now, taken when the document is served: ages render as fixed
    "2m"-style strings however long after import the snapshot is taken (the lab tests run first)."""
    return time.time() - seconds


DEVICES = [
    ("fw-a", "paloalto_panos", "primary", "snapshot + guarded commit"),
    ("ce-a", "cisco_ios", "primary", "native commit-confirm"),
    ("core-b", "linux_nftables", "backup", "controller-armed timer on the device"),
    ("fw-b", "fortinet", "backup", "native commit-confirm"),
    ("ce-b", "juniper_junos", "backup", "native commit-confirm"),
]
# per device: session handling, whether its driver ends sessions, whether it reverts on its own. ce-b is
# served as if its driver lacked session kill (the planner's test fault), so the "survive" warning shows.
SESSIONS = {
    "fw-a": ("rechecked", True, False),
    "ce-a": ("stateless", False, True),
    "core-b": ("kept", True, True),
    "fw-b": ("rechecked", True, True),
    "ce-b": ("kept", False, True),
}
CLEARED = {"fw-a": (2, 2), "core-b": (1, 1), "fw-b": (3, 2)}  # matched, cleared
HELD = [
    {"vantage": "ws1", "exit": "primary", "devices": ["fw-a", "ce-a"], "proto": "tcp", "src": "10.10.1.11",
     "sport": 40100, "dst": "192.0.2.80", "dport": 443, "expect": "dead", "observed": "dead", "ok": True},
    {"vantage": "ws1", "exit": "backup", "devices": ["core-b", "fw-b", "ce-b"], "proto": "tcp",
     "src": "10.10.1.11", "sport": 40101, "dst": "203.0.113.10", "dport": 500, "expect": "alive",
     "observed": "alive", "ok": True},
]


def _live(site_packets: int, allowed: int) -> Doc:
    """A capture point's liveness as the verification writes it."""
    return {"liveness": {"status": "verified" if allowed else "unverified",
                         "reason": f"{site_packets} packets from the site, {allowed} of them allowed",
                         "site_packets": site_packets, "allowed_packets": allowed}}


CAPTURES = {"primary (ns-isp-a:eth0)": _live(1200, 40), "backup (ns-isp-b:eth0)": _live(800, 22)}


class StaticBackend:
    """Serves fixed documents and simulates an operation's event stream (instantly, deterministically)."""

    def __init__(self, target: str = "normal", step_delay: float = 0.0, estate: int = 2) -> None:
        self.target = target
        self.step_delay = step_delay
        self.estate = estate
        self.applied: list[str] = []
        self.lock = threading.Lock()

    def sites(self) -> list[Doc]:
        lab = {"name": "lab", "state": self._state(), "target": self.target, "devices": 5,
               "last_verdict": "cut-confirmed", "last_verified_at": _ago(120),
               "last_operation": "isolate ok", "last_operation_at": _ago(130), "lock_owner": None}
        nord = {"name": "hospital-nord", "state": "normal", "target": "normal", "devices": 3,
                "last_verdict": None, "last_verified_at": None, "last_operation": None,
                "last_operation_at": None, "lock_owner": None}
        return [lab, nord, *_estate()[: max(0, self.estate - 2)]]

    def _state(self) -> str:
        return {"normal": "normal", "isolated": "isolated"}.get(self.target, f"stage:{self.target}")

    def site(self, name: str) -> Doc:
        details = {
            "matrix": [
                {"vantage": "ws1", "dst": "192.0.2.80", "proto": "tcp", "port": 443, "expected": "blocked",
                 "observed": "silent"},
                {"vantage": "ws1", "dst": "203.0.113.10", "proto": "udp", "port": 500,
                 "expected": "reachable", "observed": "answered"},
            ],
            "held_sessions": [HELD[0], {**HELD[1], "observed": "dead", "ok": False}],
            "held_sessions_ok": False,
            "watch": {"captures": {**CAPTURES, "backup (ns-isp-b:eth0)": {"liveness": {
                "status": "unverified", "reason": "no packet from the site", "site_packets": 0,
                "allowed_packets": 0}}}},
        }
        return self._site(name, details)

    def _site(self, name: str, details: Doc) -> Doc:
        return {
            "name": name,
            "state": self._state(),
            "target": self.target,
            "stages": [{"name": "ministry"}, {"name": "allowlist"}],
            "devices": [
                {
                    "name": n,
                    "platform": p,
                    "exit": e,
                    "safety_net": s,
                    "reachable": True,
                    "target": self.target,
                    "pending": False,
                }
                for n, p, e, s in DEVICES
            ],
            "verification": {"verdict": "blocked-allowed+unverified", "at": _ago(120),
                             "matrix": verification_rows(details)},
            "journal": [{"at": _ago(130), "event": "OperationFinished", "detail": "isolate ok"}],
        }

    def targets(self, name: str) -> list[str]:
        return ["isolated", "ministry", "allowlist", "normal"]

    def plan(self, name: str, target: str) -> Doc:
        return {
            "site": name,
            "target": target,
            "opens": [] if target == "isolated" else ["stage-mail-relay"],
            "devices": [
                {
                    "device": n,
                    "platform": p,
                    "safety_net": s,
                    "noop": False,
                    "lines": [f"# {target} on {n}", "deny egress"],
                    "session_handling": SESSIONS[n][0],
                    "ends_sessions": target == "isolated" and SESSIONS[n][1],
                    "warnings": _warnings(n, target),
                }
                for n, p, _, s in DEVICES
            ],
        }

    def apply(self, name: str, target: str, on_event: Any) -> Doc:
        with self.lock:
            self.applied.append(target)
        on_event({"event": "OperationStarted", "operation": "apply", "target": target})
        results = [self._device(n, target, on_event) for n, *_ in DEVICES]
        self.target = target
        details = {"held_sessions": HELD, "held_sessions_ok": True, "watch": {"captures": CAPTURES}}
        ver = {
            "verdict": "cut-confirmed" if target != "normal" else "normal-ok",
            "summary": "all probes as expected",
            "details": details if target == "isolated" else {},
        }
        on_event({"event": "VerificationDone", **ver})
        warnings = [f"{r['device']}: {w}" for r in results for w in r["warnings"]]
        attention = f"; needs attention: {'; '.join(warnings)}" if warnings else ""
        message = f"{name} is {self._state()}{attention}"
        return {"outcome": "ok", "state": self._state(), "verification": ver, "devices": results,
                "warnings": warnings, "message": message}

    def _device(self, n: str, target: str, on_event: Any) -> Doc:
        """One device's steps (the sessions step on an isolation where its driver ends sessions)."""
        for step in ("connect", "snapshot", "load", "commit", "readback", "mgmt-check", "confirm"):
            if self.step_delay:
                time.sleep(self.step_delay)
            on_event({"event": "DeviceStep", "device": n, "step": step, "status": "ok", "detail": ""})
        result: Doc = {"device": n, "outcome": "changed", "sessions": None, "warnings": []}
        if target == "isolated" and SESSIONS[n][1]:
            on_event({"event": "DeviceStep", "device": n, "step": "sessions", "status": "started"})
            if n == "core-b":  # the step fails: the cut stays, the operation needs attention
                error = "conntrack -D timed out"
                result["sessions"] = {"ok": False, "error": error}
                result["warnings"] = [f"sessions could not be ended (the cut stays): {error}"]
                on_event({"event": "DeviceStep", "device": n, "step": "sessions", "status": "failed",
                          "detail": error})
            else:
                matched, cleared = CLEARED[n]
                doc = {"ok": True, "handling": SESSIONS[n][0], "matched": matched, "cleared": cleared,
                       "detail": ""}
                result["sessions"] = doc
                on_event({"event": "DeviceStep", "device": n, "step": "sessions", "status": "ok",
                          "detail": f"{matched} matched, {cleared} cleared", "data": {"sessions": doc}})
        on_event({"event": "DeviceStep", "device": n, "step": "done", "status": "ok",
                  "detail": "; ".join(result["warnings"])})
        return result

    def verify(self, name: str) -> Doc:
        return {"verdict": "cut-confirmed", "summary": "18/18 probes as expected", "ok": True}

    def history(self, name: str) -> list[Doc]:
        return [
            {"at": _ago(200), "op_id": "op1abcdef", "event": "OperationStarted", "detail": "isolate"},
            {
                "at": _ago(190),
                "op_id": "op1abcdef",
                "event": "DeviceStep",
                "device": "ce-a",
                "detail": "commit ok",
            },
        ]

    def verify_history(self) -> Doc:
        return {"ok": True, "message": "42 entries"}

    def watch(self, name: str, seconds: float, on_update: Any, target: str | None = None) -> Doc:
        stats = {
            "packets": 1000,
            "leak_packets": 0,
            "drops": 0,
            "unverified": 0,
            "rate": 100.0,
            "leak_flows": [],
            "beacons": [{"host": "10.10.1.11", "attempts": 12, "destinations": ["192.0.2.80:443"]}],
            "liveness": {
                "primary (ns-isp-a:eth0)": CAPTURES["primary (ns-isp-a:eth0)"]["liveness"],
                "backup (ns-isp-b:eth0)": {"status": "unverified", "reason": "no packet from the site: wrong "
                                           "or idle link", "site_packets": 0, "allowed_packets": 0},
            },
        }
        on_update(stats)
        return stats


def _warnings(device: str, target: str) -> list[str]:
    """The planner's warnings for ``device`` (the same rule: egressctl.planner.plan_warnings)."""
    handling, kills, reverts = SESSIONS[device]
    out = [SESSIONS_SURVIVE] if target == "isolated" and not kills and handling == "kept" else []
    return out + ([] if reverts else [CONTROLLER_DEADMAN])


def _estate() -> list[Doc]:
    """Eight more sites for the estate view: every state, verdicts old and new, a lock, a failure."""
    rows = [
        ("clinic-est", "isolated", 3, "cut-confirmed", 300, "isolate ok", None),
        ("clinic-ouest", "stage:ministry", 4, "cut-confirmed", 7200, "restore ok", None),
        ("hq", "normal", 12, "normal-ok", 86400 * 3, "restore ok", None),
        ("lab-annex", "failed-partial", 2, "leak", 900, "isolate partial", None),
        ("maternity", "isolating", 5, None, None, "isolate running", "ops1:4242"),
        ("pharmacy", "normal", 2, "normal-ok", 86400 * 40, "restore ok", None),
        ("radiology", "isolated", 6, "cut-confirmed+unverified", 60, "isolate ok", None),
        ("warehouse", "normal", 1, None, None, None, None),
    ]
    return [
        {"name": n, "state": st, "target": st.removeprefix("stage:"), "devices": d, "last_verdict": v,
         "last_verified_at": None if ago is None else _ago(ago), "last_operation": op,
         "last_operation_at": None if ago is None else _ago(ago + 30), "lock_owner": lock}
        for n, st, d, v, ago, op, lock in rows
    ]

