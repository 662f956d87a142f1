"""cisco_ios in a switch role (issue 15 item 2): golden renders per stage, read-back and planner refusals.

Mode ``acl``: egressctl's ACLs inbound on the SVIs and outbound on the uplinks, every stage, make-before-break
as on a router. Mode ``shutdown-uplink``: the uplinks shut for isolation and opened for normal, the policy
kept as an unbound record ACL; stages and a management path over an uplink are refused at plan time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.cisco_ios.driver import CiscoIosDriver
from egressctl_drivers.cisco_ios.parse import parse_state
from egressctl_drivers.linux_nftables.driver import LinuxNftablesDriver
from egressctl_lab.testing.conformance import ModelContract, check_golden

from egressctl.driver import DeviceState, OperationContext, operation_context
from egressctl.errors import PlanError
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.planner import plan
from egressctl.policy import compute_policy, equivalent, targets
from tests.drivers.cisco_ios.test_driver import IosModel
from tests.support.driver_contract import GOLDEN, STAMP, StampContract, lab_site

UPLINK = "GigabitEthernet1/0/48"
SVIS = ["Vlan10", "Vlan20"]
BASELINE = "\n!\n" + "\n".join(f"interface {i}" for i in [*SVIS, UPLINK, "GigabitEthernet0/0"])


class SwitchModel(IosModel):
    """The ACL model of test_driver plus ``shutdown`` / ``no shutdown`` under an interface."""

    def __init__(self, raw: str) -> None:
        self.down: set[str] = set()
        self._itf = ""
        super().__init__(raw)

    def step(self, line: str) -> None:
        """Apply one line; an interface's shutdown is kept apart from its bindings."""
        if m := re.match(r"^interface (\S+)$", line):
            self._itf = m.group(1)
        if line.strip() in ("shutdown", "no shutdown") and line.startswith(" "):
            (self.down.discard if line.strip().startswith("no") else self.down.add)(self._itf)
            return
        super().step(line)

    def text(self) -> str:
        """ACLs then each interface with its bindings and `` shutdown`` when shut."""
        out = super().text().split("\n")
        return "\n".join(ln for o in out for ln in ([o, " shutdown"] if o.startswith("interface ")
                                                   and o.split()[1] in self.down else [o]))


def switch_site(mode: str = "acl", **extra: Any) -> Site:
    """The lab site with ce-a turned into a Catalyst switch (role switch)."""
    site = lab_site()
    data = site.device("ce-a").model_dump(mode="json")
    data |= {"role": "switch", "switch": {"mode": mode, "svis": SVIS, "uplinks": [UPLINK],
                                          "mgmt_interface": "GigabitEthernet0/0", **extra}}
    devices = [Device.model_validate(data) if d.name == "ce-a" else d for d in site.devices]
    return site.model_copy(update={"devices": devices}).attach_ssh()  # each device validated on its own


@pytest.fixture(autouse=True)
def _stamped() -> Iterator[None]:
    with operation_context(OperationContext(stamp=STAMP)):
        yield


def driver(site: Site) -> CiscoIosDriver:
    return CiscoIosDriver(site.device("ce-a"), timeout=5.0)


def step_to(drv: CiscoIosDriver, model: SwitchModel, site: Site, target: str) -> DeviceState:
    """Render ``target`` against the model's read-back, apply it, return the new read-back."""
    before = parse_state(drv.device, model.text(), pending=False)
    model.apply(drv.render(compute_policy(site, target), before))
    return parse_state(drv.device, model.text(), pending=False)


@pytest.mark.parametrize("target", [t for t in targets(lab_site()) if t != "normal"])
def test_acl_mode_golden_and_read_back(target: str) -> None:
    site = switch_site()
    drv = driver(site)
    policy = compute_policy(site, target)
    lines = drv.render(policy, parse_state(drv.device, BASELINE, pending=False))
    check_golden(GOLDEN, "cisco_ios", f"switch_{target}", lines)
    assert "interface Vlan10" in lines and f"interface {UPLINK}" in lines
    assert " ip access-group EGRESSCTL-V4-A in" in lines and " ip access-group EGRESSCTL-V4-A out" in lines
    model = SwitchModel(BASELINE).apply(lines)
    state = parse_state(drv.device, model.text(), pending=False)
    assert state.target == target and equivalent(state.rules, policy.rules)
    assert drv.render(policy, state) == []
    assert model.itfs[UPLINK] == {"ip access-group out": "EGRESSCTL-V4-A", "ipv6 traffic-filter out":
                                  "EGRESSCTL-V6-A"}


