"""The neutral policy: order, cumulative stages, normal, atoms and fingerprints."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from egressctl.errors import PolicyError
from egressctl.inventory import load_inventory
from egressctl.policy import Rule, atoms, compute_policy, equivalent, fingerprint, opened_by, targets

LAB = load_inventory(Path(__file__).resolve().parents[2] / "inventory" / "lab.yaml").site("lab")


def test_order_management_always_stages_deny() -> None:
    kinds = [r.kind for r in compute_policy(LAB, "allowlist").rules]
    assert kinds == sorted(kinds, key=["management", "always", "stage", "deny"].index)
    assert kinds[-1] == "deny" and kinds.count("deny") == 1


def test_stages_are_cumulative() -> None:
    iso = {r.name for r in compute_policy(LAB, "isolated").rules}
    mini = {r.name for r in compute_policy(LAB, "ministry").rules}
    allow = {r.name for r in compute_policy(LAB, "allowlist").rules}
    assert iso < mini < allow
    assert not any(r.kind == "stage" for r in compute_policy(LAB, "isolated").rules)


def test_normal_has_no_rules_and_unknown_target_is_refused() -> None:
    assert compute_policy(LAB, "normal").is_normal
    with pytest.raises(PolicyError, match="no stage 'nope'"):
        compute_policy(LAB, "nope")
    assert targets(LAB) == ["isolated", "ministry", "allowlist", "normal"]


def test_management_keeps_replies_for_stateless_devices() -> None:
    rules = [r for r in compute_policy(LAB, "isolated").rules if r.kind == "management"]
    fwd, back = rules[0], rules[1]
    assert fwd.dst_ports and not fwd.src_ports
    assert back.src_ports == fwd.dst_ports and back.sources == fwd.destinations


def test_family_without_both_sides_has_no_atoms() -> None:
    r = Rule("m", "management", "permit", "tcp", (ipaddress.ip_network("fd10::50/128"),),
             (ipaddress.ip_network("10.0.0.1/32"),))
    assert r.families() == ()
    assert atoms([r]) == {4: [], 6: []}


def test_equivalent_ignores_names_and_splitting() -> None:
    a = ipaddress.ip_network("192.0.2.0/24")
    b = ipaddress.ip_network("198.51.100.0/24")
    merged = [Rule("x", "stage", "permit", "tcp", (), (a, b))]
    split = [Rule("y1", "stage", "permit", "tcp", (), (a,)), Rule("y2", "stage", "permit", "tcp", (), (b,))]
    assert equivalent(merged, split) and fingerprint(merged) == fingerprint(split)
    assert not equivalent(merged, list(reversed(split)))


def test_opened_by_lists_what_a_restore_opens() -> None:
    opened = [r.name for r in opened_by(LAB, "isolated", "ministry")]
    assert opened == ["stage-ministry-vpn", "stage-mail-relay"]
