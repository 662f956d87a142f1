"""FortiOS personality driven directly (no SSH): CLI semantics, errors, cfg-save revert, nft compile."""

from __future__ import annotations

import os
import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec, Session
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check
from egressctl_lab.emu.fortinet import FortiDevice, create
from egressctl_lab.emu.fortinet.cli import FortiSession

SPEC = DeviceSpec(
    name="fw-b",
    hostname="fw-b",
    username="admin",
    password="x2-secret",
    interfaces={"port1": "wan0", "port2": "lan0"},
)


@pytest.fixture
def dev() -> tuple[FortiDevice, ManualClock, NullDataPlane]:
    clock, plane = ManualClock(scale=1.0), NullDataPlane()
    return create(SPEC, clock, plane), clock, plane


def run(session: Session, *lines: str) -> str:
    return "".join(session.handle(line).text for line in lines)


DENY_WEB = (
    "config firewall address",
    "edit web",
    "set subnet 192.0.2.80 255.255.255.255",
    "next",
    "end",
    "config firewall policy",
    "edit 0",
    "set name egressctl-deny",
    "set srcintf port2",
    "set dstintf port1",
    "set srcaddr all",
    "set dstaddr web",
    "set action deny",
    "set schedule always",
    "set service ALL",
    'set comments "egressctl target=isolated"',
    "next",
    "move 2 before 1",
    "end",
)


def test_prompts_and_contexts(dev: tuple[FortiDevice, ManualClock, NullDataPlane]) -> None:
    s = dev[0].new_session("admin")
    assert isinstance(s, FortiSession)
    assert s.prompt() == "fw-b # "
    s.handle("config firewall policy")
    assert s.prompt() == "fw-b (policy) # "
    assert s.handle("edit 12").text == "new entry '12' added\n"
    assert s.prompt() == "fw-b (12) # "
    s.handle("abort")
    assert s.prompt() == "fw-b # "
    s.handle("config firewall service custom")
    assert s.prompt() == "fw-b (custom) # "


def test_status_and_console_for_netmiko(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    s = dev[0].new_session("admin")
    assert run(s, "get system status | grep Virtual") == (
        "Virtual domains status: 1 in NAT mode, 0 in TP mode\nVirtual domain configuration: disable\n"
    )
    assert "Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)\n" in run(s, "get system status")
    assert "output              : more\n" in run(s, "get system console")
    run(s, "config system console", "set output standard", "end")
    assert run(s, "get system console | grep output") == "output              : standard\n"


def test_policy_takes_effect_at_next_and_abort_discards(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    device, _, plane = dev
    s = device.new_session("admin")
    before = len(plane.applied)
    run(s, *DENY_WEB)
    assert list(device.config["firewall policy"]) == ["2", "1"]
    assert len(plane.applied) > before
    assert 'ip daddr 192.0.2.80/32 drop comment "policy 2"' in device.ruleset()
    shown = run(s, "show firewall policy 2")
    assert '        set comments "egressctl target=isolated"\n' in shown
    assert run(s, "show firewall policy | grep -f egressctl").startswith(
        "config firewall policy\n    edit 2\n"
    )
    run(s, "config firewall policy", "edit 2", "set action accept", "abort")
    assert device.config["firewall policy"]["2"]["action"] == ("deny",)


def test_working_copy_is_private_until_next(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    device = dev[0]
    a, b = device.new_session("admin"), device.new_session("admin")
    run(a, "config firewall policy", "edit 1", "set status disable")
    assert "status" not in device.config["firewall policy"]["1"]
    assert "set status" not in run(b, "show firewall policy 1")
    run(a, "next")
    assert "set status disable" in run(b, "show firewall policy 1")


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        (("frobnicate",), "Unknown action 0\n"),
        (
            ("config firewall policy", "edit 1", "set srcaddr nope"),
            "entry not found in datasource\n\nvalue parse error before 'nope'\n"
            "Command fail. Return code -3\n",
        ),
        (
            ("config firewall policy", "edit 1", "set action maybe"),
            "command parse error before 'maybe'\nCommand fail. Return code -61\n",
        ),
        (
            ("config firewall policy", "edit 1", "set bogus 1"),
            "command parse error before 'bogus'\nCommand fail. Return code -61\n",
        ),
        (
            ("config firewall address", "edit a", "set subnet 10.0.0.300 255.0.0.0"),
            "value parse error before '10.0.0.300'\nCommand fail. Return code -8\n",
        ),
        (
            ("config firewall service custom", "edit s", "set tcp-portrange 70000"),
            "value parse error before '70000'\nCommand fail. Return code -8\n",
        ),
        (
            ("config firewall address", "delete all"),
            "The entry is used by other 1 entries\nCommand fail. Return code -23\n",
        ),
        (
            ("config firewall policy", "delete 99"),
            "entry not found in datasource\nCommand fail. Return code -3\n",
        ),
        (
            ("config firewall policy", "edit 0", "set name x", "next"),
            "node_check_object fail! for srcintf\n\nAttribute 'srcintf' MUST be set.\n"
            "Command fail. Return code -56\n",
        ),
    ],
)
def test_errors_change_nothing(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane], lines: tuple[str, ...], error: str
) -> None:
    device, _, plane = dev
    s = device.new_session("admin")
    before, applied = repr(device.config), len(plane.applied)
    for line in lines[:-1]:
        s.handle(line)
    assert s.handle(lines[-1]).text == error
    s.handle("abort")
    assert repr(device.config) == before
    assert len(plane.applied) == applied


