"""mikrotik_routeros driver: render/parse/golden through the conformance suite, plus RouterOS specifics.

The read-back after a change is computed by the RouterOS emulator itself, in memory: the previous read-back
(an export) is typed into a fresh router whose filters were emptied, then the driver's lines, and
``export terse`` of both filters is what the driver reads. The emulator is written from the vendor's
console, never from the driver, so this is a second opinion. The on-box revert script is run the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.mikrotik_routeros import constants as c
from egressctl_drivers.mikrotik_routeros import render as r
from egressctl_drivers.mikrotik_routeros.driver import MikrotikRouterosDriver
from egressctl_drivers.mikrotik_routeros.parse import (
    ParseError,
    owned,
    parse_rule,
    parse_state,
    pending,
    props,
)
from egressctl_drivers.mikrotik_routeros.sessions import parse_listing
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.mikrotik_routeros import RosDevice

from egressctl.driver import DeviceState
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy
from tests.support.driver_contract import GOLDEN, StampContract

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = DeviceSpec(name="rtr-a", hostname="rtr-a", username="admin", password="unused-h11",
                  interfaces={"ether1": "e1", "bridge": "br0"})
BASELINE = ""


def ros_site() -> Site:
    return load_inventory(INVENTORY).site("clinic")


def router(raw: str) -> tuple[RosDevice, Any]:
    """A fresh emulated router holding ``raw``'s filter rules (its default ones removed first)."""
    dev = RosDevice(SPEC, ManualClock(), NullDataPlane())
    cli = dev.new_session("admin")
    if raw:
        for line in ["/ip firewall filter remove [find]", "/ipv6 firewall filter remove [find]",
                     *[x for x in raw.splitlines() if x.startswith("/")]]:
            reply = cli.handle(line)
            assert not reply.text.strip(), f"{line!r}: {reply.text}"
    return dev, cli


def emulate(raw: str, lines: list[str]) -> str:
    """The read-back of an emulated router showing ``raw`` after ``lines`` were typed."""
    _, cli = router(raw)
    for line in lines:
        reply = cli.handle(line)
        assert not reply.text.strip(), f"{line!r}: {reply.text}"
    return "\n".join(cli.handle(cmd).text for cmd in c.READ_BACK)


class TestMikrotikRouterosContract(StampContract):
    inventory = INVENTORY
    site_name = "clinic"
    golden_dir = GOLDEN
    driver_cls = MikrotikRouterosDriver
    device_name = "rtr-a"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)

    def readback(self, drv: Any, lines: list[str]) -> str:
        return emulate(emulate("", []), lines)

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        return emulate(state.raw or emulate("", []), lines)


def _drv() -> MikrotikRouterosDriver:
    return MikrotikRouterosDriver(ros_site().device("rtr-a"))


def _at(raw: str, target: str) -> DeviceState:
    drv = _drv()
    state = parse_state(drv.device, raw, pending=False)
    return parse_state(drv.device, emulate(raw, drv.render(compute_policy(ros_site(), target), state)),
                       pending=False)


def test_jumps_sit_above_fasttrack_and_a_change_switches_slots_with_one_set() -> None:
    iso = _at(emulate("", []), "isolated")
    assert owned(iso.raw).active == "egressctl-a"
    fwd = [ln for ln in iso.raw.splitlines() if "chain=forward" in ln and ln.startswith("/ip firewall")]
    assert "egressctl jump" in fwd[0] and "fasttrack-connection" in fwd[1], fwd
    lines = _drv().render(compute_policy(ros_site(), "ministry"), iso)
    assert [ln for ln in lines if " set " in ln] == [
        f'{c.MENU[f]} set [find where comment="egressctl jump"] jump-target=egressctl-b' for f in (4, 6)]
    assert not any("remove" in ln for ln in lines), "the old chain stays until the confirm"


