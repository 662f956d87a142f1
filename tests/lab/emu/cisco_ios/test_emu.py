"""cisco_ios personality driven directly (no SSH): modes, ACL editing, errors, show, safety net, nft."""

from __future__ import annotations

import os
import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.cisco_ios import IosDevice, create
from egressctl_lab.emu.cisco_ios.cli import IosSession
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check

SPEC = DeviceSpec(
    name="x1-ce-a", hostname="ce-a", username="admin", password="x1-pw",
    interfaces={"GigabitEthernet0/0": "gi0-0", "GigabitEthernet0/1": "gi0-1"},
)
#: A user of privilege 1 with an enable secret (the login password): the enable dialog path.
SPEC_PRIV1 = DeviceSpec(
    name="x1-ce-a", hostname="ce-a", username="admin", password="x1-pw",
    interfaces={"GigabitEthernet0/0": "gi0-0", "GigabitEthernet0/1": "gi0-1"}, options={"privilege": "1"},
)


class Rig:
    def __init__(self, spec: DeviceSpec = SPEC) -> None:
        self.clock = ManualClock()
        self.plane = NullDataPlane()
        self.device: IosDevice = create(spec, self.clock, self.plane)
        self.s: IosSession = self.device.new_session("admin")

    def run(self, *lines: str) -> str:
        out = ""
        for line in lines:
            out += self.s.handle(line).text
        return out

    def enable(self) -> None:
        if self.s.prompt().endswith(">"):
            self.run("enable", "x1-pw")
        assert self.s.prompt() == "ce-a#"

    def config(self, *lines: str) -> str:
        self.enable()
        return self.run("configure terminal", *lines, "end")


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.fixture
def rig1() -> Rig:
    return Rig(SPEC_PRIV1)


def test_prompts_and_enable_dialog(rig1: Rig) -> None:
    rig = rig1
    assert rig.s.prompt() == "ce-a>"
    reply = rig.s.handle("enable")
    assert reply.echo_next is False and rig.s.prompt() == "Password: "
    assert rig.s.handle("wrong").echo_next is False
    rig.s.handle("x1-pw")
    assert rig.s.prompt() == "ce-a#"
    assert "Enter configuration commands" in rig.run("configure terminal")
    assert rig.s.prompt() == "ce-a(config)#"
    rig.run("interface GigabitEthernet0/1")
    assert rig.s.prompt() == "ce-a(config-if)#"
    rig.run("ip access-list extended X")
    assert rig.s.prompt() == "ce-a(config-ext-nacl)#"
    rig.run("ipv6 access-list X6")
    assert rig.s.prompt() == "ce-a(config-ipv6-acl)#"
    rig.run("exit")
    assert rig.s.prompt() == "ce-a(config)#"
    rig.run("end")
    assert rig.s.prompt() == "ce-a#"
    rig.run("disable")
    assert rig.s.prompt() == "ce-a>"


def test_bad_enable_secret_three_times(rig1: Rig) -> None:
    rig = rig1
    rig.run("enable", "a", "b")
    assert "% Bad secrets" in rig.run("c")
    assert rig.s.prompt() == "ce-a>"


def test_paging_commands_are_silent(rig: Rig) -> None:
    assert rig.run("terminal width 511", "terminal length 0") == ""


def test_invalid_input_caret_under_the_word(rig: Rig) -> None:
    rig.enable()
    out = rig.run("show runnin-config")
    assert out == " " * len("ce-a#show ") + "^\n% Invalid input detected at '^' marker.\n\n"


def test_incomplete_and_ambiguous(rig: Rig) -> None:
    rig.enable()
    assert rig.run("show") == "% Incomplete command.\n\n"
    assert rig.run("s") == '% Ambiguous command:  "s"\n\n'
    assert rig.run("conf t") .startswith("Enter configuration")


def test_show_running_config_needs_enable(rig1: Rig) -> None:
    rig = rig1
    assert "% Invalid input" in rig.run("show running-config")