def test_cfg_revert_timeout_restores_saved_config(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    device, clock, plane = dev
    s = device.new_session("admin")
    run(s, "config system global", "set cfg-save revert", "set cfg-revert-timeout 60", "end")
    baseline = plane.last
    run(s, *DENY_WEB)
    assert device.revert_pending and "policy 2" in device.ruleset()
    clock.advance(59)
    assert "2" in device.config["firewall policy"]
    clock.advance(2)
    assert list(device.config["firewall policy"]) == ["1"]
    assert "web" not in device.config["firewall address"]
    assert device.reverts == device.reboots == 1 and device.booting
    assert device.config["system global"][""]["cfg-save"] == ("revert",)
    clock.advance(90)  # the reboot (boot_seconds, 90 by default): then the saved configuration enforced
    assert plane.last == baseline and not device.booting


def test_cfg_save_confirms_and_reload_reverts(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    device, clock, _ = dev
    s = device.new_session("admin")
    run(
        s,
        "config system global",
        "set cfg-save revert",
        "set cfg-revert-timeout 60",
        "end",
        *DENY_WEB,
    )
    run(s, "execute cfg save")
    clock.advance(120)
    assert "2" in device.config["firewall policy"] and device.reverts == 0
    run(s, "config firewall policy", "delete 2", "end")
    assert run(s, "execute cfg reload").startswith("Configuration reloaded")
    assert "2" in device.config["firewall policy"] and not device.revert_pending


def test_hostname_change_changes_prompt(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    s = dev[0].new_session("admin")
    run(s, "config system global", "set hostname fw-renamed", "end")
    assert s.prompt() == "fw-renamed # "


def test_grep_options(dev: tuple[FortiDevice, ManualClock, NullDataPlane]) -> None:
    s = dev[0].new_session("admin")
    assert run(s, "get system status | grep -i HOSTNAME") == "Hostname: fw-b\n"
    assert run(s, "get system console | grep -c e") == "3\n"
    assert "login" not in run(s, "get system console | grep -v login")


def test_exit_closes(dev: tuple[FortiDevice, ManualClock, NullDataPlane]) -> None:
    assert dev[0].new_session("admin").handle("exit").close


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft")
def test_rulesets_are_valid_nft(dev: tuple[FortiDevice, ManualClock, NullDataPlane]) -> None:
    device = dev[0]
    s = device.new_session("admin")
    run(
        s,
        *DENY_WEB,
        "config firewall address6",
        "edit v6",
        "set ip6 2001:db8:c::/64",
        "end",
        "config firewall service custom",
        "edit mix",
        "set tcp-portrange 443 8000-8080 80:1024-65535",
        "set udp-portrange 53",
        "end",
        "config firewall addrgrp",
        "edit g",
        "set member web all",
        "end",
        "config firewall policy",
        "edit 0",
        "set srcintf any",
        "set dstintf port1",
        "set srcaddr g",
        "set dstaddr all",
        "set srcaddr6 all",
        "set dstaddr6 v6",
        "set schedule always",
        "set service mix PING",
        "set action accept",
        "end",
    )
    assert check(device.ruleset()) is None, device.ruleset()


def test_show_hides_settings_at_their_default_value(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    """FortiOS ``show`` omits defaults even when typed explicitly; ``show full-configuration`` prints them."""
    s = dev[0].new_session("admin")
    before = run(s, "show system global")
    run(s, "config system global", "set cfg-save revert", "set cfg-revert-timeout 90", "end")
    shown = run(s, "show system global")
    assert "set cfg-save revert" in shown and "set cfg-revert-timeout 90" in shown
    run(s, "config system global", "set cfg-save automatic", "set cfg-revert-timeout 600", "end")
    assert run(s, "show system global") == before
    full = run(s, "show full-configuration system global")
    assert "set cfg-save automatic" in full and "set cfg-revert-timeout 600" in full
    assert "cfg-save            : automatic" in run(s, "get system global")
    run(s, "config system global", "set cfg-save manual", "end")
    run(s, "config system global", "unset cfg-save", "end")
    assert run(s, "show system global") == before


# --- the reboot a cfg-save revert timeout causes, and auto-scripts (issue 14) ----------------------------
def test_revert_timeout_reboots_drops_sessions_and_forwards_nothing_meanwhile(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    device, clock, plane = dev
    s = device.new_session("admin")
    run(s, "config system global", "set cfg-save revert", "set cfg-revert-timeout 30", "end", *DENY_WEB)
    clock.advance(31)
    assert device.reboots == 1 and device.booting
    assert s.handle("get system status").close, "a session of the previous boot is gone"
    during = device.new_session("admin")
    assert during.prompt() == "" and during.handle("").close, "no CLI while the unit boots"
    assert "policy 1" not in (plane.last or ""), "a booting unit forwards nothing (implicit deny only)"
    clock.advance(90)
    after = device.new_session("admin")
    assert after.prompt() == "fw-b # " and "2" not in device.config["firewall policy"]
    assert "policy 1" in (plane.last or ""), "policy 1 (lan-to-wan) is enforced again"


def test_auto_script_runs_after_its_interval_unless_deleted(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    device, clock, _ = dev
    s = device.new_session("admin")
    run(s, *DENY_WEB)
    script = ["config system auto-script", 'edit "undo"', "set interval 60", "set repeat 1", "set start auto",
              'set script "config firewall policy', "delete 2", "end", "config system auto-script",
              'delete \\"undo\\"', 'end"', "next", "end"]
    replies = [s.handle(line) for line in script]
    assert [r.text for r in replies if "fail" in r.text] == []
    assert s.prompt() == "fw-b # " and "undo" in device.config["system auto-script"]
    assert device.config["system auto-script"]["undo"]["script"][0].count("\n") == 5
    clock.advance(59)
    assert "2" in device.config["firewall policy"]
    clock.advance(2)
    assert "2" not in device.config["firewall policy"] and device.scripts.runs == ["undo"]
    assert "undo" not in device.config["system auto-script"], "the script deleted itself"
    run(s, *DENY_WEB)
    run(s, *script)
    run(s, "config system auto-script", 'delete "undo"', "end")
    clock.advance(120)
    assert "2" in device.config["firewall policy"] and device.scripts.runs == ["undo"]


def test_a_quoted_value_may_span_lines_without_a_prompt(
    dev: tuple[FortiDevice, ManualClock, NullDataPlane],
) -> None:
    s = dev[0].new_session("admin")
    run(s, "config system auto-script", 'edit "x"')
    assert s.handle('set script "get system status').text == "" and s.prompt() == ""
    s.handle('get system performance status"')
    assert s.prompt() == "fw-b (x) # "
