"""The lab's bastion and SSH vantage host as data: topology checks, NAT rules and the sshd/sudoers files.

The live behaviour (a real sshd forwarding to the devices, ws1 probing over SSH) is in
``tests/lab/test_bastion_lab.py``; these are the cheap checks of what ``lab up`` is told to build.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab import hostkeys, linuxbox
from egressctl_lab.netbuild import _nat_ruleset
from egressctl_lab.topology import load_topology

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Inventory
from tests.support.labkit import LAB_YAML


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(LAB_YAML)


def _with(inventory: Inventory, change: Any) -> Inventory:
    lab = copy.deepcopy(inventory.lab)
    assert lab is not None
    change(lab)
    return inventory.model_copy(update={"lab": lab})


def test_the_lab_site_has_a_pinned_bastion_behind_the_operators(inventory: Inventory) -> None:
    topo, site = load_topology(inventory)
    (jump,) = site.jump_hosts
    assert jump.name == "bastion" and jump.host_key == hostkeys.public_line("bastion")
    node = topo.jump_node("bastion")
    assert node.sshd is not None and node.first_ipv4() == "10.98.0.2"
    ops = topo.node("ops")
    assert ops.forward and ops.nat is not None and [str(n) for n in ops.nat.sources] == ["10.98.0.0/30"]
    ws1 = topo.node("ws1")
    assert ws1.sshd is not None and ws1.sshd.probe and ws1.sshd.jump_host is None
    assert not any(d.jump for d in site.devices), "the lab's own devices stay direct; tests add the bastion"


def test_a_jump_host_without_a_node_is_refused(inventory: Inventory) -> None:
    def drop(lab: dict[str, Any]) -> None:
        lab["nodes"] = [n for n in lab["nodes"] if n["name"] != "bastion"]
        ops = next(n for n in lab["nodes"] if n["name"] == "ops")
        ops["interfaces"] = [i for i in ops["interfaces"] if i["name"] != "bst0"]

    with pytest.raises(ValueError, match="no lab node serves jump host 'bastion'"):
        load_topology(_with(inventory, drop))


def test_an_sshd_naming_an_unknown_jump_host_is_refused(inventory: Inventory) -> None:
    def rename(lab: dict[str, Any]) -> None:
        next(n for n in lab["nodes"] if n["name"] == "ws1")["sshd"] = {"jump_host": "nope"}

    with pytest.raises(ValueError, match="lab node ws1: site lab has no jump host nope"):
        load_topology(_with(inventory, rename))


def test_nat_of_the_bastion_only(inventory: Inventory) -> None:
    topo, _ = load_topology(inventory)
    rules = _nat_ruleset(topo.node("ops"))
    assert 'ip saddr 10.98.0.0/30 oifname { "eth0", "oob0" } masquerade' in rules
    assert rules.count("masquerade") == 1
    assert 'oifname { "inet0" } masquerade' in _nat_ruleset(topo.node("isp-a")), "ISPs masquerade everything"


@pytest.mark.skipif(os.geteuid() != 0, reason="prepare() gives the lab user its home (chown)")
def test_bastion_and_probe_host_files(tmp_path: Path) -> None:
    config = linuxbox.prepare(tmp_path / "b", device="bastion", hostname="bastion", username="admin",
                              password="lab-pw", bastion=True)
    text = config.read_text()
    assert text.index("PubkeyAuthentication yes") < text.index("PubkeyAuthentication no"), "first one wins"
    assert "AllowTcpForwarding yes" in text
    assert (tmp_path / "b/home/admin/.ssh/authorized_keys").read_text() == ""
    assert "NOPASSWD" not in (tmp_path / "b/etc/sudoers").read_text()
    linuxbox.prepare(tmp_path / "v", device="ws1", hostname="ws1", username="admin", password="lab-pw",
                     probe_python=sys.executable)
    sudoers = (tmp_path / "v/etc/sudoers").read_text()
    assert f"admin ALL=(root) NOPASSWD: {sys.executable} -m egressctl probe --json --plan -\n" in sudoers
    assert "AllowTcpForwarding" not in (tmp_path / "v/sshd_config").read_text()