def test_acl_entries_numbering_and_display(rig: Rig) -> None:
    out = rig.config(
        "ip access-list extended EGRESSCTL-X1",
        "remark egressctl target=isolated",
        "permit tcp 10.10.0.0 0.0.255.255 host 203.0.113.10 eq 443",
        "permit udp any host 203.0.113.53 eq 53",
        "deny ip any any",
        "15 permit udp any host 203.0.113.10 range 500 4500",
    )
    assert out == "Enter configuration commands, one per line.  End with CNTL/Z.\n"
    acl = rig.run("show access-lists EGRESSCTL-X1")
    assert acl == (
        "Extended IP access list EGRESSCTL-X1\n"
        "    10 permit tcp 10.10.0.0 0.0.255.255 host 203.0.113.10 eq 443\n"
        "    15 permit udp any host 203.0.113.10 range isakmp non500-isakmp\n"
        "    20 permit udp any host 203.0.113.53 eq domain\n"
        "    30 deny ip any any\n"
    )
    run = rig.run("show running-config | section ip access-list")
    assert " remark egressctl target=isolated\n" in run
    assert " deny   ip any any\n" in run


def test_acl_no_seq_and_no_entry(rig: Rig) -> None:
    rig.config("ip access-list extended A", "permit ip any host 192.0.2.1", "deny ip any any")
    rig.config("ip access-list extended A", "no 10")
    assert "10 permit" not in rig.run("show access-lists A")
    rig.config("ip access-list extended A", "no deny ip any any")
    assert rig.run("show access-lists A") == "Extended IP access list A\n"
    rig.config("no ip access-list extended A")
    assert rig.run("show access-lists") == ""


def test_invalid_ace_changes_nothing(rig: Rig) -> None:
    rig.config("ip access-list extended A", "permit ip any any")
    before = rig.run("show running-config")
    applied = len(rig.plane.applied)
    out = rig.config("ip access-list extended A", "permit tcp any 10.0.0.1 eq 80", "deny bogus any any")
    assert out.count("% Invalid input detected at '^' marker.") == 2
    assert rig.run("show running-config") == before
    assert len(rig.plane.applied) == applied


def test_duplicate_sequence_refused(rig: Rig) -> None:
    out = rig.config("ip access-list extended A", "10 permit ip any any", "10 deny ip any any")
    assert "% Duplicate sequence number" in out


def test_submode_falls_back_to_global(rig: Rig) -> None:
    rig.config("ip access-list extended A", "permit ip any any",
               "ip access-list extended B", "deny ip any any")
    shown = rig.run("show access-lists")
    assert "Extended IP access list A\n    10 permit ip any any" in shown
    assert "Extended IP access list B\n    10 deny ip any any" in shown


def test_ipv6_acl_and_traffic_filter(rig: Rig) -> None:
    rig.config(
        "ipv6 access-list V6",
        "permit tcp any 2001:db8::/32 eq 443",
        "sequence 5 permit udp any host 2001:db8:c::d53 eq 53",
        "deny ipv6 any any",
        "interface GigabitEthernet0/0",
        "ipv6 traffic-filter V6 out",
    )
    assert rig.run("show ipv6 access-list V6") == (
        "IPv6 access list V6\n"
        "    permit udp any host 2001:DB8:C::D53 eq domain sequence 5\n"
        "    permit tcp any 2001:DB8::/32 eq 443 sequence 10\n"
        "    deny ipv6 any any sequence 20\n"
    )
    assert " ipv6 traffic-filter V6 out" in rig.run("show running-config | include traffic-filter")


def test_access_group_applied_at_once_to_dataplane(rig: Rig) -> None:
    rig.config("ip access-list extended A", "deny tcp any any eq 80", "permit ip any any",
               "interface Gi0/1", "ip access-group A in")
    last = rig.plane.last
    assert last is not None
    assert 'iifname "gi0-1" meta nfproto ipv4 jump acl4_0' in last
    assert "tcp dport 80 counter drop" in last
    rig.config("interface GigabitEthernet0/1", "no ip access-group A in")
    assert "jump" not in (rig.plane.last or "")


