"""Source routes of the lab topology (``Route.source``), on the switched hospital (hospital-switched.yaml).

Its distribution switch pins the closet VLAN to the second exit: the route lands in a table of its own,
reached by a rule that first consults the main table with its defaults suppressed (so the site's own
prefixes keep their routes), then the source's table. IPv6 rules come as a batch of their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from egressctl_lab.netbuild import _route_batch, _rules
from egressctl_lab.topology import Route, load_topology

from egressctl.inventory.loader import load_inventory

SWITCHED = Path(__file__).resolve().parents[2] / "inventory" / "hospital-switched.yaml"


def test_the_switched_hospital_loads_with_only_its_switches_as_devices() -> None:
    topo, site = load_topology(load_inventory(SWITCHED))
    assert [d.name for d in site.devices] == ["dist", "closet"]
    assert {n.name for n in topo.nodes if n.role == "device"} == {"dist", "closet"}


def test_source_route_gets_its_table_and_rules() -> None:
    topo, _ = load_topology(load_inventory(SWITCHED))
    dist = topo.node("dist")
    lines = _route_batch(dist)
    assert lines[:2] == ["rule add from 10.10.2.0/24 lookup main suppress_prefixlength 0 pref 1000",
                         "rule add from 10.10.2.0/24 lookup 100 pref 1001"]
    assert "route add 0.0.0.0/0 via 10.10.102.2 table 100" in lines
    assert "route add ::/0 via fd10:0:102::2 table 101" in lines
    assert "route add 0.0.0.0/0 via 10.10.101.2" in lines
    assert _rules(dist, 6) == ["rule add from fd10:0:2::/64 lookup main suppress_prefixlength 0 pref 1010",
                               "rule add from fd10:0:2::/64 lookup 101 pref 1011"]
    assert _rules(topo.node("ws1"), 4) == [] and _rules(topo.node("ws1"), 6) == []


def test_source_and_gateway_must_share_a_family() -> None:
    with pytest.raises(ValueError, match="differ in family"):
        Route.model_validate({"to": "default", "via": "10.0.0.1", "source": "fd00::/64"})
