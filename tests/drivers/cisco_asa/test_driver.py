"""cisco_asa driver: render/parse/golden through the conformance suite, plus ASA display quirks.

The read-back after a change is computed by the ASA emulator itself, in memory: the previous read-back is
typed into ``configure terminal`` (the ASA accepts its own display form), then the driver's lines, and the
three ``show running-config`` sections are what the driver reads. The emulator is written from the
vendor's CLI, never from the driver, so this is a second opinion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.cisco_asa import constants as c
from egressctl_drivers.cisco_asa import render as r
from egressctl_drivers.cisco_asa.driver import CiscoAsaDriver
from egressctl_drivers.cisco_asa.parse import ParseError, parse_entry, parse_state
from egressctl_drivers.cisco_asa.sessions import parse_conns
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.cisco_asa import AsaDevice
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane

from egressctl.driver import Capability, DeviceState, SafetyNet, SessionHandling
from egressctl.errors import CommandRejected
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy, equivalent
from tests.support.driver_contract import GOLDEN, StampContract

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = DeviceSpec(name="asa-a", hostname="asa-a", username="admin", password="unused-h9",
                  interfaces={"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
                  options={"nameif:GigabitEthernet0/0": "outside", "nameif:GigabitEthernet0/1": "inside"})


def asa_site() -> Site:
    return load_inventory(INVENTORY).site("clinic")


def emulate(raw: str, lines: list[str]) -> str:
    """The read-back of an emulated ASA showing ``raw`` after ``lines`` were typed."""
    dev = AsaDevice(SPEC, ManualClock(), NullDataPlane())
    cli = dev.new_session("admin")
    for line in ["enable", "unused-h9", "configure terminal", *raw.splitlines(), "end", "configure terminal",
                 *lines, "end"]:
        reply = cli.handle(line)
        assert "ERROR" not in reply.text, f"{line!r}: {reply.text}"
    return "".join(cli.handle(cmd).text for cmd in c.READ_BACK)


class TestCiscoAsaContract(StampContract):
    inventory = INVENTORY
    site_name = "clinic"
    golden_dir = GOLDEN
    driver_cls = CiscoAsaDriver
    device_name = "asa-a"
    baseline = ""

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)

    def readback(self, drv: Any, lines: list[str]) -> str:
        return emulate(self.baseline, lines)

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        return emulate(state.raw, lines)


def _driver() -> CiscoAsaDriver:
    return CiscoAsaDriver(asa_site().device("asa-a"))


def test_port_names_masks_and_groups_are_normalised() -> None:
    rule = parse_entry("extended permit udp any4 host 203.0.113.10 eq isakmp", "x", {})[0]
    assert str(rule.dst_ports[0]) == "500" and str(rule.destinations[0]) == "203.0.113.10/32"
    rule = parse_entry("extended permit tcp 10.10.0.0 255.255.0.0 eq ssh any4 range 8000 8080", "x", {})[0]
    assert str(rule.sources[0]) == "10.10.0.0/16" and str(rule.src_ports[0]) == "22"
    groups = {"object-group network EGC-A-1-S6": ["network-object host fd10::1", "network-object fd11::/32"],
              "object-group service EGC-A-1-P6 tcp": ["port-object eq domain", "port-object range 1 2"]}
    text = "extended permit tcp object-group EGC-A-1-S6 any6 object-group EGC-A-1-P6"
    atoms = parse_entry(text, "x", groups)
    assert [(str(a.sources[0]), str(a.dst_ports[0])) for a in atoms] == [
        ("fd10::1/128", "53"), ("fd10::1/128", "1-2"), ("fd11::/32", "53"), ("fd11::/32", "1-2")]
    assert parse_entry("extended deny icmp6 any6 any6", "x", {})[0].protocol == "icmp"
    with pytest.raises(ParseError):
        parse_entry("extended permit tcp any any eq ssh", "x", {})  # no family: egressctl never writes any


def test_make_before_break_and_undo_round_trip() -> None:
    """A stage change builds the other slot, binds it, then drops the old one; the undo puts it back."""
    drv, site = _driver(), asa_site()
    iso = emulate("", drv.render(compute_policy(site, "isolated"), None))
    state = parse_state(drv.device, iso, pending=False)
    assert state.target == "isolated" and "access-group EGRESSCTL-A out interface outside" in iso
    change = drv.render(compute_policy(site, "ministry"), state)
    bind = change.index("access-group EGRESSCTL-B out interface outside")
    assert change.index("access-list EGRESSCTL-B extended deny ip any4 any4") < bind
    assert bind < change.index("clear configure access-list EGRESSCTL-A")
    after = emulate(iso, change)
    assert parse_state(drv.device, after, pending=False).target == "ministry"
    back = emulate(after, r.undo(drv.device, state, change))
    again = parse_state(drv.device, back, pending=False)
    assert again.target == "isolated" and equivalent(again.rules, state.rules)
    assert "EGRESSCTL-B" not in back and "EGC-B-" not in back
    first = drv.render(compute_policy(site, "isolated"), None)
    normal = emulate(iso, r.undo(drv.device, parse_state(drv.device, "", pending=False), first))
    assert "EGRESSCTL" not in normal and "EGC-" not in normal


def test_a_site_acl_bound_out_on_the_outside_is_never_replaced() -> None:
    drv, site = _driver(), asa_site()
    raw = emulate("", ["access-list SITE-OUT extended permit ip any any",
                       "access-group SITE-OUT out interface outside"])
    with pytest.raises(CommandRejected, match="site ACL out"):
        drv.load_candidate(compute_policy(site, "isolated"), parse_state(drv.device, raw, pending=False))


def test_capabilities_and_safety_net_without_a_revert_host() -> None:
    drv = _driver()
    assert Capability.SESSION_KILL in drv.capabilities and Capability.NATIVE_REVERT not in drv.capabilities
    assert drv.session_handling() is SessionHandling.KEPT
    net = drv.net_description()
    assert net.net is SafetyNet.GUARDED_SNAPSHOT and "write memory" in net.on_fire


def test_show_conn_rows_give_the_initiator_and_ports() -> None:
    drv = _driver()
    text = ("2 in use, 2 most used\n\nTCP outside  192.0.2.80:443 inside  10.10.1.11:40000, idle 0:00:01, "
            "bytes 0, flags UIO\nUDP outside  2001:db8:c::80:53 inside  fd10:0:1::11:5353, idle 0:00:00, "
            "bytes 0, flags -\n")
    inside = list(asa_site().inside)
    found = parse_conns(text, drv.device, inside)
    assert [(str(s.src), s.sport, str(s.dst), s.dport) for s in found] == [
        ("10.10.1.11", 40000, "192.0.2.80", 443), ("fd10:0:1::11", 5353, "2001:db8:c::80", 53)]


@pytest.mark.parametrize("stop", [3, 20, -2])
def test_undo_of_a_change_that_stopped_part_way(stop: int) -> None:
    """Lines typed before a refusal are undone; the previous ACL is never unbound while it is still intact."""
    drv, site = _driver(), asa_site()
    iso = emulate("", drv.render(compute_policy(site, "isolated"), None))
    state = parse_state(drv.device, iso, pending=False)
    change = drv.render(compute_policy(site, "ministry"), state)
    undo = r.undo(drv.device, state, change)
    stop = stop % len(change)  # -2: the old slot is already cleared, one of its groups still there
    partial = emulate(iso, change[:stop])
    needed = r.undo_needed(drv.device, partial, undo)
    intact = stop < change.index("clear configure access-list EGRESSCTL-A")
    assert (needed[0] == "clear configure access-list EGRESSCTL-B") is intact
    created = {ln.split()[2] for ln in change[:stop] if ln.startswith("object-group ")}
    lines = [ln for ln in needed if not ln.startswith("no object-group ") or ln.split()[3] in created]
    back = parse_state(drv.device, emulate(partial, lines), pending=False)
    assert back.target == "isolated" and equivalent(back.rules, state.rules)
    assert "EGRESSCTL-B" not in back.raw and "EGC-B-" not in back.raw
