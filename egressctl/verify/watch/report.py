"""What a live watch found: per capture point totals, every leak flow with its exit, and the verdict.

The report is **clean** only when no leak was seen, the kernel dropped nothing, nothing was left
unverified, every agent ran to the end, and every capture point proved it watched the right link: it saw
packets from the site, some of them allowed (``liveness``, :mod:`egressctl.verify.liveness`); silence is
*unverified*, never clean. A leaf of the watch room: the CLI, the TUI and the shared human rendering read
it without pulling in the agent or the ring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from egressctl.inventory.models import CapturePoint
from egressctl.verify.liveness import liveness, verified

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6"}


@dataclass
class WatchReport:
    """Result of a live watch: per capture point totals and every leak flow with its exit."""

    site: str
    target: str
    seconds: float
    captures: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def drops(self) -> int:
        """Packets the kernel dropped before the watch could see them (all capture points)."""
        return sum(int(c.get("kernel_drops", 0)) for c in self.captures.values())

    @property
    def unverified(self) -> int:
        """Packets that could not be given a verdict (all capture points)."""
        return sum(int(c.get("unverified", 0)) for c in self.captures.values())

    @property
    def leak_packets(self) -> int:
        """Leak packets seen (all capture points)."""
        return sum(int(c.get("counters", {}).get("leaks", 0)) for c in self.captures.values())

    @property
    def related_packets(self) -> int:
        """ICMP errors of allowed flows seen (all capture points): leaving the site, never leaks."""
        return sum(int(c.get("counters", {}).get("related", 0)) for c in self.captures.values())

    @property
    def liveness(self) -> dict[str, dict[str, Any]]:
        """Per capture point: did it see site traffic it can account for (subject, permitted packets)."""
        out = {}
        for name, c in self.captures.items():
            counters = c.get("counters", {})
            out[name] = liveness(int(counters.get("subject", 0)), int(counters.get("permitted", 0)))
        return out

    @property
    def verdict(self) -> str:
        """``leak``, ``incomplete``, ``unverified`` or ``clean``.

        ``incomplete``: drops, unverified packets or a failed agent; ``unverified``: a capture point saw no
        site traffic it can account for.
        """
        if self.flows:
            return "leak"
        if self.errors or self.drops or self.unverified or not self.captures:
            return "incomplete"
        if not all(verified(v) for v in self.liveness.values()):
            return "unverified"
        return "clean"

    @property
    def ok(self) -> bool:
        """True only for a clean watch."""
        return self.verdict == "clean"

    @property
    def summary(self) -> str:
        """One paragraph for people."""
        lines = [f"watch {self.verdict}: {self.seconds:g} s at target {self.target}, "
                 f"{len(self.captures)} capture point(s)"]
        live = self.liveness
        for name, c in self.captures.items():
            lines.append(f"  {name}: {c.get('counters', {}).get('packets', 0)} packets, "
                         f"{c.get('counters', {}).get('leaks', 0)} leak packets, {c.get('unverified', 0)} "
                         f"unverified, {c.get('kernel_drops', 0)} kernel drops, "
                         f"{c.get('packets_per_cpu_s') or 0:.0f} packets per CPU-second")
            related = c.get("counters", {}).get("related", 0)
            if related:
                lines.append(f"    {related} ICMP errors of allowed flows (not leaks)")
            lines.append(f"    {live[name]['status']}: {live[name]['reason']}")
        lines += [f"  capture {k} failed: {v}" for k, v in self.errors.items()]
        lines += [f"  LEAK via exit {f['exit']}: {describe_flow(f)} ({f.get('packets', '?')} packets)"
                  for f in self.flows]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Document for ``--json`` (the final line of the stream) and the journal."""
        return {"event": "report", "site": self.site, "target": self.target, "seconds": self.seconds,
                "verdict": self.verdict, "ok": self.ok, "kernel_drops": self.drops,
                "unverified": self.unverified, "leak_packets": self.leak_packets,
                "related_packets": self.related_packets,
                "leaking_exits": sorted({f["exit"] for f in self.flows}), "flows": self.flows,
                "captures": {n: {**c, "liveness": self.liveness[n]} for n, c in self.captures.items()},
                "errors": self.errors, "summary": self.summary}


def describe_flow(f: dict[str, Any]) -> str:
    """``src:sport -> dst:dport proto [vlan N]``."""
    proto = PROTO_NAMES.get(int(f["proto"]), str(f["proto"]))
    ports = f["proto"] in (6, 17)
    src = f"{f['src']}:{f['sport']}" if ports else f["src"]
    dst = f"{f['dst']}:{f['dport']}" if ports else f["dst"]
    return f"{src} -> {dst} {proto}" + (f" vlan {f['vlan']}" if f.get("vlan") is not None else "")


def capture_name(cp: CapturePoint) -> str:
    """``exit (netns:iface)``, the key of a capture point in reports."""
    return f"{cp.exit} ({cp.netns + ':' if cp.netns else ''}{cp.interface})"
