"""Each built-in driver's ``preflight()``: its checks from the device's own words (pure, and over fakes).

The check functions take what the device printed (golden-style strings in the vendor's format); each
platform's ``preflight(drv)`` is also driven over a fake session answering by command, to hold that it
only reads (every command it sends is listed) and that it returns what ``egressctl check`` shows. The
FortiOS emulator's ``vdom-mode`` (the lab's test fault) is checked here too.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from egressctl_drivers.cisco_ios import preflight as ios
from egressctl_drivers.fortinet import preflight as forti
from egressctl_drivers.juniper_junos import preflight as junos
from egressctl_drivers.linux_nftables import preflight as linux
from egressctl_drivers.paloalto_panos import preflight as panos
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.fortinet import create

from egressctl.check import Status
from egressctl.driver import SessionHandling

FORTI_STATUS = """Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)
Virtual domain configuration: {vdom}
Current HA mode: {ha}
"""


class Fake:
    """A driver session answering ``send`` by command; records every command."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers, self.sent = answers, []  # type: dict[str, str], list[str]
        self.device = SimpleNamespace(name="fake")

    def send(self, command: str, **_: Any) -> str:
        self.sent.append(command)
        return self.answers.get(command, "")


# --- Cisco IOS -------------------------------------------------------------------------------------------
def test_ios_archive() -> None:
    missing = ios.archive_check("")
    assert missing.status == Status.WARN and "flash:egressctl-revert" in missing.detail
    site = ios.archive_check("archive\n path flash:site-archive\n maximum 5\n")
    assert site.status == Status.OK and "flash:site-archive (the site's)" in site.detail
    ours = ios.archive_check("archive\n path flash:egressctl-revert\n")
    assert ours.status == Status.OK and "added by egressctl" in ours.detail
    fake = Fake({ios.ARCHIVE_CMD: ""})
    found = ios.preflight(fake)  # type: ignore[arg-type]
    assert [c.name for c in found] == ["archive", "safety-net", "persistence"]
    assert fake.sent[0] == ios.ARCHIVE_CMD
    assert "no reload" in found[1].safety_net_effect
    assert found[2].status == Status.OK and all(cmd.startswith("show ") for cmd in fake.sent)


# --- Juniper Junos ---------------------------------------------------------------------------------------
ENTERED = "Entering configuration mode\n"
DIRTY = ENTERED + "The configuration has been changed but not committed\n"


def test_junos_candidate() -> None:
    assert junos.candidate_check(ENTERED, "", False).status == Status.OK
    assert junos.candidate_check(DIRTY, "+ address x", True).status == Status.WARN
    compare = "[edit security address-book global]\n+    address x 192.0.2.9/32;"
    foreign = junos.candidate_check(DIRTY, compare, False)
    assert foreign.status == Status.FAIL and "address x 192.0.2.9/32" in foreign.detail


def test_junos_other_editors() -> None:
    text = ENTERED + ("Users currently editing the configuration:\n"
                      "  ops terminal p1 (pid 4242) on since 10:00\n")
    found = junos.editors_check(text)
    assert found.status == Status.WARN and "ops terminal p1" in found.detail
    assert junos.editors_check(ENTERED).status == Status.OK


def test_junos_preflight_leaves_the_candidate_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(junos, "only_owned_changes", lambda device, active, candidate: False)
    fake = Fake({"show | compare": "[edit]\n+  system location building b7;"})
    moves: list[str] = []
    fake.conn = SimpleNamespace(config_mode=lambda: moves.append("configure") or DIRTY,  # type: ignore[attr-defined]
                                exit_config_mode=lambda: moves.append("exit") or "")
    fake.timeout = 30  # type: ignore[attr-defined]
    found = junos.preflight(fake)  # type: ignore[arg-type]
    assert moves == ["configure", "exit"]
    assert not any(c.startswith(("rollback", "commit", "set ", "delete")) for c in fake.sent), fake.sent
    assert (found[0].name, found[0].status) == ("candidate", Status.FAIL)


