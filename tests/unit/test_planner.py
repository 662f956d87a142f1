"""The planner is pure: policy, rendering, no-op detection, diffs, and capability gaps refused together."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from engine_double import FakeDriver, FakeNet, inventory_yaml

from egressctl.driver import Capability, DeviceState
from egressctl.errors import PlanError, PolicyError
from egressctl.inventory import parse_inventory
from egressctl.inventory.models import Site
from egressctl.planner import TestFaults, plan
from egressctl.policy import compute_policy


@pytest.fixture
def site() -> Site:
    return parse_inventory(inventory_yaml(devices=3)).sites[0]


def drivers(site: Site, cls: type[FakeDriver] = FakeDriver) -> dict[str, FakeDriver | str]:
    net = FakeNet()
    return {d.name: cls(d, net) for d in site.devices}


def test_plan_from_unknown_renders_everything(site: Site) -> None:
    p = plan(site, {}, "isolated", drivers(site))
    assert [d.device for d in p.devices] == ["dev1", "dev2", "dev3"]
    assert not p.noop
    d = p.device("dev1")
    assert d.current_target is None and d.lines[-1].startswith("rule deny-egress")
    assert any(ln.startswith("+v4 deny") for ln in d.diff)
    assert p.to_dict()["fingerprint"] == compute_policy(site, "isolated").fingerprint()


def test_noop_when_device_already_there(site: Site) -> None:
    pol = compute_policy(site, "ministry")
    held = DeviceState("ministry", pol.fingerprint(), pol.rules)
    p = plan(site, {"dev1": held, "dev2": DeviceState("normal", "")}, "ministry", drivers(site))
    assert p.device("dev1").noop and p.device("dev1").diff == ()
    assert not p.device("dev2").noop
    pending = DeviceState("ministry", pol.fingerprint(), pol.rules, pending_commit=True)
    assert not plan(site, {"dev1": pending}, "ministry", drivers(site)).device("dev1").noop


def test_diff_between_stages(site: Site) -> None:
    iso = compute_policy(site, "isolated")
    p = plan(site, {"dev1": DeviceState("isolated", iso.fingerprint(), iso.rules)}, "ministry", drivers(site))
    added = [ln for ln in p.device("dev1").diff if ln.startswith("+")]
    assert added and all("203.0.113.20/32" in ln for ln in added)


def test_normal_target_is_noop_on_clean_device(site: Site) -> None:
    p = plan(site, {d.name: DeviceState("normal", "") for d in site.devices}, "normal", drivers(site))
    assert p.noop


class NoSourcePrefixes(FakeDriver):
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability) - {
        Capability.SOURCE_PREFIXES, Capability.SOURCE_PORTS}


def test_every_gap_on_every_device_is_refused_together(site: Site) -> None:
    drv: dict[str, FakeDriver | str] = drivers(site, NoSourcePrefixes)
    drv["dev3"] = "driver for platform linux_nftables unavailable: ImportError"
    with pytest.raises(PlanError) as info:
        plan(site, {}, "isolated", drv)
    gaps = info.value.gaps
    assert any(g.startswith("device dev1: rule mgmt-ops-ssh: needs source-prefixes") for g in gaps)
    assert any(g.startswith("device dev2: rule mgmt-ops-ssh-re: needs source-ports") for g in gaps)
    assert any(g.startswith("device dev3: driver") for g in gaps)


def test_unknown_target(site: Site) -> None:
    with pytest.raises(PolicyError):
        plan(site, {}, "nonsense", drivers(site))


def test_faults_change_only_the_rendering(site: Site) -> None:
    faults = TestFaults(drop_management_on={"dev2"}, skip_exit="primary")
    p = plan(site, {}, "isolated", drivers(site), faults=faults)
    d2 = p.device("dev2")
    assert d2.policy == compute_policy(site, "isolated")
    assert not any(r.kind == "management" for r in d2.render_policy.rules)
    assert p.device("dev1").skipped and not p.device("dev2").skipped


def test_plan_is_pure(site: Site, tmp_path: Path) -> None:
    net = FakeNet()
    plan(site, {}, "isolated", {d.name: FakeDriver(d, net) for d in site.devices})
    assert net.sent == [] and sum(net.opens.values()) == 0
