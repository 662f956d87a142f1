"""A recorded backend for the TUI's screen tests.

Faithful to the documents the engine returns (``to_dict()`` shapes), but serves them from memory: this is
the test double at the TUI's one seam (``egressctl.tui.backend.Backend``). End-to-end behaviour through
the real engine on the lab is covered by ``test_tui_lab.py``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

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


class StaticBackend:
    """Serves fixed documents and simulates an operation's event stream (instantly, deterministically)."""

    def __init__(self, target: str = "normal", step_delay: float = 0.0) -> None:
        self.target = target
        self.step_delay = step_delay
        self.applied: list[str] = []
        self.lock = threading.Lock()

    def sites(self) -> list[Doc]:
        return [
            {
                "name": "lab",
                "state": self._state(),
                "target": self.target,
                "last_verdict": "cut-confirmed",
                "last_verified_at": _ago(120),
                "lock_owner": None,
            },
            {
                "name": "hospital-nord",
                "state": "normal",
                "target": "normal",
                "last_verdict": None,
                "last_verified_at": None,
                "lock_owner": None,
            },
        ]

    def _state(self) -> str:
        return {"normal": "normal", "isolated": "isolated"}.get(self.target, f"stage:{self.target}")

    def site(self, name: str) -> Doc:
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
            "verification": {
                "verdict": "cut-confirmed",
                "at": _ago(120),
                "matrix": [
                    {
                        "vantage": "ws1",
                        "target": "192.0.2.80 tcp/443",
                        "expected": "blocked",
                        "observed": "silent",
                        "ok": True,
                    },
                    {
                        "vantage": "ws1",
                        "target": "203.0.113.10 udp/500",
                        "expected": "reachable",
                        "observed": "answered",
                        "ok": True,
                    },
                ],
            },
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
                }
                for n, p, _, s in DEVICES
            ],
        }

    def apply(self, name: str, target: str, on_event: Any) -> Doc:
        with self.lock:
            self.applied.append(target)
        on_event({"event": "OperationStarted", "operation": "apply", "target": target})
        for n, *_ in DEVICES:
            for step in (
                "connect",
                "snapshot",
                "load",
                "commit",
                "readback",
                "mgmt-check",
                "confirm",
                "done",
            ):
                if self.step_delay:
                    time.sleep(self.step_delay)
                on_event({"event": "DeviceStep", "device": n, "step": step, "status": "ok", "detail": ""})
        self.target = target
        ver = {
            "verdict": "cut-confirmed" if target != "normal" else "normal-ok",
            "summary": "all probes as expected",
        }
        on_event({"event": "VerificationDone", **ver})
        return {"outcome": "ok", "state": self._state(), "verification": ver}

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
        }
        on_update(stats)
        return stats
