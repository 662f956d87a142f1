"""The EOS personality in memory: modes, the generic tree, sessions, the commit timer, nft, ntc-templates."""

from __future__ import annotations

import os
import shutil

import pytest
from egressctl_lab.emu.arista_eos import EosDevice, create
from egressctl_lab.emu.arista_eos.cli import EosSession
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check

SPEC = DeviceSpec(name="sw", hostname="dist-a", username="admin", password="unused-h8",
                  interfaces={"Ethernet1": "et1", "Vlan10": "vl10"})
ACL = ["ip access-list T", "permit tcp 10.77.1.0/24 any eq 443", "deny ip any any",
       "interface Ethernet1", "ip access-group T out"]


def make() -> tuple[EosDevice, EosSession, ManualClock, NullDataPlane]:
    clock, plane = ManualClock(), NullDataPlane()
    dev = create(SPEC, clock, plane)
    return dev, dev.new_session("admin"), clock, plane


def run(cli: EosSession, *lines: str) -> str:
    return "".join(cli.handle(ln).text for ln in lines)


def test_privilege_15_lands_at_hash_and_terminal_answers_netmiko() -> None:
    _, cli, _, _ = make()
    assert cli.prompt() == "dist-a#"
    assert run(cli, "terminal width 511") == "Width set to 511 columns.\n"
    assert run(cli, "terminal length 0") == "Pagination disabled.\n"
    assert "username admin privilege 15 role network-admin" in run(cli, "show running-config")


def test_lines_egressctl_never_sends_are_stored_shown_and_removed() -> None:
    dev, cli, _, _ = make()
    out = run(cli, "configure terminal", "logging buffered 20000", "vlan 120", "name tenant-a", "exit",
              "ntp server 192.0.2.123", "interface Ethernet1", "mtu 9214", "end")
    assert "%" not in out, out
    shown = run(cli, "show running-config")
    for line in ("logging buffered 20000", "vlan 120\n   name tenant-a", "ntp server 192.0.2.123",
                 "   mtu 9214"):
        assert line in shown, line
    run(cli, "configure terminal", "no logging buffered 20000", "end")
    assert "logging buffered" not in run(cli, "show running-config")
    assert run(cli, "copy running-config startup-config") == "Copy completed successfully.\n"
    assert "vlan 120" in run(cli, "show startup-config")
    assert dev.startup is not dev.running


def test_invalid_lines_are_refused_and_change_nothing() -> None:
    _dev, cli, _, _ = make()
    before = run(cli, "show running-config")
    assert run(cli, "configure terminal", "frobnicate now") == "% Invalid input\n"
    assert run(cli, "ip access-list T", "permit tcp any any eq nosuch") == "% Invalid input\n"
    assert run(cli, "permit tcp") == "% Incomplete command\n"
    run(cli, "end", "configure terminal", "no ip access-list T", "end")
    assert run(cli, "show running-config") == before


def test_session_changes_are_invisible_until_commit() -> None:
    _dev, cli, _, plane = make()
    run(cli, "configure session s1", *ACL)
    assert cli.prompt() == "dist-a(config-s-s1-if-Et1)#"
    assert "T" not in run(cli, "show ip access-lists")
    diff = run(cli, "show session-config diffs")
    assert "+ip access-list T" in diff and "+   ip access-group T out" in diff, diff
    assert run(cli, "end") == "" and cli.prompt() == "dist-a#"
    assert "s1            pending" in run(cli, "show configuration sessions")
    assert run(cli, "configure session s1 commit") == ""
    assert "IP Access List T" in run(cli, "show ip access-lists")
    assert 'oifname "et1" meta nfproto ipv4 jump acl4_0' in (plane.last or "")


def test_commit_timer_rolls_back_without_confirmation() -> None:
    dev, cli, clock, plane = make()
    baseline = dev.ruleset()
    run(cli, "configure session s1", *ACL)
    assert run(cli, "commit timer 00:02:00") == "" and cli.prompt() == "dist-a#"
    assert "pendingCommitTimer" in run(cli, "show configuration sessions")
    assert "00:02:00" in run(cli, "show configuration sessions detail")
    assert plane.last != baseline
    clock.advance(119)
    assert "IP Access List T" in run(cli, "show ip access-lists")
    clock.advance(2)
    assert run(cli, "show ip access-lists") == "" and plane.last == baseline and dev.rollbacks == 1


def test_confirm_keeps_and_abort_rolls_back_at_once() -> None:
    dev, cli, clock, _ = make()
    run(cli, "configure session s1", *ACL, "commit timer 00:01:00")
    assert run(cli, "configure session s1 commit") == ""
    clock.advance(3600)
    assert "IP Access List T" in run(cli, "show ip access-lists") and dev.rollbacks == 0
    run(cli, "configure session s2", "no ip access-list T", "commit timer 00:01:00")
    assert run(cli, "show ip access-lists") == ""
    assert run(cli, "configure session s2 abort") == ""
    assert "IP Access List T" in run(cli, "show ip access-lists") and clock.pending() == 0


def test_a_pending_timer_blocks_other_sessions() -> None:
    dev, cli, _, _ = make()
    run(cli, "configure session s1", "logging buffered 10000", "commit timer 00:05:00")
    out = run(cli, "configure session s2", "hostname other", "commit")
    assert out == "% Cannot commit: session s1 has a pending commit timer\n"
    assert dev.running.hostname == "dist-a"
    assert "% Session s1 is pending a commit timer" in run(cli, "end", "configure session s1", "hostname x")


def test_user_privilege_needs_enable_for_config() -> None:
    spec = DeviceSpec(name="sw", hostname="dist-b", username="oper", password="unused-h8",
                      options={"privilege": "1"})
    dev = create(spec, ManualClock(), NullDataPlane())
    cli = dev.new_session("oper")
    assert cli.prompt() == "dist-b>"
    assert run(cli, "configure terminal") == "% Invalid input\n"
    run(cli, "enable")
    assert cli.prompt() == "dist-b#"


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft")
def test_compiled_ruleset_is_valid_nft() -> None:
    _dev, cli, _, plane = make()
    run(cli, "configure terminal", *ACL, "ipv6 access-list T6",
        "permit icmpv6 any any neighbor-solicitation", "permit udp fd77:1::/64 eq 53 any range 1000 2000",
        "interface Vlan10", "ipv6 access-group T6 in", "end")
    assert plane.last is not None and check(plane.last) is None, plane.last


def test_show_outputs_parse_with_ntc_templates() -> None:
    parse = pytest.importorskip("ntc_templates.parse").parse_output
    _, cli, _, _ = make()
    run(cli, "configure terminal", *ACL, "end")
    version = parse(platform="arista_eos", command="show version", data=run(cli, "show version"))
    assert version[0]["image"] == "4.31.2F" and version[0]["model"] == "vEOS-lab"
    text = run(cli, "show interfaces status")
    status = parse(platform="arista_eos", command="show interfaces status", data=text)
    assert [r["port"] for r in status] == ["Et1"]
    acl = parse(platform="arista_eos", command="show ip access-lists", data=run(cli, "show ip access-lists"))
    assert [(r["name"], r["sn"], r["action"]) for r in acl] == [("T", "10", "permit"), ("T", "20", "deny")]
