"""``lab up --sites N``: copy k of the lab site is the same site renamed, on its own ports and namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest
from egressctl_lab.estate import PORT_STRIDE, EstateLab, site_name
from egressctl_lab.topology import load_topology

from egressctl.inventory.loader import load_inventory

SITE = Path(__file__).resolve().parents[2] / "lab" / "site.yaml"


def test_copies_are_the_site_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGRESSCTL_LAB_MODE", "root")
    estate = EstateLab(SITE, 3, prefix="zz-", port_base=29000, state_dir=tmp_path)
    assert [site_name("lab", k) for k in (1, 2, 3)] == ["lab", "lab2", "lab3"]
    topo, site = load_topology(load_inventory(estate._copy_source(2)))
    original = load_inventory(SITE).site("lab")
    assert (topo.site, site.name) == ("lab2", "lab2")
    assert [d.name for d in site.devices] == [d.name for d in original.devices]
    member = estate._member(3)
    assert member.prefix == "zz-03-"
    assert [d.port for d in member._effective_site.devices] == [
        29000 + 2 * PORT_STRIDE + i for i in range(len(original.devices))]
    assert member.paths.state == tmp_path / "lab" / "estate" / "03"


def test_estate_needs_root_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from egressctl_lab.errors import LabError

    monkeypatch.setenv("EGRESSCTL_LAB_MODE", "userns")
    with pytest.raises(LabError, match="root mode"):
        EstateLab(SITE, 2, state_dir=tmp_path)


def test_branch_devices_fill_each_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from egressctl_lab.branches import BRANCH_PLATFORMS
    from egressctl_lab.hostkeys import public_line

    monkeypatch.setenv("EGRESSCTL_LAB_MODE", "root")
    estate = EstateLab(SITE, 10, prefix="zz-", port_base=29000, state_dir=tmp_path, devices_per_site=10)
    topo, site = load_topology(load_inventory(estate._copy_source(4)))
    original = load_inventory(SITE).site("lab")
    assert len(site.devices) == 10 and site.name == "lab4"
    branches = site.devices[len(original.devices):]
    assert [d.name for d in branches] == ["br1", "br2", "br3", "br4", "br5"]
    assert {d.platform for d in branches} == set(BRANCH_PLATFORMS)
    assert all(d.host_key == public_line(d.name) for d in branches)
    mgmt = [str(d.mgmt_address) for d in site.devices]
    assert len(set(mgmt)) == len(mgmt), "every device its own management address"
    for d in branches:  # a namespace of its own, managed out of band, its data ports on the branch bridge
        node = topo.device_node(d.name)
        assert node.name == d.name and str(d.mgmt_address) in node.addresses()
        assert {i.bridge for i in node.interfaces} <= {"oob", "brnet"}
    member = estate._member(10)
    assert estate.stride == 20 and member._effective_site.devices[0].port == 29000 + 9 * 20
    assert max(d.port for d in member._effective_site.devices) < 29000 + 10 * 20


def test_a_copy_cannot_shrink_below_the_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from egressctl_lab.errors import LabError

    monkeypatch.setenv("EGRESSCTL_LAB_MODE", "root")
    with pytest.raises(LabError, match="already has 5 devices"):
        EstateLab(SITE, 2, state_dir=tmp_path, devices_per_site=3)._copy_source(1)
