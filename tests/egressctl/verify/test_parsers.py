"""One packet parser: the C capture engine, the numpy engine, the C and Python watch walkers and the Python
reference parser (egressctl/verify/pktparse.py) agree on the same packets, including broken ones."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from egressctl_lab.testing import capture_generator as gen
from egressctl_lab.testing.capture_reference import Judge, Packet, pcap_packets, pcapng
from egressctl_lab.testing.ring_blocks import tpacket_block
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

from egressctl.policy import compute_policy
from egressctl.verify import pktparse
from egressctl.verify.capture import c_engine, defs, scan
from egressctl.verify.matcher import CompiledPolicy
from egressctl.verify.watch.pywalk import walk_block_py
from egressctl.verify.watch.walker import Walker

ENGINES = ["c", "numpy"] if c_engine.available() else ["numpy"]
E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
OUT4, OUT6 = "100.1.2.3", "2001:db9::5"  # never allowed by the generator's site: leaks when leaving


def v6_ext(nh: int, ext: bytes, body: bytes) -> bytes:
    """An IPv6 packet whose first extension header (type ``nh``) is the raw ``ext``."""
    return bytes(IPv6(src="fd00::7", dst=OUT6, nh=nh, plen=len(ext) + len(body))) + ext + body


def l3_samples() -> list[bytes]:
    """IPv4/IPv6 packets (no link layer) covering the parser's branches."""
    tcp, udp = TCP(sport=1234, dport=443), UDP(sport=5, dport=53)
    pk: list[Any] = [
        IP(src="10.1.1.1", dst=OUT4) / tcp, IP(src="10.1.1.1", dst=OUT4) / udp,
        IP(src="10.1.1.1", dst=OUT4) / ICMP(), IP(src="10.1.1.1", dst=OUT4) / GRE(),
        IP(src="10.1.1.1", dst=OUT4, options=[IPOption_RR()]) / tcp,
        IP(src="10.1.1.1", dst=OUT4, flags="MF") / tcp, IP(src="10.1.1.1", dst=OUT4, frag=20) / (b"x" * 20),
        IP(src=OUT4, dst="10.1.1.1") / tcp, IP(src="10.1.1.1", dst="10.2.2.2") / tcp,
        IPv6(src="fd00::7", dst=OUT6) / tcp, IPv6(src="fd00::7", dst=OUT6) / ICMPv6EchoRequest(),
        IPv6(src="fd00::7", dst=OUT6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting()
        / udp,
        IPv6(src="fd00::7", dst=OUT6) / IPv6ExtHdrFragment(offset=0, m=1, nh=6) / tcp,
        IPv6(src="fd00::7", dst=OUT6) / IPv6ExtHdrFragment(offset=9, nh=6) / (b"y" * 16),
        IPv6(src=OUT6, dst="fd00::7") / tcp,
    ]
    out = [bytes(p) for p in pk]
    out += [v6_ext(nh, bytes([17, 0]) + bytes(6), bytes(udp)) for nh in (60, 135, 139, 140)]
    out.append(v6_ext(51, bytes([6, 4]) + bytes(22), bytes(tcp)))  # AH: length in 4-byte units
    out.append(bytes(IPv6(src="fd00::7", dst=OUT6, nh=0)) + (bytes([0, 0]) + bytes(6)) * 17)  # 17 headers
    return out


def link_samples() -> list[Packet]:
    """The L3 samples under every supported link type, VLAN stacks, and non-IP frames."""
    out: list[Packet] = []
    for l3 in l3_samples():
        et = b"\x08\x00" if l3[0] >> 4 == 4 else b"\x86\xdd"
        out += [(1, bytes(E)[:12] + et + l3), (113, bytes(14) + et + l3), (276, et + bytes(18) + l3),
                (101, l3), (228 if l3[0] >> 4 == 4 else 229, l3)]
    ip4 = IP(src="10.1.1.1", dst=OUT4) / UDP(sport=5, dport=53)
    v4 = bytes(ip4)
    out += [(1, bytes(E / Dot1Q(vlan=7) / ip4)), (1, bytes(E / Dot1AD(vlan=1) / Dot1Q(vlan=2) / ip4)),
            (1, bytes(E)[:12] + b"\x81\x00\x00\x05" * 9 + b"\x08\x00" + v4), (1, bytes(E / ARP())),
            (101, b"\x55" + v4[1:]), (147, v4), (228, b"\x65" + v4[1:])]
    return out


def truncations(packets: list[Packet]) -> list[Packet]:
    """Every prefix of a few packets: each bounds check of the parser is crossed once."""
    return [(lt, data[:n]) for lt, data in packets for n in range(len(data))]


def mutations(packets: list[Packet], count: int, seed: int = 7) -> list[Packet]:
    """Packets with a few header bytes overwritten and, sometimes, cut short."""
    rng = random.Random(seed)
    out: list[Packet] = []
    for _ in range(count):
        lt, data = rng.choice(packets)
        buf = bytearray(data)
        for _ in range(rng.choice([1, 2, 3])):
            if buf:
                buf[rng.randrange(min(len(buf), 96))] = rng.randrange(256)
        cut = len(buf) if rng.random() < 0.7 else rng.randrange(len(buf) + 1)
        out.append((lt, bytes(buf[:cut])))
    return out


@pytest.fixture(scope="module")
def site() -> Any:
    return gen.build_site(1, 210)


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> list[Packet]:
    path = tmp_path_factory.mktemp("parsers") / "g.pcap"
    gen.generate(path, gen.GenOptions(packets=4000, seed=8, leak_rate=0.01, unverified_rate=0.005))
    generated = list(pcap_packets(path))
    base = link_samples()
    return base + truncations(base[:10] + base[60:70] + base[-7:-4]) + generated + mutations(
        base + generated[:400], 3000)


def scan_engine(path: Path, cp: CompiledPolicy, engine: str) -> tuple[dict[str, int], list[int], Any]:
    recs: list[Any] = []
    res = scan.scan(path, cp, recs.append, engine=engine)  # type: ignore[arg-type]
    assert res.engine == engine and res.errors == []
    leaks = np.concatenate(recs) if recs else np.zeros(0, dtype=defs.LEAK_DTYPE)
    return res.counters, res.rule_hits, leaks


@pytest.mark.parametrize("target", [gen.TARGET, "normal"])
@pytest.mark.parametrize("engine", ENGINES)
def test_capture_engines_equal_the_reference(tmp_path: Path, site: Any, packets: list[Packet], target: str,
                                            engine: str) -> None:
    cp = CompiledPolicy.compile(compute_policy(site, target), site)
    path = tmp_path / "p.pcapng"
    path.write_bytes(pcapng(packets))
    ref = Judge(cp, packets)
    counters, hits, leaks = scan_engine(path, cp, engine)
    assert counters == ref.counters
    assert hits == ref.rule_hits[: len(cp.rule_names)]
    assert leaks.tobytes() == ref.records().tobytes()
    c = ref.counters  # the sample covers every branch, not only the easy ones
    assert all(c[k] for k in ("not_subject", "non_ip", "truncated", "fragment", "malformed", "linktype",
                              "vlan", "ipv4", "ipv6", "permitted"))
    assert bool(c["leaks"]) == (target != "normal")


def test_watch_walkers_equal_the_reference(packets: list[Packet]) -> None:
    frames = [(data, [None, 5, 4095][i % 3]) for i, (lt, data) in enumerate(packets) if lt == 1][:4000]
    raw = np.frombuffer(tpacket_block(frames), dtype=np.uint8)
    py = walk_block_py(memoryview(raw.tobytes()))
    assert py is not None and len(py) == len(frames)
    for rec, (data, vlan) in zip(py, frames, strict=True):
        p = pktparse.parse(data, pktparse.ETHERNET, vlan)
        assert (int(rec["status"]), int(rec["family"]), int(rec["proto"]), int(rec["sport"]),
                int(rec["dport"]), int(rec["vflag"]), int(rec["vlan"])) == (
            p.status, p.family, p.proto, p.sport, p.dport, p.vflag, p.vlan)
        assert (int(rec["src_h"]) << 64 | int(rec["src_l"]), int(rec["dst_h"]) << 64 | int(rec["dst_l"])) == (
            p.src, p.dst)
    walker = Walker(cap=len(frames), use_c=True)
    if walker.lib is None:
        pytest.skip("the C ring walker is not built in this install")
    c = walker.walk(raw, 0, len(raw))
    assert c is not None and c.tobytes() == py.tobytes()
