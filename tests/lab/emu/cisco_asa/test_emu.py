"""The ASA personality in memory: login privilege, dialogs, stored lines, ACL semantics, nft, ntc-templates.

Written from the ASA command reference, never from the driver: lines egressctl never sends are stored,
shown and saved; refusals carry the ASA's ``ERROR:`` text and change nothing; object-groups in use cannot
be removed; a new ``access-group`` replaces the interface's binding of that direction; the compiled ruleset
is valid nft (``nft -c``) with the connection table first; ``show conn`` / ``clear conn`` work on the
session table; ``show version`` parses with ntc-templates.
"""

from __future__ import annotations

import os
import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.cisco_asa import AsaDevice
from egressctl_lab.emu.cisco_asa.cli import AsaSession
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check
from egressctl_lab.emu.sessions import Flow

SPEC = DeviceSpec(name="asa-t", hostname="asa-t", username="admin", password="h9-pw",
                  interfaces={"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
                  options={"nameif:GigabitEthernet0/0": "outside", "nameif:GigabitEthernet0/1": "inside",
                           "address:GigabitEthernet0/1": "10.10.0.1/16"})


def session() -> tuple[AsaDevice, AsaSession, NullDataPlane]:
    plane = NullDataPlane()
    dev = AsaDevice(SPEC, ManualClock(), plane)
    cli = dev.new_session("admin")
    return dev, cli, plane


def run(cli: AsaSession, *lines: str) -> str:
    return "".join(cli.handle(line).text for line in lines)


def test_login_lands_in_user_exec_and_enable_asks_the_password() -> None:
    _, cli, _ = session()
    assert cli.prompt() == "asa-t>" and "privilege level : 1" in run(cli, "show curpriv")
    reply = cli.handle("enable")
    assert cli.prompt() == "Password: " and reply.echo_next is False
    assert "Invalid password" in cli.handle("wrong").text and cli.prompt() == "asa-t>"
    cli.handle("enable")
    cli.handle("h9-pw")
    assert cli.prompt() == "asa-t#" and "privilege level : 15" in run(cli, "show curpriv")


def test_login_with_the_local_user_reaches_privileged_exec() -> None:
    _, cli, _ = session()
    cli.handle("login")
    assert cli.prompt() == "Username: "
    cli.handle("admin")
    assert cli.prompt() == "Password: "
    cli.handle("h9-pw")
    assert cli.prompt() == "asa-t#"


def test_lines_egressctl_never_sends_are_stored_shown_and_saved() -> None:
    dev, cli, _ = session()
    run(cli, "enable", "h9-pw", "configure terminal", "logging buffered informational",
        "ntp server 192.0.2.123", "class-map inspection_default", "match default-inspection-traffic",
        "exit", "end")
    shown = run(cli, "show running-config")
    assert "logging buffered informational" in shown and " match default-inspection-traffic" in shown
    assert "logging buffered" not in run(cli, "show startup-config")
    assert "[OK]" in run(cli, "write memory")
    assert "ntp server 192.0.2.123" in run(cli, "show startup-config")
    assert run(cli, "show running-config | include ^ntp") == "ntp server 192.0.2.123\n"
    assert dev.startup.stored[-1].line == "class-map inspection_default"


def test_refusals_carry_the_asa_text_and_change_nothing() -> None:
    _, cli, _ = session()
    run(cli, "enable", "h9-pw", "configure terminal")
    before = run(cli, "show running-config")
    assert "ERROR: % Invalid input detected at '^' marker." in run(cli, "frobnicate now")
    bad_port = "access-list X extended permit tcp host 10.0.0.1 eq nosuch any4"
    assert "ERROR: % Invalid input" in run(cli, bad_port)
    assert "not found" in run(cli, "access-list X extended permit ip object-group NOPE any")
    assert "does not exist" in run(cli, "access-group X out interface outside")
    assert "does not exist" in run(cli, "access-list Y extended permit ip any any",
                                   "access-group Y out interface dmz")
    run(cli, "no access-list Y extended permit ip any any")
    assert run(cli, "show running-config") == before


def test_groups_in_use_stay_and_a_new_binding_replaces_the_old() -> None:
    _, cli, _ = session()
    run(cli, "enable", "h9-pw", "configure terminal", "object-group network G1",
        "network-object host 10.10.1.50", "network-object 10.99.0.0 255.255.0.0",
        "network-object fd10::/32", "access-list A extended permit tcp object-group G1 any eq 22",
        "access-list B extended deny ip any any",
        "access-group A out interface outside")
    assert "being used by access-list A" in run(cli, "no object-group network G1")
    run(cli, "access-group B out interface outside")
    assert run(cli, "show running-config access-group") == "access-group B out interface outside\n"
    run(cli, "clear configure access-list B")
    assert run(cli, "show running-config access-group") == ""
    assert "port-object" not in run(cli, "show running-config object-group")
    assert " network-object host 10.10.1.50\n network-object 10.99.0.0 255.255.0.0\n" in run(
        cli, "show running-config object-group")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft")
def test_compiled_ruleset_is_stateful_valid_nft_and_family_exact() -> None:
    _, cli, plane = session()
    run(cli, "enable", "h9-pw", "configure terminal", "object-group service P tcp", "port-object eq 22",
        "port-object range 8000 8080",
        "access-list E extended permit tcp any4 host 192.0.2.80 object-group P",
        "access-list E extended permit icmp6 any6 any6", "access-list E extended deny ip any4 any4",
        "access-group E out interface outside")
    text = plane.applied[-1]
    assert text.index("ct state established,related accept") < text.index('oifname "gi0" jump')
    rule = "meta nfproto ipv4 meta l4proto 6 ip daddr 192.0.2.80/32 tcp dport 8000-8080 counter return"
    assert rule in text
    assert 'iifname "gi0" oifname "gi1" counter drop' in text  # security level 0 -> 100 refused by default
    assert check(text) is None


def test_show_conn_and_clear_conn_use_the_session_table() -> None:
    _, cli, plane = session()
    plane.sessions.entries = [Flow(1, 4, "tcp", "10.10.1.11", "192.0.2.80", 40000, 443, "ESTABLISHED"),
                              Flow(2, 4, "udp", "10.10.1.12", "192.0.2.53", 5353, 53)]
    plane.sessions.routes = {"10.10.1.11": "gi1", "10.10.1.12": "gi1", "192.0.2.80": "gi0",
                             "192.0.2.53": "gi0"}
    run(cli, "enable", "h9-pw")
    shown = run(cli, "show conn")
    assert "TCP outside  192.0.2.80:443 inside  10.10.1.11:40000, idle" in shown
    assert shown.startswith("2 in use")
    out = run(cli, "clear conn protocol tcp address 10.10.1.11 port 40000 address 192.0.2.80 port 443")
    assert out == "1 connection(s) deleted.\n" and len(plane.sessions.entries) == 1
    assert run(cli, "clear conn address 10.10.1.0 netmask 255.255.255.0") == "1 connection(s) deleted.\n"


def test_show_version_parses_with_ntc_templates() -> None:
    from ntc_templates.parse import parse_output

    _, cli, _ = session()
    rows = parse_output(platform="cisco_asa", command="show version", data=run(cli, "enable", "h9-pw",
                                                                                "show version"))
    assert rows[0]["version"] == "9.16(4)" and rows[0]["hostname"] == "asa-t"
    assert rows[0]["interfaces"] == ["GigabitEthernet0/0", "GigabitEthernet0/1"]


def test_show_interface_ip_brief_parses_with_ntc_templates() -> None:
    from ntc_templates.parse import parse_output

    _, cli, _ = session()
    run(cli, "enable", "h9-pw", "configure terminal", "interface GigabitEthernet0/0", "shutdown", "end")
    rows = parse_output(platform="cisco_asa", command="show interface ip brief",
                        data=run(cli, "show interface ip brief"))
    assert [(r["interface"], r["ip_address"], r["status"], r["proto"]) for r in rows] == [
        ("GigabitEthernet0/0", "unassigned", "administratively down", "down"),
        ("GigabitEthernet0/1", "10.10.0.1", "up", "up")]


def test_a_reload_boots_the_saved_configuration_and_drops_connections() -> None:
    dev, cli, plane = session()
    plane.sessions.entries = [Flow(1, 4, "tcp", "10.10.1.11", "192.0.2.80", 40000, 443, "ESTABLISHED")]
    run(cli, "enable", "h9-pw", "configure terminal", "access-list SAVED extended deny ip any any", "end",
        "copy /noconfirm running-config startup-config", "configure terminal",
        "access-list UNSAVED extended deny ip any any", "end")
    assert cli.handle("reload noconfirm").close
    assert set(dev.running.acls) == {"SAVED"} and dev.reloads == 1 and plane.sessions.entries == []


def test_object_group_sections_parse_with_ntc_templates() -> None:
    from ntc_templates.parse import parse_output

    _, cli, _ = session()
    run(cli, "enable", "h9-pw", "configure terminal", "object-group network N1",
        "network-object host 10.10.1.50", "network-object 10.99.0.0 255.255.0.0",
        "object-group service S1 tcp", "port-object eq 22", "port-object range 8000 8080", "end")
    nets = parse_output(platform="cisco_asa", command="show running-config object-group network",
                        data=run(cli, "show running-config object-group network"))
    found = [(r["name"], r["host"] or r["network"]) for r in nets]
    assert found == [("N1", "10.10.1.50"), ("N1", "10.99.0.0")]
    svcs = parse_output(platform="cisco_asa", command="show running-config object-group service",
                        data=run(cli, "show running-config object-group service"))
    rows = [(r["name"], r["grp_protocol"], r["port_operator"], r["port_start"], r["port_end"]) for r in svcs]
    assert rows == [("S1", "tcp", "eq", "ssh", ""), ("S1", "tcp", "range", "8000", "8080")]
