"""The RouterOS personality in memory: console, items, find, export, FastTrack compile, scheduler, reboot.

No SSH and no kernel: a ``ManualClock`` fires the scheduler, a ``NullDataPlane`` records the rulesets (checked
with ``nft -c`` where nft exists) and a ``MemoryTable`` stands for conntrack.
"""

from __future__ import annotations

import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check
from egressctl_lab.emu.mikrotik_routeros import RosDevice
from egressctl_lab.emu.sessions import Flow

SPEC = DeviceSpec(name="r", hostname="clinic-r", username="admin", password="unused-h11",
                  interfaces={"ether1": "e1", "bridge": "br0"})


def router() -> tuple[RosDevice, ManualClock, NullDataPlane]:
    clock, plane = ManualClock(), NullDataPlane()
    return RosDevice(SPEC, clock, plane), clock, plane


def say(cli: object, line: str) -> str:
    return str(cli.handle(line).text)  # type: ignore[attr-defined]


def test_prompt_menus_and_login_options() -> None:
    dev, _, _ = router()
    cli = dev.new_session("admin+ct511w4098h")
    assert cli.prompt() == "[admin@clinic-r] > " and "MikroTik RouterOS 7" in cli.banner()
    assert say(cli, "/ip/firewall/filter") == "" and cli.prompt() == "[admin@clinic-r] /ip firewall filter> "
    assert "chain=input" in say(cli, "print terse")
    say(cli, "..")
    assert cli.prompt() == "[admin@clinic-r] /ip firewall> "
    assert say(cli, "/nosuch") == "bad command name nosuch (line 1 column 2)\n"
    assert say(cli, "/system identity set name=h11") == "" and cli.prompt().startswith("[admin@h11] /ip")


def test_refused_lines_change_nothing() -> None:
    dev, _, plane = router()
    cli = dev.new_session("admin")
    before = say(cli, "/export terse").splitlines()[1:]
    for line, word in (("/ip firewall filter add chain=forward action=nosuch", "input does not match"),
                       ("/ip firewall filter add chain=forward bogus=yes", "expected end of command"),
                       ("/ip firewall filter add action=drop", "chain not set"),
                       ("/ip firewall filter add chain=forward dst-port=22", "can not have port"),
                       ('/ip firewall filter add chain=forward comment="unterminated', "syntax error"),
                       ("/ip firewall filter remove 99", "no such item")):
        assert word in say(cli, line), line
    assert say(cli, "/export terse").splitlines()[1:] == before
    assert len(plane.applied) == 1


def test_place_before_find_set_remove_and_numbers_of_the_last_print() -> None:
    dev, _, _ = router()
    cli = dev.new_session("admin")
    say(cli, '/ip firewall filter add chain=forward action=drop comment="h11 top" place-before=0')
    say(cli, "/ip firewall filter add chain=forward action=accept protocol=tcp dst-port=443 comment=h11-b")
    rules = say(cli, "/ip firewall filter print terse").splitlines()
    assert "h11 top" in rules[0] and "h11-b" in rules[-1]
    say(cli, '/ip firewall filter set [find where comment~"^h11"] disabled=yes')
    assert say(cli, "/ip firewall filter print terse where disabled").count("\n") == 2
    say(cli, "/ip firewall filter remove 0")  # number 0 of the last print: the top rule
    assert "h11 top" not in say(cli, "/ip firewall filter export")
    say(cli, '/ip firewall filter remove [find comment="h11-b"]')
    assert "h11" not in say(cli, "/ip firewall filter export terse")


def test_fasttrack_and_jump_compile_and_nft_accepts_them() -> None:
    dev, _, plane = router()
    cli = dev.new_session("admin")
    say(cli, "/ip firewall filter add action=jump chain=forward jump-target=h11 out-interface=ether1 "
             "place-before=0")
    say(cli, "/ip firewall filter add action=return chain=h11 protocol=tcp dst-port=443,8000-8080")
    say(cli, "/ip firewall filter add action=drop chain=h11")
    say(cli, "/ipv6 firewall filter add action=drop chain=forward out-interface=nosuch")
    text = plane.applied[-1]
    assert "ct mark & 0x00000001 == 0x00000001 accept" in text  # fasttracked connections skip the filter
    assert "ct mark set ct mark | 0x00000001" in text
    forward4 = text[text.index("chain=forward"):]
    assert forward4.index('oifname { "e1" }') < forward4.index("ct mark set"), "the jump sits above FastTrack"
    assert "tcp dport { 443, 8000-8080 }" in text
    assert text.count("# not enforced") == 1, "only the rule naming an interface the router lacks"
    if shutil.which("nft"):
        assert check(text) is None


