"""Beacon report: which inside hosts keep trying to reach blocked destinations, ranked.

During an isolation, an infected host usually keeps calling home. Every packet that leaves an inside host
toward a destination the current stage does not permit is exactly what the watch (and the capture
analysis) call a leak packet, so the beacon report is those flows folded per inside host: packets, flows,
distinct destinations, and per destination (address, protocol, port) the counts and first/last time,
hosts ranked by packets. Seen on an upstream link they are real leaks; seen on an inside link (a capture
point on the LAN, ``--capture``) they are attempts the firewall stopped. The ranking is the same as the
offline analysis' (:func:`egressctl.verify.flows.beacons`), so a live watch and a capture agree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from egressctl.verify.capture.offline import CaptureReport
from egressctl.verify.flows import Beacon, LeakFlow, beacons

CSV_HEADER = ["rank", "host", "host_packets", "host_flows", "destinations", "dst", "proto", "dport",
              "packets", "flows", "first_ns", "last_ns"]


@dataclass
class BeaconReport:
    """Ranked beacons of one watch or capture."""

    source: str
    target: str
    beacons: list[Beacon]

    @classmethod
    def from_flows(cls, flows: Iterable[dict[str, Any]], target: str, source: str = "watch",
                   top: int = 20) -> BeaconReport:
        """From leak flows as the live watch reports them (dicts with src, dst, proto, ports, counts)."""
        lf = [LeakFlow(int(f["family"]), int(f["proto"]), str(f["src"]), str(f["dst"]), int(f["sport"]),
                       int(f["dport"]), int(f.get("packets", 1)), int(f.get("bytes", 0)),
                       int(f.get("first_ns", 0)), int(f.get("last_ns", 0))) for f in flows]
        return cls(source, target, beacons(lf, top=top))

    @classmethod
    def from_capture(cls, report: CaptureReport) -> BeaconReport:
        """From an offline capture analysis."""
        return cls(f"pcap:{report.path}", report.target, list(report.beacons))

    def rows(self) -> list[list[Any]]:
        """One row per (rank, host, destination), in rank order (the CSV body)."""
        out: list[list[Any]] = []
        for rank, b in enumerate(self.beacons, 1):
            out += [[rank, b.host, b.packets, b.flows, b.destinations, t.dst, t.proto, t.dport, t.packets,
                     t.flows, t.first_ns, t.last_ns] for t in b.targets]
        return out

    def to_csv(self, path: Path | None = None) -> str:
        """CSV text (written to ``path`` when given)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_HEADER)
        w.writerows(self.rows())
        if path is not None:
            path.write_text(buf.getvalue())
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        """JSON document."""
        return {"source": self.source, "target": self.target, "hosts": len(self.beacons),
                "beacons": [asdict(b) for b in self.beacons]}

    def text(self, limit: int = 10) -> str:
        """Ranked lines for people."""
        if not self.beacons:
            return "no inside host tried a blocked destination"
        lines = [f"{len(self.beacons)} inside host(s) tried blocked destinations (most active first):"]
        for rank, b in enumerate(self.beacons[:limit], 1):
            tops = ", ".join(f"{t.dst} {t.proto}/{t.dport} x{t.packets}" for t in b.targets[:3])
            lines.append(f"  {rank}. {b.host}: {b.packets} packets, {b.destinations} destination(s): {tops}")
        return "\n".join(lines)
