"""Exactness of the compiled policy matcher against a naive first-match walk of the rule list."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import numpy as np
import pytest

from egressctl.inventory.models import Site
from egressctl.policy import Policy, Rule, compute_policy
from egressctl.verify.matcher import LEAK, NOT_SUBJECT, OPEN, CompiledPolicy

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHoR2vS8mK8Q0DAZU864neT/yRls23XrEDy7IrLAeu2"


def make_site(**over: Any) -> Site:
    data: dict[str, Any] = {
        "name": "t",
        "inside": ["10.0.0.0/8", "fd00::/16"],
        "management": [{"name": "ops", "sources": ["10.0.0.50/32", "fd00::50/128"],
                        "destinations": ["192.0.2.0/30", "2001:db8:ff::/64"], "ports": [22, "830-831"]}],
        "always_allowed": [
            {"name": "dns", "destinations": ["203.0.113.0/24", "2001:db8:1::/48"], "protocol": "udp",
             "ports": [53]},
            {"name": "wide", "destinations": ["198.18.0.0/15"], "protocol": "tcp", "ports": ["1000-2000"]},
            {"name": "narrow", "destinations": ["198.18.5.0/24"], "protocol": "any"},
            {"name": "pingable", "destinations": ["198.51.100.7/32", "2001:db8:2::7/128"],
             "protocol": "icmp"},
        ],
        "stages": [{"name": "s1", "allow": [
            {"name": "web", "destinations": ["0.0.0.0/1"], "protocol": "tcp", "ports": [443]},
            {"name": "v6web", "destinations": ["2000::/3"], "protocol": "tcp", "ports": [80, 443]},
        ]}],
        "devices": [{"name": "fw", "platform": "linux_nftables", "host": "127.0.0.1", "username": "u",
                     "credential": "env:X", "host_key": KEY, "inside": ["a"], "outside": ["b"],
                     "exit": "e", "mgmt_address": "192.0.2.1"}],
    }
    data.update(over)
    return Site.model_validate(data)


def naive(policy: Policy, site: Site, fam: int, proto: int, src: int, dst: int, sp: int, dp: int) -> int:
    """Reference: walk the rule list exactly as the policy module documents it."""
    if proto not in (6, 17):
        sp = dp = 0
    ver = ipaddress.IPv4Address if fam == 4 else ipaddress.IPv6Address
    s, d = ver(src), ver(dst)

    def inside(a: Any) -> bool:
        return any(a in n for n in site.inside if n.version == fam)

    if not inside(s) or inside(d):
        return NOT_SUBJECT
    if policy.is_normal:
        return OPEN
    for i, r in enumerate(policy.rules):
        if fam not in r.families():
            continue
        pnum = {"any": None, "tcp": 6, "udp": 17, "icmp": 1 if fam == 4 else 58}[r.protocol]
        if pnum is not None and pnum != proto:
            continue
        if r.sources and not any(n.version == fam and s in n for n in r.sources):
            continue
        if r.destinations and not any(n.version == fam and d in n for n in r.destinations):
            continue
        if r.src_ports and not any(p.first <= sp <= p.last for p in r.src_ports):
            continue
        if r.dst_ports and not any(p.first <= dp <= p.last for p in r.dst_ports):
            continue
        return i if r.action == "permit" else LEAK
    return LEAK


def edge_points(site: Site, policy: Policy, fam: int) -> list[int]:
    """Every prefix edge +-1: where an off-by-one in interval compilation would show."""
    nets = [n for n in site.inside if n.version == fam]
    for r in policy.rules:
        nets += [n for n in (*r.sources, *r.destinations) if n.version == fam]
    top = (1 << (32 if fam == 4 else 128)) - 1
    pts: set[int] = {0, top}
    for n in nets:
        for v in (int(n.network_address), int(n.broadcast_address)):
            pts.update(x for x in (v - 1, v, v + 1) if 0 <= x <= top)
    return sorted(pts)


@pytest.mark.parametrize("target", ["isolated", "s1", "normal"])
def test_scalar_and_vector_equal_naive(target: str) -> None:
    site = make_site()
    pol = compute_policy(site, target)
    cp = CompiledPolicy.compile(pol, site)
    rng = random.Random(7)
    for fam in (4, 6):
        pts = edge_points(site, pol, fam)
        srcs = [p for p in pts if cp.inside(fam, p)][:40] + pts[:10]
        cases = []
        for _ in range(6000):
            proto = rng.choice([6, 17, 1 if fam == 4 else 58, 47])
            ports = [0, 1, 21, 22, 23, 52, 53, 54, 80, 443, 829, 830, 831, 832, 999, 1000, 2000, 2001, 65535]
            cases.append((proto, rng.choice(srcs), rng.choice(pts), rng.choice(ports), rng.choice(ports)))
        want = [naive(pol, site, fam, *c) for c in cases]
        got = [cp.code(fam, *c) for c in cases]
        assert got == want
        proto = np.array([c[0] for c in cases], dtype=np.uint8)
        sp = np.array([c[3] for c in cases], dtype=np.int32)
        dp = np.array([c[4] for c in cases], dtype=np.int32)
        if fam == 4:
            src = np.array([c[1] for c in cases], dtype=np.uint32)
            dst = np.array([c[2] for c in cases], dtype=np.uint32)
            vec = cp.classify_v4(proto, src, dst, sp, dp)
        else:
            def halves(i: int, cases: list[Any] = cases) -> tuple[Any, Any]:
                vals = [c[i] for c in cases]
                return (np.array([v >> 64 for v in vals], dtype=np.uint64),
                        np.array([v & (2**64 - 1) for v in vals], dtype=np.uint64))
            vec = cp.classify_v6(proto, *halves(1), *halves(2), sp, dp)
        assert vec.tolist() == want
        assert len(set(want)) > (1 if target == "normal" else 4)


def test_first_match_with_overlaps_and_names() -> None:
    site = make_site()
    cp = CompiledPolicy.compile(compute_policy(site, "isolated"), site)
    # 198.18.5.9 is in both "wide" (tcp 1000-2000) and "narrow" (any): the earlier rule wins.
    assert cp.verdict(4, "tcp", "10.1.1.1", "198.18.5.9", 5, 1500).rule == "always-wide"
    assert cp.verdict(4, "tcp", "10.1.1.1", "198.18.5.9", 5, 2001).rule == "always-narrow"
    assert cp.verdict(4, "tcp", "10.1.1.1", "198.18.6.9", 5, 2001).leak
    assert cp.verdict(4, "icmp", "10.1.1.1", "198.51.100.7").rule == "always-pingable"
    assert cp.verdict(4, "icmp", "10.1.1.1", "198.51.100.8").leak
    assert cp.verdict(6, "icmp", "fd00::1", "2001:db8:2::7").rule == "always-pingable"
    assert cp.verdict(6, 58, "fd00::1", "2001:db8:2::8").leak
    assert cp.verdict(4, "udp", "10.1.1.1", "203.0.113.255", 9, 53).rule == "always-dns"
    assert cp.verdict(4, "udp", "10.1.1.1", "203.0.114.0", 9, 53).leak
    # management both ways, with a port range
    assert cp.verdict(4, "tcp", "10.0.0.50", "192.0.2.3", 40000, 831).rule == "mgmt-ops"
    assert cp.verdict(4, "tcp", "10.0.0.51", "192.0.2.3", 40000, 831).leak
    # inside to inside and outside to inside are not subject
    v = cp.verdict(4, "tcp", "10.1.1.1", "10.2.2.2", 1, 1)
    assert not v.subject and not v.leak
    assert not cp.verdict(4, "tcp", "8.8.8.8", "10.2.2.2", 1, 1).subject


def test_stage_adds_and_normal_opens() -> None:
    site = make_site()
    iso = CompiledPolicy.compile(compute_policy(site, "isolated"), site)
    s1 = CompiledPolicy.compile(compute_policy(site, "s1"), site)
    nrm = CompiledPolicy.compile(compute_policy(site, "normal"), site)
    args = (4, "tcp", "10.1.1.1", "127.255.255.255", 1, 443)
    assert iso.verdict(*args).leak
    assert s1.verdict(*args).rule == "stage-web"
    assert s1.verdict(4, "tcp", "10.1.1.1", "128.0.0.0", 1, 443).leak
    assert nrm.verdict(*args).code == OPEN and not nrm.verdict(*args).leak


def test_deny_rule_before_permit_is_a_leak() -> None:
    site = make_site()
    nets = (ipaddress.ip_network("192.0.2.0/24"),)
    rules = (Rule("d", "deny", "deny", "tcp", (), nets), Rule("p", "stage", "permit", "any", (), nets))
    cp = CompiledPolicy.compile(Policy("t", "x", rules), site)
    assert cp.verdict(4, "tcp", "10.0.0.1", "192.0.2.5", 1, 1).leak
    assert cp.verdict(4, "udp", "10.0.0.1", "192.0.2.5", 1, 1).rule == "p"
    assert cp.verdict(4, "udp", "10.0.0.1", "192.0.3.5", 1, 1).leak  # no rule matched at all


def test_tables_are_small_and_disjoint() -> None:
    site = make_site()
    cp = CompiledPolicy.compile(compute_policy(site, "s1"), site)
    for t in (cp.v4, cp.v6):
        assert t.bounds[0] == 0 and t.bounds == sorted(set(t.bounds))
        assert all(n <= 12 for n in t.class_len)
