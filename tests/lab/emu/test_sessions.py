"""Emulated session tables: each vendor's default on a policy change and its setting, and the listing and
clear commands, over an in-memory table (the lab tests do the same with conntrack and real packets)."""

from __future__ import annotations

from typing import Any

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.fortinet import create as forti_create
from egressctl_lab.emu.juniper_junos import create as junos_create
from egressctl_lab.emu.paloalto_panos import create as pan_create
from egressctl_lab.emu.sessions import Flow, MemoryTable, parse_conntrack, parse_routes, prune

C2 = Flow(11, 4, "tcp", "10.10.1.20", "192.0.2.80", 40000, 24250, "ESTABLISHED", 431999)
VPN = Flow(12, 4, "udp", "10.10.1.20", "203.0.113.10", 40001, 4500, "", 120)
SSH = Flow(13, 4, "tcp", "10.99.0.50", "10.99.0.2", 40002, 22, "ESTABLISHED", 431999)
C2_V6 = Flow(14, 6, "tcp", "fd10:0:1::20", "2001:db8:c::80", 40003, 8080, "ESTABLISHED", 431999)
ROUTES = {"10.10.1.20": "in0", "fd10:0:1::20": "in0", "192.0.2.80": "out0", "203.0.113.10": "out0",
          "2001:db8:c::80": "out0", "10.99.0.50": "mgmt0", "10.99.0.2": None}


def run(cli: Any, *lines: str) -> str:
    return "".join(str(cli.handle(line).text) for line in lines)


def ids(plane: NullDataPlane) -> list[int]:
    return sorted(f.ct_id for f in plane.sessions.entries)


def plane_with_flows() -> NullDataPlane:
    plane = NullDataPlane()
    plane.sessions.entries = [C2, VPN, SSH, C2_V6]
    plane.sessions.routes = dict(ROUTES)
    return plane


# --- shared table ---------------------------------------------------------------------------------
def test_conntrack_and_route_output_parse() -> None:
    text = ("ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 "
            "dst=10.0.0.1 sport=2 dport=1 [ASSURED] mark=0 use=1 id=99\n"
            "ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 src=10.0.0.2 dst=10.0.0.1 "
            "type=0 code=0 id=7 mark=0 use=1 id=100\n"
            "ipv6     10 udp      17 28 src=fd00::1 dst=fd00::2 sport=3 dport=4 [UNREPLIED] src=fd00::2 "
            "dst=fd00::1 sport=4 dport=3 mark=0 use=1 id=101\n"
            "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.\n")
    flows = parse_conntrack(text)
    assert [(f.ct_id, f.family, f.proto, f.sport, f.dport, f.state, f.replied) for f in flows] == [
        (99, 4, "tcp", 1, 2, "ESTABLISHED", True), (100, 4, "icmp", 7, 8, "", True),
        (101, 6, "udp", 3, 4, "", False)]
    assert parse_routes('[{"dst":"10.0.0.2","dev":"out0"}]\n[{"type":"local","dst":"10.0.0.9","dev":"lo"}]'
                        ) == {"10.0.0.2": "out0", "10.0.0.9": None}


def test_prune_never_touches_flows_through_interfaces_the_device_does_not_own() -> None:
    table = MemoryTable([C2, VPN], {"10.10.1.20": "eth0", "192.0.2.80": "out0", "203.0.113.10": "out0"})
    assert prune(table, ["in0", "out0"], lambda _: False) == 0
    assert len(table.entries) == 2


# --- FortiOS --------------------------------------------------------------------------------------
FORTI_IFS = {"port1": "out0", "port2": "in0", "mgmt": "mgmt0"}
DENY_C2 = ("config firewall address", 'edit "c2"', "set subnet 192.0.2.80 255.255.255.255", "next", "end",
           "config firewall policy", "edit 9", "set srcintf port2", "set dstintf port1", 'set srcaddr "all"',
           'set dstaddr "c2"', 'set srcaddr6 "all"', 'set dstaddr6 "all"', 'set schedule "always"',
           'set service "ALL"', "set action deny", "next", "move 9 before 1", "end")


def forti(*setup: str) -> tuple[Any, Any, NullDataPlane]:
    plane = plane_with_flows()
    dev = forti_create(DeviceSpec("fw-b", "fw-b", "admin", "pw", interfaces=FORTI_IFS), ManualClock(), plane)
    cli = dev.new_session("admin")
    run(cli, *setup)
    return dev, cli, plane


