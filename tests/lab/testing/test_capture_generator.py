"""The generator: deterministic, the reference mix, a 200+ prefix overlapping policy, and a truth that scapy
(an independent parser) confirms packet by packet."""

from __future__ import annotations

import hashlib
import ipaddress
from collections import Counter
from pathlib import Path

import pytest
from egressctl_lab.testing import capture_generator as pcapgen
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import Dot1Q
from scapy.utils import PcapReader

from egressctl.policy import compute_policy


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_deterministic(tmp_path: Path) -> None:
    o = pcapgen.GenOptions(packets=5000, seed=9, fmt="pcapng")
    a, b = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    ta, tb = pcapgen.generate(a, o), pcapgen.generate(b, o)
    assert digest(a) == digest(b) and ta == tb
    assert pcapgen.GroundTruth.load(Path(str(a) + ".truth.json")) == ta
    pcapgen.generate(b, pcapgen.GenOptions(packets=5000, seed=10, fmt="pcapng"))
    assert digest(a) != digest(b)


def test_policy_is_large_and_overlapping() -> None:
    site = pcapgen.build_site(1, 210)
    pol = compute_policy(site, pcapgen.TARGET)
    dests = [n for r in pol.rules if r.kind in ("always", "stage") for n in r.destinations]
    v4 = [n for n in dests if n.version == 4]
    assert len(dests) >= 200 and any(n.version == 6 for n in dests)
    assert {n.prefixlen for n in v4} >= {8, 16, 24, 32}
    overlaps = sum(1 for a in v4 for b in v4 if a != b and a.subnet_of(b))  # type: ignore[arg-type]
    assert overlaps > 50
    assert any(r.dst_ports and any(p.first != p.last for p in r.dst_ports) for r in pol.rules)


def _l4(pkt: IPv6) -> tuple[int, int, int, bool]:
    """(proto, sport, dport, non-first fragment) walking scapy's layers below IPv6."""
    layer = pkt.payload
    while layer is not None and layer.name != "NoPayload":
        if isinstance(layer, IPv6ExtHdrFragment) and layer.offset:
            return 44, 0, 0, True
        if isinstance(layer, (TCP, UDP)):
            return (6 if isinstance(layer, TCP) else 17), layer.sport, layer.dport, False
        if layer.name.startswith("ICMPv6"):
            return 58, 0, 0, False
        layer = layer.payload
    return pkt.nh, 0, 0, False


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_truth_confirmed_by_scapy(tmp_path: Path) -> None:
    opts = pcapgen.GenOptions(packets=6000, seed=21, leak_rate=0.01, unverified_rate=0.003)
    path = tmp_path / "s.pcap"
    truth = pcapgen.generate(path, opts)
    model = pcapgen.Model(opts.site_seed, opts.flows)
    kinds: Counter[str] = Counter()
    leaks: Counter[str] = Counter()
    tagged = 0
    with PcapReader(str(path)) as rd:
        for pkt in rd:
            tagged += Dot1Q in pkt
            if IP in pkt and pkt[IP].version == 4 and len(bytes(pkt[IP])) >= 20:
                ip = pkt[IP]
                fam, frag = 4, ip.frag
                src, dst = int(ipaddress.ip_address(ip.src)), int(ipaddress.ip_address(ip.dst))
                proto = ip.proto
                l4 = ip.getlayer(TCP) or ip.getlayer(UDP)
                sp, dp = (l4.sport, l4.dport) if l4 is not None and not frag else (0, 0)
                kind = "tcp4" if proto == 6 else "udp4" if proto == 17 else "icmp4" if ICMP in ip else "other"
                kinds[kind] += 1
            elif IPv6 in pkt and pkt[IPv6].version == 6:
                ip6 = pkt[IPv6]
                fam, src, dst = 6, int(ipaddress.ip_address(ip6.src)), int(ipaddress.ip_address(ip6.dst))
                proto, sp, dp, nonfirst = _l4(ip6)
                frag = int(nonfirst)
                kinds["ip6"] += 1
            else:
                kinds["other"] += 1
                continue
            if frag or (proto in (6, 17) and not (sp or dp)):
                continue  # unverifiable: the truth counts those separately
            if model.ref.verdict(fam, proto, src, dst, sp, dp) == "leak":
                leaks[pcapgen.flow_key(fam, proto, str(ipaddress.ip_address(src)),
                                       str(ipaddress.ip_address(dst)), sp, dp)] += 1
    assert dict(leaks) == truth.leak_flows
    n = truth.packets
    assert abs(kinds["tcp4"] / n - 0.70) < 0.03 and abs(kinds["udp4"] / n - 0.15) < 0.02
    assert abs(kinds["icmp4"] / n - 0.05) < 0.01 and abs(kinds["ip6"] / n - 0.08) < 0.015
    assert 0.08 < tagged / n < 0.12


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_mean_size_and_speed_shape(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"m.{fmt}"
    truth = pcapgen.generate(path, pcapgen.GenOptions(packets=20_000, fmt=fmt))  # type: ignore[arg-type]
    mean = path.stat().st_size / truth.packets
    assert 450 < mean < 600
