"""Unit tests of the lab's topology model, builder batches, effective inventory and small helpers."""

from __future__ import annotations

import copy
import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml
from egressctl_lab import hostkeys
from egressctl_lab.canary import dns_reply
from egressctl_lab.forwarder import _map
from egressctl_lab.netbuild import _address_batch, _link_batch, _nat_ruleset, _route_batch
from egressctl_lab.state import paths, record_pid, recorded_pids
from egressctl_lab.topology import KERNEL_IFNAME_RE, Topology, load_topology

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Inventory

LAB_YAML = Path(__file__).resolve().parents[2] / "inventory" / "lab.yaml"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(LAB_YAML)


def _with_lab(inventory: Inventory, mutate: Any) -> Inventory:
    lab = copy.deepcopy(inventory.lab)
    mutate(lab)
    return inventory.model_copy(update={"lab": lab})


def test_default_lab_is_consistent(inventory: Inventory) -> None:
    topo, site = load_topology(inventory)
    names = {n.name for n in topo.nodes}
    assert {"ws1", "ws2", "srv1", "ops", "lan", "oob", "fw-a", "ce-a", "core-b", "fw-b", "ce-b", "isp-a",
            "isp-b", "inet"} <= names
    for dev in site.devices:
        node = topo.device_node(dev.name)
        assert str(dev.mgmt_address) in node.addresses()
        assert dev.host_key == hostkeys.public_line(dev.name)
    for node in topo.nodes:
        for iface in node.interfaces:
            assert KERNEL_IFNAME_RE.fullmatch(iface.name) and "/" not in iface.name
    assert topo.device_node("ce-a").vendor_map() == {
        "GigabitEthernet0/1": "gi0-1", "GigabitEthernet0/0": "gi0-0"}
    assert topo.device_node("ce-b").zones == {"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]}
    # every site address of the plan is inside the site's inside prefixes (v4 and v6)
    inside = site.inside
    for name in ("ws1", "ws2", "srv1", "ops"):
        for addr in topo.node(name).interfaces[0].addresses:
            assert any(addr.ip in net for net in inside if net.version == addr.version), addr


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda lab: lab["nodes"][2]["interfaces"][0].update(name="a-very-long-ifname"), "kernel interface"),
        (lambda lab: lab["nodes"][2]["interfaces"][0].update(name="eth0/1"), "kernel interface"),
        (lambda lab: lab["nodes"][6]["interfaces"][1].update(peer="ce-a:gi0-0"), "does not point back"),
        (lambda lab: lab["nodes"][2]["interfaces"][0].update(bridge="ws2"), "not a bridge node"),
        (lambda lab: lab["nodes"].append(dict(lab["nodes"][2])), "duplicate lab node"),
        (lambda lab: lab["nodes"][6]["zones"].update(dmz=["ethernet1/9"]), "unknown interfaces"),
    ],
)
def test_invalid_topologies_are_refused(inventory: Inventory, mutate: Any, message: str) -> None:
    bad = _with_lab(inventory, mutate)
    with pytest.raises(ValueError, match=message):
        load_topology(bad)


def test_mgmt_address_must_live_on_the_device_node(inventory: Inventory) -> None:
    def drop_oob(lab: dict[str, Any]) -> None:
        fw_a = next(n for n in lab["nodes"] if n["name"] == "fw-a")
        fw_a["interfaces"] = [i for i in fw_a["interfaces"] if i["name"] != "mgmt"]

    with pytest.raises(ValueError, match=r"mgmt_address 10\.99\.0\.1 is not on node fw-a"):
        load_topology(_with_lab(inventory, drop_oob))


def test_batches_create_links_inside_namespaces_only(inventory: Inventory) -> None:
    topo, _ = load_topology(inventory)
    links = _link_batch(topo, "zz-")
    assert all(" netns zz-" in line and line.count("netns") == 2 for line in links)
    assert sum("type veth" in line for line in links) == len(links)
    lan = _address_batch(topo, topo.node("lan"))
    assert "link set ws1-eth0 master br0" in lan
    ws1 = _address_batch(topo, topo.node("ws1"))
    assert "addr add fd10:0:1::11/64 dev eth0 nodad" in ws1
    assert _route_batch(topo.node("ws1")) == [
        "route add 0.0.0.0/0 via 10.10.1.1", "route add ::/0 via fd10:0:1::1"]
    inet = _address_batch(topo, topo.node("inet"))
    assert "addr add 192.0.2.80/32 dev lo" in inet and "link set lo up" in inet
    nat = _nat_ruleset(topo.node("isp-a"))
    assert 'oifname { "inet0" } masquerade' in nat and "hook prerouting" in nat


def test_topology_schema_round_trips(inventory: Inventory) -> None:
    topo, _ = load_topology(inventory)
    again = Topology.model_validate(json.loads(topo.model_dump_json()))
    assert again == topo


def test_effective_inventory_and_status_never_show_the_secret(tmp_path: Path) -> None:
    from egressctl_lab import Lab

    lab = Lab(LAB_YAML, prefix="xl-u-", port_base=23150, state_dir=tmp_path)
    assert lab.inventory_path == tmp_path / "lab" / "inventory.yaml"
    lab.paths.root.mkdir(parents=True)
    lab._write_effective_inventory()
    eff = load_inventory(lab.inventory_path)
    ports = [d.port for d in eff.sites[0].devices]
    assert ports == [23150, 23151, 23152, 23153, 23154]
    assert all(d.credential == f"file:{tmp_path}/lab/secret" for d in eff.sites[0].devices)
    doc = lab.status().to_dict()
    assert doc["up"] is False and doc["prefix"] == "xl-u-"
    assert {d["device_type"] for d in doc["devices"]} == {
        "linux", "cisco_ios", "juniper_junos", "fortinet", "paloalto_panos"}
    assert "password" not in json.dumps(doc)
    assert yaml.safe_load(lab.inventory_path.read_text())["lab"]["site"] == "lab"


def test_unchanged_instance_uses_the_input_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from egressctl_lab import Lab

    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(tmp_path))
    assert Lab(LAB_YAML).inventory_path == LAB_YAML


def test_pid_records_survive_only_for_the_same_process(tmp_path: Path) -> None:
    p = paths(tmp_path)
    record_pid(p, "me", os.getpid())
    assert recorded_pids(p) == {"me": os.getpid()}
    (p.pids / "me.pid").write_text(f"{os.getpid()} 1\n")  # same pid, other start time: a reused pid
    assert recorded_pids(p) == {}


def test_dns_reply_keeps_id_and_question() -> None:
    header = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    query = header + b"\x07example\x03com\x00" + b"\x00\x01\x00\x01"
    reply = dns_reply(query)
    assert reply is not None
    ident, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert (ident, qd, an) == (0x1234, 1, 0) and flags & 0x8000
    assert reply[12:] == query[12:]
    assert dns_reply(b"short") is None


def test_forwarder_map_parses_targets() -> None:
    assert _map("7=10.99.0.1:22") == (7, ("10.99.0.1", 22))
    assert _map("8=[fd10:0:1::1]:22") == (8, ("fd10:0:1::1", 22))