def test_fortios_default_flushes_sessions_a_policy_change_denies() -> None:
    dev, cli, plane = forti()
    assert "firewall-session-dirty: check-all" in run(cli, "get system settings").replace("  ", "")
    run(cli, *DENY_C2)
    assert ids(plane) == [12, 13]  # both C2 sessions gone (IPv6 too: policy 9 denies all IPv6); VPN, SSH stay
    assert dev.flushed == 2


def test_fortios_check_new_keeps_them() -> None:
    dev, cli, plane = forti("config system settings", "set firewall-session-dirty check-new", "end")
    run(cli, *DENY_C2)
    assert ids(plane) == [11, 12, 13, 14] and dev.flushed == 0


@pytest.mark.parametrize(("option", "kept"), [("check-new", [11, 12, 13, 14]), ("check-all", [12, 13])])
def test_fortios_check_policy_option_asks_the_accepting_policy(option: str, kept: list[int]) -> None:
    _, cli, plane = forti("config system settings", "set firewall-session-dirty check-policy-option", "end",
                          "config firewall policy", "edit 1", f"set firewall-session-dirty {option}", "next",
                          "end")
    run(cli, *DENY_C2)
    assert ids(plane) == kept


def test_fortios_filter_list_and_clear() -> None:
    _, cli, plane = forti()
    assert run(cli, "diagnose sys session filter src 10.10.1.20",
               "diagnose sys session filter dport 24250") == ""
    shown = run(cli, "diagnose sys session filter")
    assert "source ip: 10.10.1.20-10.10.1.20" in shown and "dest port: 24250-24250" in shown
    listed = run(cli, "diagnose sys session list")
    assert "hook=pre dir=org act=noop 10.10.1.20:40000->192.0.2.80:24250(0.0.0.0:0)" in listed
    assert listed.rstrip().endswith("total session 1") and "policy_id=1 " in listed
    assert run(cli, "diagnose sys session6 list").rstrip().endswith("total session 1")
    assert "fd10:0:1::20:40003->2001:db8:c::80:8080(:::0)" in run(cli, "diagnose sys session6 list")
    run(cli, "diagnose sys session clear")
    assert ids(plane) == [12, 13, 14]
    run(cli, "diag sys session filter clear", "diagnose sys session filter sintf mgmt")
    assert "state=local may_dirty" in run(cli, "diagnose sys session list")
    assert "Command fail" in run(cli, "diagnose sys session filter src fd10::1")
    assert "Command fail" in run(cli, "diagnose sys session filter bogus 1")


# --- PAN-OS ---------------------------------------------------------------------------------------
DENY_ALL = ("configure", "set rulebase security rules cut from trust to untrust source any destination any "
            "application any service any action deny", "move rulebase security rules cut top", "commit",
            "exit")


def pan(*setup: str) -> tuple[Any, Any, NullDataPlane]:
    plane = plane_with_flows()
    spec = DeviceSpec("fw-a", "fw-a", "admin", "pw",
                      interfaces={"ethernet1/1": "in0", "ethernet1/2": "out0", "management": "mgmt0"},
                      zones={"trust": ["ethernet1/1"], "untrust": ["ethernet1/2"]},
                      options={"commit_seconds": "0"})
    dev = pan_create(spec, ManualClock(), plane)
    cli = dev.new_session("admin")
    run(cli, *setup)
    return dev, cli, plane


def test_panos_rematch_default_ends_denied_sessions_on_commit() -> None:
    dev, cli, plane = pan()
    run(cli, *DENY_ALL)
    assert ids(plane) == [13] and dev.rematched == 3  # the management-port session is not a dataplane one


def test_panos_rematch_disabled_keeps_them() -> None:
    dev, cli, plane = pan("configure", "set deviceconfig setting session rematch-sessions no", "commit",
                          "exit")
    run(cli, *DENY_ALL)
    assert ids(plane) == [11, 12, 13, 14] and dev.rematched == 0
    assert "rematch-sessions no" in run(cli, "show config running | match rematch-sessions")