def test_scheduler_script_and_reboot() -> None:
    dev, clock, _ = router()
    cli = dev.new_session("admin")
    say(cli, '/system script add name=h11-s source="/ip firewall filter add chain=forward action=drop '
             'comment=h11-fired\\r\\n/system scheduler remove [find where name~\\"^h11\\"]"')
    say(cli, "/system scheduler add name=h11-t interval=30s on-event=h11-s")
    say(cli, "/system scheduler add name=h11-boot start-time=startup on-event=h11-s")
    clock.advance(29)
    assert dev.events == []
    clock.advance(2)
    assert dev.events == ["h11-t"] and "h11-fired" in say(cli, "/ip firewall filter export terse")
    assert "h11" not in say(cli, "/system scheduler export terse")
    say(cli, "/system scheduler add name=h11-boot start-time=startup on-event=h11-s")
    dev.reboot()
    assert cli.handle("/system identity print").close
    fresh = dev.new_session("admin")
    assert "h11-boot" in say(fresh, "/system scheduler print"), "saved: the reboot keeps the configuration"
    clock.advance(3.5)
    assert dev.events == ["h11-t", "h11-boot"] and dev.reboots == 1


def test_reboot_through_the_console_asks_first() -> None:
    dev, clock, _ = router()
    cli = dev.new_session("admin")
    say(cli, "/system reboot")
    assert cli.prompt() == "Reboot, yes? [y/N]: "
    assert say(cli, "n") == "" and dev.reboots == 0
    say(cli, "/system reboot")
    reply = cli.handle("y")
    assert reply.close and "reboot" in reply.text
    clock.advance(0.1)
    assert dev.reboots == 1


def test_connections_listed_and_removed_by_tuple() -> None:
    dev, _, plane = router()
    plane.sessions.entries = [
        Flow(7, 4, "tcp", "10.10.1.11", "192.0.2.80", 40000, 8080, "ESTABLISHED", 86390),
        Flow(8, 4, "udp", "10.10.1.11", "203.0.113.53", 53000, 53, "", 20),
        Flow(9, 6, "tcp", "fd10:0:1::11", "2001:db8:c::80", 40001, 443, "ESTABLISHED", 300),
    ]
    cli = dev.new_session("admin")
    listing = say(cli, "/ip firewall connection print terse without-paging")
    assert " 0  SAC  protocol=tcp src-address=10.10.1.11 src-port=40000 dst-address=192.0.2.80 " in listing
    assert "dst-port=8080 " in listing and "tcp-state=established timeout=23h59m50s" in listing
    say(cli, "/ip firewall connection remove [find where protocol=tcp src-address=10.10.1.11 src-port=40000 "
             "dst-address=192.0.2.80 dst-port=8080]")
    assert [f.ct_id for f in plane.sessions.entries] == [8, 9]
    assert "2001:db8:c::80" in say(cli, "/ipv6 firewall connection print")


@pytest.mark.parametrize("text,seconds", [("30s", 30.0), ("1m30s", 90.0), ("00:01:30", 90.0), ("2h", 7200.0)])
def test_durations(text: str, seconds: float) -> None:
    from egressctl_lab.emu.mikrotik_routeros.device import duration

    assert duration(text) == seconds


def test_connection_listing_parses_with_ntc_templates() -> None:
    from ntc_templates.parse import parse_output

    dev, _, plane = router()
    plane.sessions.entries = [Flow(7, 4, "tcp", "10.10.1.11", "192.0.2.80", 40000, 8080, "ESTABLISHED", 9)]
    cmd = "/ip firewall connection print terse without-paging"
    rows = parse_output(platform="mikrotik_routeros", command=cmd, data=say(dev.new_session("admin"), cmd))
    assert rows[0]["source_address"] == "10.10.1.11" and rows[0]["destination_port"] == "8080"
    assert rows[0]["tcp_state"] == "established" and rows[0]["seen_reply"] == "S"


def test_address_and_address_list_prints_parse_with_ntc_templates() -> None:
    from ntc_templates.parse import parse_output

    dev, _, _ = router()
    cli = dev.new_session("admin")
    say(cli, "/ip address add address=10.81.0.1/24 interface=bridge comment=lan")
    say(cli, "/ip firewall address-list add address=198.51.100.7 list=h11-blocked")
    rows = parse_output(platform="mikrotik_routeros", command="/ip address print",
                        data=say(cli, "/ip address print"))
    assert rows == [{"num": "0", "flags": "", "comment": "lan", "ip": "10.81.0.1", "subnet": "24",
                     "network": "10.81.0.0", "interface": "bridge"}]
    cmd = "/ip firewall address-list print terse"
    rows = parse_output(platform="mikrotik_routeros", command=cmd, data=say(cli, cmd))
    assert rows[0]["list"] == "h11-blocked" and rows[0]["ip_address"] == "198.51.100.7"