def test_unknown_interface_refused(rig: Rig) -> None:
    assert "% Invalid input" in rig.config("interface GigabitEthernet9/9")


def test_write_memory_and_copy(rig: Rig) -> None:
    rig.enable()
    assert rig.run("write memory") == "Building configuration...\n[OK]\n"
    rig.run("copy running-config startup-config")
    assert rig.s.prompt() == "Destination filename [startup-config]? "
    assert "[OK]" in rig.run("")
    assert rig.s.prompt() == "ce-a#"


def test_revert_timer_needs_archive(rig: Rig) -> None:
    rig.enable()
    out = rig.run("configure terminal revert timer 5")
    assert out == "%Turn config archive on before using Rollback Confirmed Change\n"
    assert rig.s.prompt() == "ce-a#"


def _arm(rig: Rig, minutes: int = 2) -> None:
    rig.config("archive", "path flash:archive")
    rig.run(f"configure terminal revert timer {minutes}")
    rig.run("ip access-list extended CUT", "deny ip any any", "interface GigabitEthernet0/0",
            "ip access-group CUT out", "end")


def test_revert_timer_restores_previous_config(rig: Rig) -> None:
    _arm(rig)
    assert "ip access-group CUT out" in rig.run("show running-config")
    assert "Timer value: 2 min" in rig.run("show archive config rollback timer")
    assert "flash:archive-" in rig.run("show archive")
    rig.clock.advance(119)
    assert rig.device.reverts == 0
    rig.clock.advance(2)
    assert rig.device.reverts == 1
    assert "access-group" not in rig.run("show running-config")
    assert "jump" not in (rig.plane.last or "")
    assert rig.run("show archive config rollback timer") == "%No Rollback Confirmed Change pending\n"


def test_configure_confirm_keeps_changes(rig: Rig) -> None:
    _arm(rig)
    assert rig.run("configure confirm") == ""
    rig.clock.advance(600)
    assert rig.device.reverts == 0
    assert "ip access-group CUT out" in rig.run("show running-config")
    assert rig.run("configure confirm") == "%No Rollback Confirmed Change pending\n"


def test_configure_revert_now(rig: Rig) -> None:
    _arm(rig)
    assert rig.run("configure revert now").startswith("Rollback Confirmed Change: Rolling to:flash:archive-")
    assert "access-group" not in rig.run("show running-config")


def test_shared_state_between_sessions(rig: Rig) -> None:
    rig.config("ip access-list extended SHARED", "permit ip any any")
    other = rig.device.new_session("admin")
    assert "SHARED" in other.handle("show access-lists").text


def test_pipes(rig: Rig) -> None:
    rig.enable()
    assert rig.run("show running-config | include ^hostname") == "hostname ce-a\n"
    begin = rig.run("show running-config | begin ^interface")
    assert begin.startswith("interface GigabitEthernet0/0\n")
    assert "hostname" not in rig.run("show running-config | exclude hostname")
    assert rig.run("show running-config | section interface GigabitEthernet0/1") == (
        "interface GigabitEthernet0/1\n description link gi0-1\n no ip address\n duplex auto\n speed auto\n"
    )


def test_exit_closes(rig: Rig) -> None:
    assert rig.s.handle("exit").close is True


needs_nft = pytest.mark.skipif(shutil.which("nft") is None or os.geteuid() != 0, reason="needs nft as root")


@pytest.mark.root
@needs_nft
def test_compiled_rulesets_are_valid_nft(rig: Rig) -> None:
    rig.config(
        "ip access-list extended A",
        "permit tcp 10.10.0.0 0.0.255.255 host 203.0.113.10 eq 443 80",
        "permit udp any 10.0.0.0 0.255.0.255 range 500 4500",
        "permit tcp any any established",
        "permit icmp any any echo-reply",
        "deny tcp any any gt 1023",
        "deny ip any any log",
        "ipv6 access-list B",
        "permit icmp any any",
        "deny ipv6 any any",
        "interface GigabitEthernet0/0",
        "ip access-group A in",
        "ipv6 traffic-filter B out",
    )
    assert rig.plane.last is not None
    assert check(rig.plane.last) is None, rig.plane.last
    assert check(rig.device.ruleset()) is None