def test_panos_show_and_clear_sessions() -> None:
    _, cli, plane = pan()
    listed = run(cli, "show session all filter from trust to untrust")
    assert "10.10.1.20[40000]/trust/6  (10.10.1.20[40000])" in listed
    assert "192.0.2.80[24250]/untrust  (192.0.2.80[24250])" in listed and "10.99.0.50" not in listed
    first = listed.splitlines()[4].split()[0]
    assert run(cli, f"clear session id {first}").strip() == f"session {first} cleared"
    assert "not found" in run(cli, f"clear session id {first}")
    assert run(cli, "show session all filter source 10.10.1.0/24 destination-port 4500").count("vsys1") == 1
    assert "3" not in run(cli, "clear session all filter destination-port 4500").split(":")[1]
    assert ids(plane) == [13, 14]
    assert "Invalid syntax" in run(cli, "show session all filter bogus 1")


# --- Junos ----------------------------------------------------------------------------------------
def junos(*setup: str) -> tuple[Any, Any, NullDataPlane]:
    plane = plane_with_flows()
    spec = DeviceSpec("ce-b", "ce-b", "admin", "pw", interfaces={"ge-0/0/1.0": "in0", "ge-0/0/0.0": "out0",
                                                                  "fxp0.0": "mgmt0"},
                      zones={"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]})
    dev = junos_create(spec, ManualClock(), plane)
    cli = dev.new_session("admin")
    run(cli, *setup)
    return dev, cli, plane


CTX = "security policies from-zone trust to-zone untrust policy"
INSERT_DENY = ("configure", "set security address-book global address c2 192.0.2.80/32",
               f"set {CTX} cut match source-address any", f"set {CTX} cut match destination-address c2",
               f"set {CTX} cut match application any", f"set {CTX} cut then deny",
               f"insert {CTX} cut before policy trust-to-untrust", "commit", "exit")
MODIFY = ("configure", f"delete {CTX} trust-to-untrust match destination-address any",
          f"set {CTX} trust-to-untrust match destination-address any-ipv4", "commit", "exit")


@pytest.mark.parametrize(("rematch", "change", "kept"), [
    ("", INSERT_DENY, [11, 12, 13, 14]),  # the default keeps everything
    ("", MODIFY, [11, 12, 13, 14]),
    ("policy-rematch", INSERT_DENY, [11, 12, 13, 14]),  # an untouched policy's sessions are not re-checked
    ("policy-rematch", MODIFY, [11, 12, 13]),  # the modified policy no longer matches the IPv6 session
    ("policy-rematch extensive", MODIFY, [11, 12, 13]),
])
def test_junos_policy_rematch(rematch: str, change: tuple[str, ...], kept: list[int]) -> None:
    setup = ("configure", f"set security policies {rematch}", "commit", "exit") if rematch else ()
    _, cli, plane = junos(*setup)
    run(cli, *change)
    assert ids(plane) == kept


def test_junos_rematch_of_a_deleted_policy_closes_unless_extensive_finds_another() -> None:
    other = ("configure", "set security policies from-zone trust to-zone untrust policy web match "
             "source-address any destination-address any application any",
             "set security policies from-zone trust to-zone untrust policy web then permit", "commit", "exit")
    delete = ("configure", "delete security policies from-zone trust to-zone untrust policy trust-to-untrust",
              "commit", "exit")
    for rematch, kept in (("policy-rematch", [13]), ("policy-rematch extensive", [11, 12, 13, 14])):
        _, cli, plane = junos("configure", f"set security policies {rematch}", "commit", "exit", *other)
        run(cli, *delete)
        assert ids(plane) == kept, rematch


def test_junos_show_and_clear_flow_sessions() -> None:
    _, cli, plane = junos()
    listed = run(cli, "show security flow session source-prefix 10.10.0.0/16")
    assert "Policy name: trust-to-untrust/4, Timeout: 1800, Session State: Valid" in listed
    assert "  In: 10.10.1.20/40000 --> 192.0.2.80/24250;tcp, Conn Tag: 0x0, If: ge-0/0/1.0, Pkts: 0" in listed
    assert "  Out: 192.0.2.80/24250 --> 10.10.1.20/40000;tcp, Conn Tag: 0x0, If: ge-0/0/0.0" in listed
    assert listed.rstrip().endswith("Total sessions: 2")
    assert "self-traffic-policy/1" in run(cli, "show security flow session destination-port 22")
    sid = listed.split(",")[0].split(": ")[1]
    assert run(cli, f"clear security flow session session-identifier {sid}") == "1 active sessions cleared\n"
    assert run(cli, f"clear security flow session session-identifier {sid}") == "0 active sessions cleared\n"
    assert run(cli, "clear security flow session family inet6") == "1 active sessions cleared\n"
    assert ids(plane) == [12, 13]
    assert "syntax error" in run(cli, "show security flow session source-prefix")
