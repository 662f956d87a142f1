"""Probe plans and results: the records both sides of ``egressctl probe --json --plan -`` exchange.

A leaf module (no other verification imports but the wire's protocol names) so the engine, the
classifier, the matrix and the active verification can all share these types without import circles.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from egressctl.errors import VerificationError
from egressctl.verify.probe.wire import Proto

Outcome = Literal["answered", "refused", "silent"]
PLAN_VERSION = 1
MAX_PROBES = 25_000


@dataclass(frozen=True)
class Probe:
    """One probe: a TCP SYN to ``dport``, a UDP datagram to ``dport`` or an ICMP echo (``dport`` 0).

    ``listening`` says a service is expected to answer there, so an RST that cannot be shown to come from
    the destination itself is taken as a device's refusal rather than an answer.
    """

    id: str
    family: int
    proto: Proto
    dst: str
    dport: int = 0
    src: str | None = None
    listening: bool = True


@dataclass
class ProbeResult:
    """What happened to one probe."""

    id: str
    outcome: Outcome
    detail: str
    responder: str | None = None
    hops: int | None = None
    rtt_ms: float | None = None


@dataclass
class ProbeRun:
    """All results of one plan, with counters for the report."""

    results: list[ProbeResult]
    elapsed_s: float
    stats: dict[str, int] = field(default_factory=dict)
    host: str = field(default_factory=socket.gethostname)

    def to_dict(self) -> dict[str, Any]:
        """JSON document printed by ``egressctl probe --json``."""
        return {"version": PLAN_VERSION, "host": self.host, "elapsed_s": round(self.elapsed_s, 4),
                "stats": self.stats, "results": [asdict(r) for r in self.results]}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ProbeRun:
        """Parse the document printed by ``egressctl probe --json``."""
        try:
            return cls([ProbeResult(**r) for r in doc["results"]], float(doc["elapsed_s"]),
                       dict(doc.get("stats", {})), str(doc.get("host", "?")))
        except (KeyError, TypeError, ValueError) as exc:
            raise VerificationError(f"malformed probe results: {exc}") from None


def plan_to_json(probes: list[Probe], timeout: float, retries: int = 1) -> str:
    """Serialise a probe plan for ``egressctl probe --plan -``."""
    return json.dumps({"version": PLAN_VERSION, "timeout": timeout, "retries": retries,
                       "probes": [asdict(p) for p in probes]})


def plan_from_json(text: str) -> tuple[list[Probe], float, int]:
    """Parse a probe plan; raises VerificationError on anything malformed."""
    try:
        doc = json.loads(text)
        probes = [Probe(**p) for p in doc["probes"]]
        timeout, retries = float(doc.get("timeout", 1.0)), int(doc.get("retries", 1))
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"malformed probe plan: {exc}") from None
    for p in probes:
        if p.family not in (4, 6) or p.proto not in ("tcp", "udp", "icmp") or not 0 <= p.dport <= 65535:
            raise VerificationError(f"malformed probe {p.id!r}")
    if not 0 < timeout <= 60 or not 0 <= retries <= 3 or len(probes) > MAX_PROBES:
        raise VerificationError("probe plan out of bounds (timeout 0-60 s, retries 0-3, <= 25000 probes)")
    return probes, timeout, retries