# -- ICMP message keywords, IPv6 neighbour discovery, empty and remark-only lists --------------------------
def test_icmpv6_keywords_parsed_displayed_and_compiled(rig: Rig) -> None:
    out = rig.config(
        "ipv6 access-list V6",
        "permit icmp any any nd-na",
        "permit icmp any any nd-ns",
        "permit icmp any any router-sol",
        "permit icmp any any router-advertisement",
        "permit icmp any host 2001:db8::1 echo-request",
        "permit icmp any any 1 4",
        "permit icmp any any 135 sequence 5",
        "deny ipv6 any any",
        "interface GigabitEthernet0/1",
        "ipv6 traffic-filter V6 in",
    )
    assert "%" not in out, out
    run = rig.run("show running-config | section ipv6 access-list")
    expected = ["permit icmp any any nd-na", "permit icmp any any nd-ns",
                "permit icmp any any router-solicitation", "permit icmp any any router-advertisement",
                "permit icmp any host 2001:DB8::1 echo-request", "permit icmp any any port-unreachable",
                "sequence 5 permit icmp any any nd-ns"]
    for shown in expected:
        assert shown in run, shown
    rules = rig.device.ruleset()
    assert "meta l4proto 58 icmpv6 type 136 counter return" in rules
    assert "meta l4proto 58 icmpv6 type 133 counter return" in rules
    assert "meta l4proto 58 icmpv6 type 1 icmpv6 code 4 counter return" in rules
    assert "% Ambiguous command" in rig.config("ipv6 access-list V6", "permit icmp any any nd-n")
    assert "% Invalid input" in rig.config("ipv6 access-list V6", "permit icmp any any nd-nothing")


def test_implicit_nd_is_na_ns_only_and_after_an_explicit_deny(rig: Rig) -> None:
    rig.config("ipv6 access-list V6", "permit tcp any any eq 443", "deny ipv6 any any",
               "interface GigabitEthernet0/1", "ipv6 traffic-filter V6 in")
    chain = rig.device.ruleset().split("# ipv6 access-list V6", 1)[1].split("}\n", 1)[0]
    lines = [ln.strip() for ln in chain.strip().splitlines()]
    assert lines[-3:] == ["meta nfproto ipv6 counter drop", "icmpv6 type { 135, 136 } return", "counter drop"]


def test_empty_and_remark_only_acls_permit_everything(rig: Rig) -> None:
    """IOS: an empty ACL permits all; remarks are comments, not entries, so they do not change that."""
    rig.config("interface GigabitEthernet0/1", "ip access-group MISSING in")
    assert "jump" not in rig.device.ruleset()
    rig.config("ip access-list extended MISSING")
    assert "jump" not in rig.device.ruleset()
    rig.config("ip access-list extended MISSING", "remark only a comment", "remark and another")
    assert "jump" not in rig.device.ruleset()
    assert "    remark" not in rig.run("show access-lists MISSING")
    rig.config("ip access-list extended MISSING", "permit tcp any any eq 22")
    assert 'iifname "gi0-1" meta nfproto ipv4 jump' in rig.device.ruleset()


@pytest.mark.root
@needs_nft
def test_icmp_forms_compile_to_valid_nft(rig: Rig) -> None:
    rig.config(
        "ip access-list extended A", "permit icmp any any echo", "permit icmp any any 3 4",
        "permit icmp any any ttl-exceeded", "deny ip any any",
        "ipv6 access-list B", "permit icmp any any nd-na", "permit icmp any any nd-ns",
        "permit icmp any any router-solicitation", "permit icmp any any hop-limit", "deny ipv6 any any",
        "interface GigabitEthernet0/1", "ip access-group A in", "ipv6 traffic-filter B in",
    )
    assert check(rig.device.ruleset()) is None, rig.device.ruleset()