# --- FortiOS ---------------------------------------------------------------------------------------------
def test_fortios_vdom_save_mode_and_effect() -> None:
    assert forti.vdom_check(FORTI_STATUS.format(vdom="disable", ha="standalone")).status == Status.OK
    assert forti.vdom_check(FORTI_STATUS.format(vdom="multiple", ha="standalone")).status == Status.FAIL
    assert forti.save_mode_check("cfg-save          : automatic\n").status == Status.OK
    assert forti.save_mode_check("cfg-save          : manual\n").status == Status.WARN
    armed = forti.save_mode_check("cfg-save          : revert\ncfg-revert-timeout  : 300\n")
    assert armed.status == Status.FAIL and "300 s" in armed.detail
    assert "reboots the unit" in forti.effect(FORTI_STATUS.format(vdom="disable", ha="standalone"))
    assert "every member of the HA cluster" in forti.effect(FORTI_STATUS.format(vdom="disable", ha="a-p"))


def test_fortios_preflight_skips_global_settings_with_vdoms() -> None:
    fake = Fake({forti.GET_STATUS: FORTI_STATUS.format(vdom="multiple", ha="standalone")})
    found = forti.preflight(fake)  # type: ignore[arg-type]
    assert [c.name for c in found] == ["vdom-mode", "safety-net"] and fake.sent == [forti.GET_STATUS]


def test_fortios_emulator_vdom_mode() -> None:
    spec = DeviceSpec(name="fw-b", hostname="fw-b", username="admin", password="x", interfaces={})
    s = create(spec, ManualClock(scale=1.0), NullDataPlane()).new_session("admin")
    assert "Virtual domain configuration: disable" in s.handle("get system status").text
    for line in ("config system global", "set vdom-mode multi-vdom", "end"):
        assert s.handle(line).text == ""
    assert forti.vdom_check(s.handle("get system status").text).status == Status.FAIL
    assert "Command fail" in s.handle("config system global").text + s.handle("set vdom-mode x").text


# --- PAN-OS ----------------------------------------------------------------------------------------------
def test_panos_candidate() -> None:
    assert panos.candidate_check("").status == Status.OK
    diff = "--- running\n+++ candidate\n" + "".join(f"+set address a{i} ip-netmask 192.0.2.{i}/32\n"
                                                     for i in range(9))
    found = panos.candidate_check(diff)
    assert found.status == Status.FAIL and "a0 ip-netmask" in found.detail and "3 more" in found.detail
    assert "+++" not in found.detail
    assert "controller" in panos.safety_net_check().safety_net_effect


# --- Linux nftables --------------------------------------------------------------------------------------
def test_linux_checks() -> None:
    assert linux.root_check("0\n").status == Status.OK and linux.root_check("1000").status == Status.FAIL
    assert linux.nft_check(True, "nftables v1.0.6 (Lester Gooch #5)").detail.startswith("nftables v1.0.6")
    assert linux.nft_check(False, "sh: nft: not found").status == Status.FAIL
    assert linux.revert_job_check(False, "/run/egressctl/ns1", "").status == Status.FAIL
    assert linux.conntrack_check(SessionHandling.STATELESS, False).status == Status.OK
    assert linux.conntrack_check(SessionHandling.KEPT, True).status == Status.OK
    assert linux.conntrack_check(SessionHandling.KEPT, False).status == Status.WARN


@pytest.mark.parametrize("mod", [ios, junos, forti, panos, linux])
def test_every_platform_says_what_its_safety_net_does(mod: Any) -> None:
    found = mod.safety_net_check(*([FORTI_STATUS.format(vdom="disable", ha="standalone")]
                                   if mod is forti else []))
    assert found.name == "safety-net" and found.status == Status.OK and found.safety_net_effect
