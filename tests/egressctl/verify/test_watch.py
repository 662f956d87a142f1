"""Live watch pieces without a live link: the site BPF, block walkers (C and Python agree), exact verdicts."""

from __future__ import annotations

import ipaddress
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from egressctl_lab.testing.ring_blocks import tpacket_block
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, Dot1Q, Ether

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy
from egressctl.verify.matcher import CompiledPolicy
from egressctl.verify.watch.agent import Watcher
from egressctl.verify.watch.bpf import site_filter
from egressctl.verify.watch.pywalk import parse_frame, walk_block_py
from egressctl.verify.watch.records import S_FRAGMENT, S_OK
from egressctl.verify.watch.report import WatchReport, describe_flow
from egressctl.verify.watch.session import site_document
from egressctl.verify.watch.walker import Walker, library

INV = Path(__file__).resolve().parents[3] / "inventory" / "lab.yaml"
E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


@pytest.fixture(scope="module")
def site() -> Site:
    return load_inventory(INV).site("lab")


def run_bpf(prog: list[tuple[int, int, int, int]], pkt: bytes) -> int:
    """A tiny classic-BPF interpreter for the opcodes the site filter uses."""
    a, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == 0x28:
            a = struct.unpack_from("!H", pkt, k)[0] if k + 2 <= len(pkt) else None  # type: ignore[assignment]
        elif code == 0x20:
            a = struct.unpack_from("!I", pkt, k)[0] if k + 4 <= len(pkt) else None  # type: ignore[assignment]
        elif code == 0x54:
            a &= k
        elif code == 0x15:
            pc += jt if a == k else jf
        elif code == 0x05:
            pc += k
        elif code == 0x06:
            return k
        if a is None:
            return 0  # out-of-bounds load: the kernel drops the packet
        pc += 1


def test_site_filter_keeps_inside_sources_and_tags(site: Site) -> None:
    prog = site_filter(list(site.inside))
    assert len(prog) < 64
    keep = [
        E / IP(src="10.10.1.11", dst="192.0.2.80") / TCP(),
        E / IPv6(src="fd10::5", dst="2001:db8::1"),
        E / Dot1Q(vlan=5) / IP(src="1.2.3.4", dst="10.10.1.1"),
    ]  # a tag still in the payload: user space
    drop = [
        E / IP(src="192.0.2.80", dst="10.10.1.11") / TCP(),
        E / ARP(),
        E / IPv6(src="2001:db8::1", dst="fd10::5"),
        E / IP(src="10.11.0.1", dst="8.8.8.8"),
    ]
    assert all(run_bpf(prog, bytes(p)) == 256 for p in keep)
    assert all(run_bpf(prog, bytes(p)) == 0 for p in drop)
    many = site_filter([ipaddress.ip_network(f"10.{i}.0.0/16") for i in range(20)])
    assert run_bpf(many, bytes(E / IP(src="10.19.3.4", dst="1.1.1.1"))) == 256
    assert run_bpf(many, bytes(E / IP(src="10.20.3.4", dst="1.1.1.1"))) == 0


def sample() -> list[tuple[bytes, int | None]]:
    pk = [
        (E / IP(src="10.10.1.11", dst="192.0.2.80") / TCP(sport=1, dport=80), None),
        (E / IP(src="10.10.1.11", dst="203.0.113.10") / TCP(sport=1, dport=443), None),
        (E / IP(src="10.10.1.11", dst="192.0.2.80") / UDP(sport=2, dport=53), 42),
        (E / Dot1Q(vlan=7) / IP(src="10.10.2.1", dst="203.0.113.53") / UDP(sport=3, dport=53), 8),
        (E / IP(src="10.10.1.11", dst="192.0.2.80", options=[IPOption_RR()]) / TCP(sport=9, dport=25), None),
        (E / IP(src="10.10.1.11", dst="192.0.2.80", frag=20) / (b"x" * 20), None),
        (
            E
            / IPv6(src="fd10::11", dst="2001:db8:c::80")
            / IPv6ExtHdrHopByHop()
            / IPv6ExtHdrDestOpt()
            / TCP(sport=7, dport=443),
            None,
        ),
        (E / IPv6(src="fd10::11", dst="2001:db8:c::d53") / UDP(sport=8, dport=53), None),
        (
            E / IPv6(src="fd10::11", dst="2001:db8:c::80") / IPv6ExtHdrFragment(offset=3, nh=6) / (b"y" * 16),
            None,
        ),
        (E / IP(src="10.10.1.11", dst="192.0.2.80") / ICMP(), None),
        (bytes(E / IP(src="10.10.1.11", dst="192.0.2.80") / TCP())[:30], None),
        (E / ARP(), None),
    ]
    return [(bytes(p), v) for p, v in pk]


