"""What the capture generator is asked for and what a correct analysis of its file must report.

A leaf module of the generator: the options (equal options give byte-identical files) and the ground truth
written beside every generated capture as ``<file>.truth.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

TARGET = "s2"  # the stage of the generated site whose policy the truth is computed for


@dataclass(frozen=True)
class GenOptions:
    """What to generate; equal options give byte-identical files."""

    packets: int = 100_000
    seed: int = 1
    site_seed: int = 1  # the policy (see ``build_site``); ``seed`` drives the traffic
    fmt: Literal["pcap", "pcapng"] = "pcap"
    byte_order: Literal["<", ">"] = "<"
    nanosecond: bool = False
    leak_rate: float = 0.001
    unverified_rate: float = 0.0005
    vlan_rate: float = 0.10
    bpf_exact: bool = False
    flows: int = 210
    chunk: int = 200_000
    icmp_error_rate: float = 0.0  # ICMP errors leaving the site (capture_icmp_errors); 0: files as before


@dataclass
class GroundTruth:
    """What a correct analysis must report for the generated file."""

    packets: int = 0
    leak_packets: int = 0
    leak_flows: dict[str, int] = field(default_factory=dict)  # "fam|proto|src|dst|sport|dport" -> packets
    unverified: dict[str, int] = field(
        default_factory=lambda: {"fragment": 0, "truncated": 0, "malformed": 0})
    non_ip: int = 0
    vlan_leaks: int = 0
    ipv6_leaks: int = 0
    related_packets: int = 0  # ICMP errors quoting an allowed flow: leaving the site, not leaks
    target: str = TARGET
    options: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write as JSON."""
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        """Read a saved ground truth."""
        return cls(**json.loads(path.read_text()))


def flow_key(fam: int, proto: int, src: str, dst: str, sport: int, dport: int) -> str:
    """Ground-truth flow key; ``proto`` as in ``LeakFlow.proto_name``."""
    name = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}.get(proto, str(proto))
    return f"{fam}|{name}|{src}|{dst}|{sport}|{dport}"
