"""vyos driver: render/parse/golden through the conformance suite, plus VyOS display quirks and sessions.

The read-back after a change is computed by the VyOS emulator itself, in memory: the previous read-back
(``set`` lines) is committed first, then the driver's lines, and ``show configuration commands | match
firewall`` is what the driver reads. The emulator is written from the vendor's CLI, never from the driver,
so this is a second opinion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.vyos import constants as c
from egressctl_drivers.vyos import sessions as vs
from egressctl_drivers.vyos.driver import VyosDriver
from egressctl_drivers.vyos.parse import ParseError, parse_rule, parse_state
from egressctl_drivers.vyos.preflight import REBOOT_FIRES, RELOAD_FIRES, pending_check, safety_net_check
from egressctl_drivers.vyos.revert import confirm_minutes
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.vyos import VyosDevice

from egressctl.check import Status
from egressctl.driver import DeviceState, SafetyNet, SessionHandling
from egressctl.errors import CommandRejected
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy
from tests.support.driver_contract import GOLDEN, StampContract

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = DeviceSpec(name="vy-a", hostname="vy-a", username="vyos", password="unused-h10",
                  interfaces={"eth0": "e0", "eth1": "e1"})


def clinic() -> Site:
    return load_inventory(INVENTORY).site("clinic")


def emulate(raw: str, lines: list[str]) -> str:
    """The read-back of an emulated router showing ``raw`` after ``lines`` were committed."""
    dev = VyosDevice(SPEC, ManualClock(), NullDataPlane())
    cli = dev.new_session("vyos")
    for batch in ([ln for ln in raw.splitlines() if ln.startswith("set ")], lines):
        for line in ["configure", *batch, "commit", "exit"]:
            reply = cli.handle(line)
            refused = any(w in reply.text for w in ("failed", "not valid", "Invalid"))
            assert not refused, f"{line!r}: {reply.text}"
    return cli.handle(c.READ_BACK).text


BASELINE = emulate("", [])


class TestVyosContract(StampContract):
    inventory = INVENTORY
    site_name = "clinic"
    golden_dir = GOLDEN
    driver_cls = VyosDriver
    device_name = "vy-a"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)

    def readback(self, drv: Any, lines: list[str]) -> str:
        return emulate(self.baseline, lines)

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        return emulate(state.raw, lines)


def drv() -> VyosDriver:
    return VyosDriver(clinic().device("vy-a"))


def test_baseline_holds_the_state_policy_and_is_normal() -> None:
    assert "state-policy established action 'accept'" in BASELINE
    assert parse_state(drv().device, BASELINE, pending=False).is_normal
    assert vs.handling(BASELINE) is SessionHandling.KEPT
    assert vs.handling("") is SessionHandling.STATELESS


def test_jumps_missing_on_an_outside_interface_read_as_unknown() -> None:
    """A chain no outside interface jumps to filters nothing: the planner must re-apply."""
    d = drv()
    policy = compute_policy(clinic(), "isolated")
    raw = emulate(BASELINE, d.render(policy, None))
    cut = "\n".join(ln for ln in raw.splitlines() if "forward filter" not in ln)
    state = parse_state(d.device, cut, pending=False)
    assert state.target == "unknown" and not state.is_normal
    assert d.render(policy, state)


def test_site_rule_where_the_jump_goes_is_refused() -> None:
    d = drv()
    raw = BASELINE + "set firewall ipv4 forward filter rule 1 action 'accept'\n"
    state = parse_state(d.device, raw, pending=False)
    with pytest.raises(CommandRejected, match="site's"):
        d.load_candidate(compute_policy(clinic(), "isolated"), state)


def test_rule_parsing() -> None:
    rule = parse_rule(6, [["action", "return"], ["description", "dns-fwd"], ["protocol", "udp"],
                          ["destination", "address", "2001:db8:c::d53/128"], ["destination", "port", "53"]])
    assert rule.protocol == "udp" and str(rule.destinations[0]) == "2001:db8:c::d53/128"
    assert parse_rule(6, [["action", "drop"], ["protocol", "ipv6-icmp"]]).protocol == "icmp"
    assert str(parse_rule(4, [["action", "return"], ["protocol", "tcp"],
                              ["destination", "port", "8000-8080"]]).dst_ports[0]) == "8000-8080"
    with pytest.raises(ParseError):
        parse_rule(4, [["action", "accept"]])


def test_timer_minutes_and_descriptions() -> None:
    assert confirm_minutes(3) == 1 and confirm_minutes(61) == 2 and confirm_minutes(600) == 10
    assert safety_net_check("reload").status is Status.OK
    reboot = safety_net_check("reboot")
    assert reboot.status is Status.WARN and "REBOOTS" in reboot.safety_net_effect
    assert pending_check("/var/run/confirm.job\n").status is Status.WARN
    assert pending_check("ls: cannot access").status is Status.OK
    offline = drv().net_description()
    assert offline.net is SafetyNet.NATIVE_CONFIRM and "REBOOT" in offline.on_fire.upper()
    assert "no reboot" in RELOAD_FIRES and "down" in REBOOT_FIRES


def test_the_plan_says_reload_or_reboot_before_any_change() -> None:
    """From ``show version`` and the configured action, before egressctl set anything."""
    from egressctl_drivers.vyos import revert as rv

    assert rv.version_of("Version:          VyOS 1.4.0\nRelease train:    sagitta") == (1, 4)
    assert rv.version_of("Version:          VyOS 1.5-rolling-202501010000") == (1, 5)
    assert rv.version_of("Version:          VyOS 2025.01.14-0020-rolling") == (1, 5)
    assert rv.version_of("no version here") is None
    assert rv.action_of("set system config-management commit-confirm action 'reload'") == "reload"
    assert rv.action_of("set system config-management commit-revisions '100'") == "reboot"
    new = rv.describe("reboot", (1, 5))
    assert new.net is SafetyNet.NATIVE_CONFIRM and "egressctl sets" in new.on_fire
    old = rv.describe("reboot", (1, 4))
    assert old.net is SafetyNet.REBOOT_REVERT and "REBOOTS" in old.on_fire
    assert rv.describe("reload", None).net is SafetyNet.NATIVE_CONFIRM
    assert safety_net_check("reboot", knows_reload=True).status is Status.OK