def test_acl_mode_isolate_stage_full_restore() -> None:
    site = switch_site()
    drv = driver(site)
    model = SwitchModel(BASELINE)
    for target in ("isolated", "ministry", "allowlist"):
        state = step_to(drv, model, site, target)
        assert state.target == target, target
    restore = drv.render(compute_policy(site, "normal"), parse_state(drv.device, model.text(), pending=False))
    check_golden(GOLDEN, "cisco_ios", "switch_normal_from_allowlist", restore)
    state = step_to(drv, model, site, "normal")
    assert state.is_normal and not model.acls and not any(model.itfs.values())


def test_acl_mode_site_acl_on_an_uplink_is_never_replaced() -> None:
    from egressctl_drivers.cisco_ios.render import foreign_inbound

    site = switch_site()
    raw = BASELINE.replace(f"interface {UPLINK}", f"interface {UPLINK}\n ip access-group SITE-OUT out")
    assert foreign_inbound(site.device("ce-a"), raw) == {f"{UPLINK} out": ["SITE-OUT"]}


def test_shutdown_mode_golden_isolate_and_normal() -> None:
    site = switch_site("shutdown-uplink")
    drv = driver(site)
    model = SwitchModel(BASELINE)
    lines = drv.render(compute_policy(site, "isolated"), parse_state(drv.device, BASELINE, pending=False))
    check_golden(GOLDEN, "cisco_ios", "switch_shutdown_isolated", lines)
    assert lines[-2:] == [f"interface {UPLINK}", " shutdown"]
    assert not [ln for ln in lines if "access-group" in ln or "traffic-filter" in ln]  # a record, unbound
    state = step_to(drv, model, site, "isolated")
    assert state.target == "isolated" and model.down == {UPLINK}
    assert drv.render(compute_policy(site, "isolated"), state) == []
    back = drv.render(compute_policy(site, "normal"), state)
    check_golden(GOLDEN, "cisco_ios", "switch_shutdown_normal", back)
    assert back[:2] == [f"interface {UPLINK}", " no shutdown"]
    state = step_to(drv, model, site, "normal")
    assert state.is_normal and not model.down and not model.acls


def test_shutdown_mode_record_with_the_uplink_up_is_unknown_and_reapplied() -> None:
    site = switch_site("shutdown-uplink")
    drv = driver(site)
    model = SwitchModel(BASELINE)
    step_to(drv, model, site, "isolated")
    model.down.clear()  # someone typed no shutdown by hand
    state = parse_state(drv.device, model.text(), pending=False)
    assert state.target == "unknown"
    again = drv.render(compute_policy(site, "isolated"), state)
    assert again[-2:] == [f"interface {UPLINK}", " shutdown"]


def test_shutdown_mode_render_refuses_a_stage() -> None:
    site = switch_site("shutdown-uplink")
    with pytest.raises(ValueError, match="no stages"):
        driver(site).render(compute_policy(site, "ministry"), None)


# -- the planner ----------------------------------------------------------------------------------------
NETNS = Path(__file__).with_name("netns_site.yaml")


def closet(name: str, **switch: Any) -> Site:
    """A site of netns_site.yaml, its switch's settings changed by ``switch``."""
    site = load_inventory(NETNS).site(name)
    data = site.device("sw-h13").model_dump(mode="json")
    data["switch"] |= switch
    return site.model_copy(update={"devices": [Device.model_validate(data)]}).attach_ssh()


def plan_of(site: Site, target: str) -> Any:
    dev = site.devices[0]
    return plan(site, compute_policy(site, target), {dev.name: CiscoIosDriver(dev, timeout=5.0)})


