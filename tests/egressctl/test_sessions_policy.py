"""``Policy.permits``: the first-match decision drivers use to pick the established sessions a cut ends."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from egressctl.inventory import load_inventory
from egressctl.inventory.models import PortRange
from egressctl.policy import Policy, Rule, compute_policy

ROOT = Path(__file__).resolve().parents[2]
LAB_YAML = next(p for p in (ROOT / "inventory" / "lab.yaml", ROOT / "lab" / "site.yaml") if p.exists())
LAB = load_inventory(LAB_YAML).site("lab")
ISOLATED = compute_policy(LAB, "isolated")


@pytest.mark.parametrize(
    ("src", "dst", "proto", "sport", "dport", "allowed"),
    [
        ("10.10.1.11", "192.0.2.80", "tcp", 40000, 8080, False),  # the C2 session of the issue
        ("10.10.1.20", "192.0.2.80", "udp", 40000, 443, False),
        ("10.10.1.20", "203.0.113.10", "udp", 40000, 4500, True),  # the national CERT's VPN
        ("10.10.1.20", "203.0.113.10", "udp", 500, 500, True),
        ("10.10.1.20", "203.0.113.10", "tcp", 40000, 443, True),
        ("10.10.1.20", "203.0.113.10", "tcp", 40000, 80, False),  # right host, wrong port
        ("10.10.1.20", "203.0.113.10", "udp", 40000, 443, False),  # right port, wrong protocol
        ("10.10.1.11", "203.0.113.53", "udp", 40000, 53, True),
        ("fd10:0:1::11", "2001:db8:c::d53", "udp", 40000, 53, True),
        ("fd10:0:1::11", "2001:db8:c::80", "tcp", 40000, 443, False),
        ("10.10.1.50", "10.10.103.2", "tcp", 40000, 22, True),  # operators' SSH to ce-b, in band
        ("10.99.0.50", "10.99.0.1", "tcp", 40000, 22, True),
        ("10.10.103.2", "10.10.1.50", "tcp", 22, 40000, True),  # its replies (stateless devices)
        ("10.10.1.11", "10.10.103.2", "tcp", 40000, 22, False),  # not an operators' station
        ("10.10.1.50", "10.10.103.2", "tcp", 40000, 23, False),
        ("10.10.1.11", "192.0.2.80", "icmp", None, None, False),
        ("fd10:0:1::11", "2001:db8:c::80", "ipv6-icmp", None, None, False),
        ("10.10.1.11", "203.0.113.25", "tcp", 40000, 587, False),  # mail relay opens at stage ministry
        ("10.10.1.11", "192.0.2.80", "gre", None, None, False),
    ],
)
def test_isolated_lab_decisions(src: str, dst: str, proto: str, sport: int | None, dport: int | None,
                                allowed: bool) -> None:
    assert ISOLATED.permits(src, dst, proto, sport, dport) is allowed


def test_stages_open_their_flows_cumulatively() -> None:
    ministry, allowlist = compute_policy(LAB, "ministry"), compute_policy(LAB, "allowlist")
    assert ministry.permits("10.10.1.11", "203.0.113.25", "tcp", 40000, 587)
    assert not ministry.permits("10.10.1.11", "198.18.20.10", "tcp", 40000, 443)
    assert allowlist.permits("10.10.1.11", "198.18.20.10", "tcp", 40000, 443)
    assert allowlist.permits("10.10.1.11", "203.0.113.20", "udp", 4500, 4500)


def test_normal_permits_everything() -> None:
    normal = compute_policy(LAB, "normal")
    assert normal.permits("10.10.1.11", "192.0.2.80", "tcp", 1, 8080)
    assert normal.permits("fd10:0:1::11", "2001:db8:c::80", "58")


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def test_first_match_decides_and_ranges_and_aliases() -> None:
    rules = (
        Rule("deny-web", "stage", "deny", "tcp", (), (_net("192.0.2.0/24"),), (),
             (PortRange(first=8000, last=8100),)),
        Rule("web", "stage", "permit", "tcp", (), (_net("192.0.2.0/24"),)),
        Rule("icmp", "stage", "permit", "icmp"),
        Rule("v6-only", "stage", "permit", "any", (_net("fd10::/32"),)),
        Rule("deny-egress", "deny", "deny"),
    )
    policy = Policy("s", "t", rules)
    assert not policy.permits("10.10.1.11", "192.0.2.80", "tcp", 1, 8080)  # the deny above wins
    assert not policy.permits("10.10.1.11", "192.0.2.80", "6", 1, 8100)  # numbers are folded
    assert policy.permits("10.10.1.11", "192.0.2.80", "TCP", 1, 8101)
    assert not policy.permits("10.10.1.11", "192.0.2.80", "udp", 1, 8101)
    assert policy.permits("10.10.1.11", "198.51.100.1", "1")
    assert policy.permits("fd10:0:1::11", "2001:db8::1", "icmpv6")
    assert policy.permits("fd10:0:1::11", "2001:db8::1", "udp", 1, 2)  # the IPv6 source prefix
    assert not policy.permits("10.10.1.11", "203.0.113.1", "udp", 1, 2)  # ... says nothing for IPv4


def test_ports_only_match_flows_that_have_them() -> None:
    rule = Rule("r", "stage", "permit", "any", (), (), (), (PortRange(first=53, last=53),))
    policy = Policy("s", "t", (rule, Rule("deny-egress", "deny", "deny")))
    assert policy.permits("10.0.0.1", "10.0.0.2", "udp", 1, 53)
    assert not policy.permits("10.0.0.1", "10.0.0.2", "icmp")
