"""``egressctl verify SITE --pcap FILE [--stage NAME]``: a capture checked exactly against a target's policy.

The walk, the per-packet verdicts and the leak *flows* (5-tuples with packet and byte counts, first and
last seen) are ``capture.parallel``'s (every core, memory following the number of distinct flows, not
the size of the file); this module turns them into the report and the beacon report (per inside host:
which blocked destinations it keeps trying, ranked).
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from egressctl.verify.capture import defs as d
from egressctl.verify.capture.parallel import scan_flows
from egressctl.verify.capture.scan import EngineName
from egressctl.verify.flows import Beacon, LeakFlow, beacons
from egressctl.verify.liveness import liveness, verified

if TYPE_CHECKING:
    from egressctl.inventory.models import Site
    from egressctl.verify.matcher import CompiledPolicy


@dataclass
class CaptureReport:
    """Everything ``verify --pcap`` reports; ``ok`` only when no leak, nothing unverified, and live."""

    path: str
    site: str
    target: str
    engine: str
    format: str
    packets: int
    bytes: int
    subject_packets: int
    permitted_packets: int
    leak_packets: int
    leak_bytes: int
    related_packets: int  # ICMP errors of allowed flows: leaving the site, never leaks (matcher.RELATED)
    not_subject_packets: int
    non_ip_packets: int
    vlan_tagged_packets: int
    ipv4_packets: int
    ipv6_packets: int
    unverified: dict[str, int]
    rule_hits: dict[str, int]
    leak_flows: list[LeakFlow]
    beacons: list[Beacon]
    elapsed_s: float
    errors: list[str] = field(default_factory=list)
    unread_bytes: int = 0

    @property
    def unverified_packets(self) -> int:
        """Packets whose verdict could not be established (never counted as clean)."""
        return sum(self.unverified.values())

    @property
    def packets_per_s(self) -> float:
        """Throughput of the analysis."""
        return self.packets / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def liveness(self) -> dict[str, Any]:
        """Whether the file shows site traffic it can account for (an empty or foreign capture does not)."""
        return liveness(self.subject_packets, self.permitted_packets)

    @property
    def ok(self) -> bool:
        """True only for a capture fully read, fully verified, live, and without any leak."""
        return self.verdict == "clean"

    @property
    def verdict(self) -> str:
        """``clean``, ``leak``, ``unverified`` or ``leak+unverified``.

        Unverified: unverified packets, read errors, or no site traffic the policy allows (a capture is
        never proven clean from silence).
        """
        unproven = self.unverified_packets or self.errors or not verified(self.liveness)
        parts = [w for w, bad in (("leak", self.leak_packets), ("unverified", unproven)) if bad]
        return "+".join(parts) or "clean"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document (``verify --pcap --json``)."""
        out = asdict(self)
        out["leak_flows"] = [{**asdict(f), "proto": f.proto_name} for f in self.leak_flows]
        out.update(ok=self.ok, verdict=self.verdict, liveness=self.liveness,
                   unverified_packets=self.unverified_packets,
                   packets_per_s=round(self.packets_per_s, 1))
        return out

    def beacons_csv(self, out: IO[str] | None = None) -> str:
        """Beacon report as CSV (one row per host and blocked target, ranked); returned and/or written."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["rank", "host", "host_packets", "dst", "proto", "dport", "packets", "flows",
                    "first_ns", "last_ns"])
        for rank, b in enumerate(self.beacons, 1):
            for t in b.targets:
                w.writerow([rank, b.host, b.packets, t.dst, t.proto, t.dport, t.packets, t.flows, t.first_ns,
                            t.last_ns])
        text = buf.getvalue()
        if out is not None:
            out.write(text)
        return text

    def flows_csv(self, out: IO[str] | None = None) -> str:
        """Leak flows as CSV; returned and/or written."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["family", "proto", "src", "sport", "dst", "dport", "packets", "bytes", "first_ns",
                    "last_ns"])
        for f in self.leak_flows:
            w.writerow([f.family, f.proto_name, f.src, f.sport, f.dst, f.dport, f.packets, f.bytes,
                        f.first_ns, f.last_ns])
        text = buf.getvalue()
        if out is not None:
            out.write(text)
        return text


def analyze(path: str | Path, site: Site, target: str, *, engine: EngineName = "auto") -> CaptureReport:
    """Check every packet of a pcap/pcapng capture against ``site``'s policy at ``target``.

    Raises:
        PolicyError: ``target`` is not a target of the site.
        VerificationError: the file cannot be read as a capture at all.
    """
    from egressctl.policy import compute_policy
    from egressctl.verify.matcher import CompiledPolicy

    cp = CompiledPolicy.compile(compute_policy(site, target), site)
    return analyze_compiled(path, cp, site.name, target, engine=engine)


def analyze_compiled(path: str | Path, cp: CompiledPolicy, site: str, target: str, *,
                     engine: EngineName = "auto") -> CaptureReport:
    """:func:`analyze` with the policy already compiled (``verify --pcap``'s fast path caches it).

    Raises:
        VerificationError: the file cannot be read as a capture at all.
    """
    t0 = time.perf_counter()
    res, flows = scan_flows(path, cp, engine=engine)
    elapsed = time.perf_counter() - t0
    c = res.counters
    return CaptureReport(
        path=str(path), site=site, target=target, engine=res.engine, format=res.fmt,
        packets=c["packets"], bytes=c["bytes"], subject_packets=c["subject"],
        permitted_packets=c["permitted"], leak_packets=c["leaks"], leak_bytes=c["leak_bytes"],
        related_packets=c["related"],
        not_subject_packets=c["not_subject"], non_ip_packets=c["non_ip"], vlan_tagged_packets=c["vlan"],
        ipv4_packets=c["ipv4"], ipv6_packets=c["ipv6"], unverified={k: c[k] for k in d.UNVERIFIED},
        rule_hits={n: h for n, h in zip(cp.rule_names, res.rule_hits, strict=True) if h},
        leak_flows=flows, beacons=beacons(flows), elapsed_s=elapsed, errors=res.errors,
        unread_bytes=res.unread_bytes)


def report_lines(doc: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The human lines of a report document (``to_dict()``), each with its rich style.

    Here rather than in :mod:`egressctl.verify.report` so that the fast path of ``verify --pcap`` prints
    the very same lines without importing rich when its output is plain text.
    """
    lines: list[tuple[str, str | None]] = [(
        f"capture {doc['path']} at {doc['target']}: {doc['verdict']} - {doc['packets']} packets "
        f"({doc['packets_per_s']:.0f}/s, {doc['engine']} engine), {doc['leak_packets']} leak "
        f"packets in {len(doc['leak_flows'])} flows, {doc['unverified_packets']} unverified",
        "bold green" if doc["ok"] else "bold red")]
    if doc.get("related_packets"):
        lines.append((f"  {doc['related_packets']} ICMP errors of allowed flows (not leaks)", None))
    live = doc.get("liveness")
    if live:
        lines.append((f"  {live['status']}: {live['reason']}",
                      "" if live["status"] == "verified" else "bold yellow"))
    lines += [(f"  LEAK {f['src']}:{f['sport']} -> {f['dst']}:{f['dport']} {f['proto']} "
               f"({f['packets']} packets)", None) for f in doc["leak_flows"][:20]]
    return lines