def test_plan_refuses_a_stage_in_shutdown_mode_and_states_the_mode() -> None:
    site = closet("h13cut")
    with pytest.raises(PlanError) as info:
        plan_of(site, "web")
    assert "device sw-h13: switch mode shutdown-uplink only isolates fully or restores fully; stage web " \
           "needs mode acl" in str(info.value)
    dp = plan_of(site, "isolated").device("sw-h13")
    assert any(w.startswith("switch mode shutdown-uplink: shuts uplinks GigabitEthernet1/0/48") and
               "always-allowed flows included" in w for w in dp.warnings), dp.warnings
    assert dp.lines[-2:] == ("interface GigabitEthernet1/0/48", " shutdown")
    back = plan_of(site, "normal").device("sw-h13")
    assert any("opens uplinks GigabitEthernet1/0/48" in w for w in back.warnings)
    acl = plan_of(closet("h13net"), "web").device("sw-h13")
    assert "switch mode acl: ACLs inbound on SVIs Vlan10, outbound on uplinks GigabitEthernet1/0/48" in \
        acl.warnings


def test_plan_refuses_a_management_path_over_the_uplink() -> None:
    with pytest.raises(PlanError, match="management reaches it on GigabitEthernet1/0/48, an uplink"):
        plan_of(closet("h13cut", mgmt_interface=UPLINK), "isolated")
    # h13net's NOC manages a server inside from beyond the uplink: shutting it would cut that path
    with pytest.raises(PlanError) as info:
        plan_of(closet("h13net", mode="shutdown-uplink"), "isolated")
    assert "management path noc-ssh from 10.78.2.2/32 to 10.78.1.2/32 enters the site through the uplinks" \
        in str(info.value)
    # the lab site: ops-ssh from 10.99.0.50 reaches the other devices' addresses inside 10.10.0.0/16
    lab = switch_site("shutdown-uplink")
    with pytest.raises(PlanError, match=r"management path ops-ssh from 10\.99\.0\.50/32 to 10\.10\."):
        plan(lab, compute_policy(lab, "isolated"), {"ce-a": driver(lab)})
    # ACL mode keeps management by its rules: nothing to refuse
    assert plan_of(closet("h13net"), "isolated").device("sw-h13").lines


def test_plan_refuses_the_switch_role_on_a_driver_without_it() -> None:
    site = switch_site()
    drv = LinuxNftablesDriver(site.device("ce-a"), timeout=5.0)
    with pytest.raises(PlanError, match="device ce-a: platform cisco_ios has no switch role"):
        plan(site, compute_policy(site, "isolated"), {"ce-a": drv})


class TestSwitchAclModeContract(StampContract, ModelContract):
    """The conformance suite on the closet site's switch in mode acl (golden files are the tests above)."""

    model = SwitchModel
    driver_cls = CiscoIosDriver
    inventory = NETNS
    site_name = "h13net"
    device_name = "sw-h13"
    baseline = BASELINE
    golden_dir = None

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)


# -- egressctl check: the switch role's interfaces -----------------------------------------------------------
SHOWN = "interface Vlan10\ninterface GigabitEthernet0/0\n no switchport\ninterface GigabitEthernet1/0/48\n" \
        " no switchport\ninterface GigabitEthernet1/0/1\n"


def test_check_wants_the_interfaces_and_a_routed_uplink_in_acl_mode() -> None:
    from egressctl_drivers.cisco_ios.switchcheck import switch_check

    from egressctl.check import Status

    acl = closet("h13net").device("sw-h13")
    found = switch_check(acl, SHOWN)
    assert found is not None and found.status == Status.OK and "routed uplinks GigabitEthernet1/0/48" in \
        found.detail
    l2 = switch_check(acl, SHOWN.replace("interface GigabitEthernet1/0/48\n no switchport\n",
                                         "interface GigabitEthernet1/0/48\n"))
    assert l2 is not None and l2.status == Status.FAIL and "is a switch port" in l2.detail
    gone = switch_check(acl, SHOWN.replace("interface Vlan10\n", ""))
    assert gone is not None and gone.status == Status.FAIL and "not on the switch: Vlan10" in gone.detail
    cut = switch_check(closet("h13cut").device("sw-h13"), SHOWN)
    assert cut is not None and cut.status == Status.OK and "no stages" in cut.detail
    assert switch_check(lab_site().device("ce-a"), SHOWN) is None
