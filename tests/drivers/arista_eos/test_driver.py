"""arista_eos driver: render/parse/golden through the conformance suite, plus EOS display quirks.

The read-back after a change is computed by the EOS emulator itself, in memory: the previous read-back is
typed into ``configure terminal`` (EOS accepts its own numbered entries), the driver's lines into session
``egressctl``, which is committed, and ``show running-config | section access-`` is what the driver reads.
The emulator is written from the vendor's CLI, never from the driver, so this is a second opinion.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.arista_eos import constants as c
from egressctl_drivers.arista_eos import render as r
from egressctl_drivers.arista_eos.driver import AristaEosDriver
from egressctl_drivers.arista_eos.parse import ParseError, parse_entry, parse_state
from egressctl_lab.emu.arista_eos import EosDevice
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane

from egressctl.driver import DeviceState
from egressctl.errors import CommandRejected
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy, equivalent
from tests.support.driver_contract import GOLDEN, StampContract

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = DeviceSpec(name="dist-a", hostname="dist-a", username="admin", password="unused-h8",
                  interfaces={"Ethernet1": "et1", "Ethernet2": "et2"})
BASELINE = ""


def eos_site() -> Site:
    return load_inventory(INVENTORY).site("dist")


def emulate(raw: str, lines: list[str]) -> str:
    """The read-back of an emulated switch showing ``raw`` after ``lines`` were committed in a session."""
    dev = EosDevice(SPEC, ManualClock(), NullDataPlane())
    cli = dev.new_session("admin")
    script = ["configure terminal", *raw.splitlines(), "end", f"configure session {c.SESSION}", *lines,
              "commit"]
    for line in script:
        reply = cli.handle(line)
        assert "%" not in reply.text, f"{line!r}: {reply.text}"
    return cli.handle(c.READ_BACK).text


class TestAristaEosContract(StampContract):
    inventory = INVENTORY
    site_name = "dist"
    golden_dir = GOLDEN
    driver_cls = AristaEosDriver
    device_name = "dist-a"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)

    def readback(self, drv: Any, lines: list[str]) -> str:
        return emulate(self.baseline, lines)

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        return emulate(state.raw, lines)


def test_port_keywords_and_numbered_entries_are_normalised() -> None:
    rule = parse_entry("30 permit udp any host 203.0.113.10 eq non500-isakmp", 4, "x")
    assert str(rule.dst_ports[0]) == "4500" and str(rule.destinations[0]) == "203.0.113.10/32"
    rule = parse_entry("40 permit tcp fd10::/32 host 2001:db8:c::d53 eq domain", 6, "x")
    assert str(rule.sources[0]) == "fd10::/32" and str(rule.dst_ports[0]) == "53"
    rule = parse_entry("50 permit tcp 10.10.0.0/16 eq ssh any range 8000 8080", 4, "x")
    assert str(rule.src_ports[0]) == "22" and str(rule.dst_ports[0]) == "8000-8080"
    assert parse_entry("60 deny icmpv6 any any", 6, "x").protocol == "icmp"
    with pytest.raises(ParseError):
        parse_entry("70 permit tcp any any eq nosuchport", 4, "x")


def test_emulator_shows_names_the_parser_reads() -> None:
    site = eos_site()
    drv = AristaEosDriver(site.device("dist-a"))
    policy = compute_policy(site, "ministry")
    raw = emulate("", drv.render(policy, parse_state(drv.device, "", pending=False)))
    assert "eq ssh" in raw and "eq smtp" in raw and "eq isakmp" in raw, raw
    state = parse_state(drv.device, raw, pending=False)
    assert state.target == "ministry" and equivalent(state.rules, policy.rules)


def test_unbound_acl_is_unknown_and_rerendered() -> None:
    site = eos_site()
    drv = AristaEosDriver(site.device("dist-a"))
    policy = compute_policy(site, "isolated")
    raw = emulate("", drv.render(policy, parse_state(drv.device, "", pending=False)))
    unbound = "\n".join(ln for ln in raw.splitlines() if "access-group EGRESSCTL-V6" not in ln)
    state = parse_state(drv.device, unbound, pending=False)
    assert state.target == "unknown"
    assert drv.render(policy, state)


def test_site_acl_out_on_the_uplink_is_refused() -> None:
    site = eos_site()
    drv = AristaEosDriver(site.device("dist-a"))
    raw = ("ip access-list SITE-OUT\n   10 permit ip any any\n!\n"
           "interface Ethernet1\n   ip access-group SITE-OUT out\n")
    state = parse_state(drv.device, raw, pending=False)
    with pytest.raises(CommandRejected) as ei:
        drv.load_candidate(compute_policy(site, "isolated"), state)
    assert "SITE-OUT" in (ei.value.device_output or "")


@pytest.mark.parametrize(("seconds", "text"), [(1, "00:01:00"), (60, "00:01:00"), (125, "00:02:05"),
                                               (3600, "01:00:00"), (10**6, "24:00:00")])
def test_commit_timer_text(seconds: int, text: str) -> None:
    assert r.timer(seconds) == text


def test_error_patterns_match_eos_texts() -> None:
    for text in ("% Invalid input", "% Incomplete command", "% Ambiguous command",
                 "% Cannot commit: session x has a pending commit timer"):
        assert any(re.search(p, f"x\n{text}\ndist-a#", re.M) for p in c.ERROR_PATTERNS), text
    assert not any(re.search(p, "dist-a(config-s-egress)#\n", re.M) for p in c.ERROR_PATTERNS)


def test_capabilities_say_no_session_kill_and_native_revert() -> None:
    from egressctl.driver import Capability, SessionHandling

    assert Capability.SESSION_KILL not in AristaEosDriver.capabilities
    assert Capability.NATIVE_REVERT in AristaEosDriver.capabilities
    drv = AristaEosDriver(eos_site().device("dist-a"))
    assert drv.session_handling() == SessionHandling.STATELESS
    report = drv.clear_sessions(compute_policy(eos_site(), "isolated"), [])
    assert report.cleared == 0 and "stateless" in report.detail


LISTING = """Maximum number of completed sessions: 1
Maximum number of pending sessions: 5

   Name               State                 User     Terminal
   ------------------ --------------------- -------- --------
   egressctl-0a1b2c   completed             admin    vty
   egressctl-3d4e5f   pendingCommitTimer    admin    vty
   other-tool         pending               oper     vty
"""


def test_sessions_are_read_from_the_listing_and_checked() -> None:
    from egressctl_drivers.arista_eos.parse import own_sessions, session_rows
    from egressctl_drivers.arista_eos.preflight import sessions_check

    from egressctl.check import Status

    assert session_rows(LISTING)["other-tool"] == "pending"
    own = own_sessions(LISTING)
    assert own == {"egressctl-0a1b2c": "completed", "egressctl-3d4e5f": "pendingCommitTimer"}
    assert sessions_check(LISTING).status == Status.WARN
    assert sessions_check(LISTING.replace("egressctl-3d4e5f", "netops-change")).status == Status.FAIL
    assert sessions_check(LISTING.replace("pendingCommitTimer", "completed")).status == Status.OK


def test_safety_net_is_described() -> None:
    from egressctl_drivers.arista_eos.preflight import safety_net_check

    from egressctl.check import Status

    found = safety_net_check()
    assert found.status == Status.OK and "no reboot" in found.safety_net_effect
    described = AristaEosDriver(eos_site().device("dist-a")).net_description()
    assert "copy running-config startup-config" in described.on_fire
