"""The leak watch's running totals across capture points, folded from its event stream on the worker.

``egressctl verify --watch --json`` sends a ``stats`` line per capture point every second, a ``leak`` line
per new leak flow (hundreds in a burst when a cut is not yet in place), an ``end`` per capture point and
a final ``report``. The totals (with the beacon grouping, linear in the flows seen) used to be recomputed
and sent to the UI for every line; :class:`WatchTotals` folds every line but builds and sends the totals
only on ``stats``/``end`` lines and at most every :data:`PACE` seconds in between.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

# Imported here, not when the watch starts: an import holds the interpreter lock for ~0.1 s, a visible
# freeze if it happens in a worker while the operator is typing.
from egressctl.verify.beacon import BeaconReport

Doc = dict[str, Any]
PACE = 0.25


def _liveness_rule() -> Callable[[int, int], Doc] | None:
    """The verification's liveness rule (one rule for CLI, JUnit and TUI), when this install has it."""
    try:
        module = importlib.import_module("egressctl.verify.liveness")
    except ImportError:
        return None
    rule: Callable[[int, int], Doc] | None = getattr(module, "liveness", None)
    return rule


class WatchTotals:
    """Running totals of one watch (``target`` judges the beacons)."""

    def __init__(
        self, target: str, on_update: Callable[[Doc], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.target = target
        self.on_update = on_update
        self.report: Doc = {}
        self._clock = clock
        self._latest: dict[str, Doc] = {}
        self._flows: list[Doc] = []
        self._sent = float("-inf")
        self._rule = _liveness_rule()

    def on_event(self, ev: Doc) -> None:
        """Fold one line of the watch's stream; send the totals when due."""
        kind = ev.get("event")
        if kind == "report":
            self.report.update(ev)
            return
        if kind in ("stats", "end"):
            self._latest[str(ev.get("capture"))] = ev
        elif kind == "leak":
            self._flows.append({**ev.get("flow", {}), "exit": ev.get("exit"), "packets": 1})
        else:
            return
        now = self._clock()
        if kind != "leak" or now - self._sent >= PACE:
            self._sent = now
            self.on_update(self.totals())

    def final(self) -> Doc:
        """The totals from the final report (its flows with packet counts, its captures' liveness)."""
        self._flows[:] = self.report.get("flows", [])
        self._latest.update(self.report.get("captures") or {})
        verdict, errors = self.report.get("verdict"), self.report.get("errors", {})
        return {**self.totals(), "verdict": verdict, "errors": errors}

    def _liveness(self, cap: Doc) -> Doc | None:
        """A capture point's liveness: the report's, else the same rule over its counters so far."""
        if isinstance(cap.get("liveness"), dict):
            return dict(cap["liveness"])
        counters = cap.get("counters") or {}
        if self._rule is None or "subject" not in counters:
            return None
        return self._rule(int(counters.get("subject", 0)), int(counters.get("permitted", 0)))

    def totals(self) -> Doc:
        """Packets, leaks, drops, rate, leak flows, beaconing hosts and liveness across capture points."""
        cs = list(self._latest.values())
        flows = self._flows
        beacons = BeaconReport.from_flows(flows, self.target).to_dict()["beacons"] if flows else []
        live = {name: doc for name, c in self._latest.items() if (doc := self._liveness(c)) is not None}
        return {
            "packets": sum(int(c.get("counters", {}).get("packets", 0)) for c in cs),
            "leak_packets": sum(int(c.get("counters", {}).get("leaks", 0)) for c in cs),
            "drops": sum(int(c.get("kernel_drops", 0)) for c in cs),
            "unverified": sum(int(c.get("unverified", 0)) for c in cs),
            "rate": sum(float(c.get("pps", 0) or 0) for c in cs),
            "leak_flows": [
                {
                    "key": "|".join(str(f.get(k)) for k in ("exit", "proto", "src", "sport", "dst", "dport")),
                    "exit": f.get("exit"),
                    "flow": f"{f.get('src')} -> {f.get('dst')} p{f.get('proto')}/{f.get('dport')}",
                    "packets": f.get("packets", ""),
                }
                for f in self._flows
            ],
            "beacons": [
                {
                    "host": b.get("host"),
                    "attempts": b.get("packets"),
                    "destinations": [f"{t.get('dst')}:{t.get('dport')}" for t in b.get("targets", [])],
                }
                for b in beacons
            ],
            "liveness": live,
        }