def test_the_revert_script_undoes_a_change_and_removes_itself() -> None:
    """The armed script, run by the emulator's scheduler, puts the jumps back and disarms."""
    site = ros_site()
    iso = _at(emulate("", []), "isolated")
    drv = _drv()
    lines = drv.render(compute_policy(site, "ministry"), iso)
    dev, cli = router(iso.raw)
    for line in r.arm_lines(r.undo_lines(iso, r.free_slot(owned(iso.raw))), 60, "egressctl guards"):
        assert not cli.handle(line).text.strip(), line
    for line in lines:
        assert not cli.handle(line).text.strip(), line
    assert pending(cli.handle(c.SCHEDULER_READ).text)
    dev.clock.advance(61)  # type: ignore[attr-defined]
    raw = "\n".join(cli.handle(cmd).text for cmd in c.READ_BACK)
    back = parse_state(drv.device, raw, pending=False)
    assert (back.target, back.fingerprint) == (iso.target, iso.fingerprint)
    assert not pending(cli.handle(c.SCHEDULER_READ).text)
    assert "egressctl-revert" not in cli.handle("/system script export terse").text


def test_the_startup_item_reverts_after_a_reboot() -> None:
    """RouterOS saved the unconfirmed change: 3 s after a reboot the startup item undoes it."""
    normal = emulate("", [])
    drv = _drv()
    state = parse_state(drv.device, normal, pending=False)
    lines = drv.render(compute_policy(ros_site(), "isolated"), state)
    dev, cli = router(normal)
    for line in [*r.arm_lines(r.undo_lines(state, "egressctl-a"), 3600, "x"), *lines]:
        assert not cli.handle(line).text.strip(), line
    dev.reboot()
    assert cli.handle("/system identity print").close, "the reboot ends every session"
    after = dev.new_session("admin")
    assert "egressctl" in after.handle("/ip firewall filter export terse").text, "saved: kept by the reboot"
    dev.clock.advance(3.5)  # type: ignore[attr-defined]
    assert parse_state(drv.device, "\n".join(after.handle(x).text for x in c.READ_BACK), False).is_normal
    assert dev.events == [c.REVERT_BOOT]


def test_export_values_and_foreign_rules() -> None:
    assert props('action=return chain=egressctl-a comment="egressctl rule=a \\"b\\"" dst-port=443') == {
        "action": "return", "chain": "egressctl-a", "comment": 'egressctl rule=a "b"', "dst-port": "443"}
    with pytest.raises(ParseError):
        parse_rule({"action": "accept", "chain": "egressctl-a", "comment": "egressctl rule=x"}, 4)
    rule = parse_rule({"action": "return", "chain": "egressctl-a", "comment": "egressctl rule=x",
                       "protocol": "icmpv6", "dst-address": "2001:db8::1"}, 6)
    assert rule.protocol == "icmp" and str(rule.destinations[0]) == "2001:db8::1/128"


def test_connection_listing_names_each_session_by_its_tuple() -> None:
    site = ros_site()
    text = (" 0  SAC  protocol=tcp src-address=10.10.1.11 src-port=40000 dst-address=192.0.2.80 "
            "dst-port=8080 tcp-state=established timeout=23h59m\n"
            " 1  SAC  protocol=tcp src-address=10.10.1.12:40001 dst-address=192.0.2.80:80 "
            "tcp-state=time-wait\n")
    found = parse_listing(text, site.device("rtr-a"), site.inside)
    assert [s.describe() for s in found] == ["tcp 10.10.1.11:40000 -> 192.0.2.80:8080",
                                            "tcp 10.10.1.12:40001 -> 192.0.2.80:80"]
    assert found[0].ref.endswith("src-port=40000 dst-port=8080") and not found[1].live


def test_capabilities_and_safety_net() -> None:
    drv = _drv()
    assert drv.safety_net.value == "on-box revert script"
    assert "3 s after any reboot" in drv.net_description().on_fire