def test_c_and_python_walkers_agree() -> None:
    if library() is None:
        pytest.skip("no C compiler")
    rng = random.Random(5)
    frames = sample()
    for _ in range(200):  # random garbage too: both must survive it identically
        frames.append((bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 90))), None))
    raw = np.frombuffer(tpacket_block(frames), dtype=np.uint8)
    c = Walker(use_c=True).walk(raw, 0, len(raw))
    py = walk_block_py(memoryview(raw.tobytes()))
    assert c is not None and py is not None and len(c) == len(frames)
    assert c.tobytes() == py.tobytes()


def test_parse_frame_fields() -> None:
    rec = parse_frame(
        bytes(
            E
            / Dot1Q(vlan=7)
            / IPv6(src="fd10::1", dst="2001:db8::2")
            / IPv6ExtHdrHopByHop()
            / UDP(sport=5, dport=6)
        )
    )
    assert (rec["family"], rec["proto"], rec["sport"], rec["dport"], rec["vflag"], rec["vlan"]) == (
        6,
        17,
        5,
        6,
        1,
        7,
    )
    assert rec["status"] == S_OK
    assert (
        parse_frame(bytes(E / IP(src="10.0.0.1", dst="10.0.0.2", frag=1) / (b"z" * 8)))["status"]
        == S_FRAGMENT
    )


def test_watcher_verdicts_are_exact(site: Site) -> None:
    cp = CompiledPolicy.compile(compute_policy(site, "isolated"), site)
    w = Watcher(cp)
    raw = np.frombuffer(tpacket_block(sample()), dtype=np.uint8)
    new = w.feed(Walker().walk(raw, 0, len(raw)))  # type: ignore[arg-type]
    flows = {(k[2], k[3], k[1], k[5], k[6]) for k in new}
    assert flows == {
        ("10.10.1.11", "192.0.2.80", 6, 80, -1),
        ("10.10.1.11", "192.0.2.80", 17, 53, 42),
        ("10.10.1.11", "192.0.2.80", 6, 25, -1),
        ("fd10::11", "2001:db8:c::80", 6, 443, -1),
        ("10.10.1.11", "192.0.2.80", 1, 0, -1),
    }
    c = w.counters
    assert c["leaks"] == 5 and c["permitted"] == 3 and c["fragment"] == 2 and c["truncated"] == 1
    assert c["non_ip"] == 1 and w.unverified == 3
    # every verdict equals the scalar matcher's on the same packet
    for k in new:
        assert cp.verdict(k[0], k[1], k[2], k[3], k[4], k[5]).leak
    again = w.feed(Walker().walk(raw, 0, len(raw)))  # type: ignore[arg-type]
    assert again == [] and w.flows[next(iter(w.flows))].packets == 2


def test_normal_target_never_leaks(site: Site) -> None:
    w = Watcher(CompiledPolicy.compile(compute_policy(site, "normal"), site))
    raw = np.frombuffer(tpacket_block(sample()), dtype=np.uint8)
    assert w.feed(Walker().walk(raw, 0, len(raw))) == [] and w.counters["leaks"] == 0  # type: ignore[arg-type]


def test_report_is_never_clean_with_drops_or_unverified() -> None:
    base = {"counters": {"packets": 10, "leaks": 0, "subject": 4, "permitted": 4}, "kernel_drops": 0,
            "unverified": 0}
    assert WatchReport("s", "isolated", 1, {"a": base}).verdict == "clean"
    assert WatchReport("s", "isolated", 1, {"a": {**base, "kernel_drops": 1}}).verdict == "incomplete"
    assert WatchReport("s", "isolated", 1, {"a": {**base, "unverified": 2}}).verdict == "incomplete"
    assert WatchReport("s", "isolated", 1, {}).verdict == "incomplete"
    assert WatchReport("s", "isolated", 1, {"a": base}, errors={"b": "x"}).verdict == "incomplete"
    flow = {
        "family": 4,
        "proto": 6,
        "src": "10.0.0.1",
        "dst": "1.1.1.1",
        "sport": 1,
        "dport": 2,
        "vlan": 3,
        "exit": "backup",
    }
    rep = WatchReport("s", "isolated", 1, {"a": base}, [flow])
    assert rep.verdict == "leak" and rep.to_dict()["leaking_exits"] == ["backup"]
    assert describe_flow(flow) == "10.0.0.1:1 -> 1.1.1.1:2 tcp vlan 3"


def test_site_document_validates_again(site: Site) -> None:
    assert Site.model_validate(site_document(site)) == site
