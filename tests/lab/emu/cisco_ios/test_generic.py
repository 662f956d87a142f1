"""cisco_ios personality in memory: lines it stores without interpreting, login privilege, banner mode, shows.

Issue 15 item 1: a router accepts every valid line (stored where IOS prints it, saved, kept across a
reboot) and refuses only what it has no command for; a privilege-15 user starts at ``#``.
"""

from __future__ import annotations

import pickle

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.cisco_ios import IosDevice, create
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.faultemu import IOS
from ntc_templates.parse import parse_output

SPEC = DeviceSpec(
    name="h7-ce-a", hostname="ce-a", username="admin", password="h7-pw",
    interfaces={"GigabitEthernet0/0": "h7-no-such-0", "GigabitEthernet0/1": "h7-no-such-1"},
)


class Rig:
    def __init__(self, spec: DeviceSpec = SPEC) -> None:
        self.clock = ManualClock()
        self.device: IosDevice = create(spec, self.clock, NullDataPlane())
        self.s = self.device.new_session("admin")

    def run(self, *lines: str) -> str:
        return "".join(self.s.handle(line).text for line in lines)

    def config(self, *lines: str) -> str:
        return self.run("configure terminal", *lines, "end")


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_privilege_15_login_starts_privileged_and_enable_needs_a_secret(rig: Rig) -> None:
    assert rig.s.prompt() == "ce-a#"
    assert "username admin privilege 15" in rig.run("show running-config")
    assert rig.run("disable") == ""
    assert rig.s.prompt() == "ce-a>"
    assert rig.run("enable") == "% No password set\n"
    assert rig.s.prompt() == "ce-a>"
    rig.run("exit")


def test_enable_secret_configured_then_required(rig: Rig) -> None:
    rig.config("enable secret h7-Enable")
    shown = rig.run("show running-config")
    assert "h7-Enable" not in shown and "enable secret 9 " in shown
    rig.run("disable")
    assert rig.s.handle("enable").echo_next is False
    rig.run("h7-Enable")
    assert rig.s.prompt() == "ce-a#"


def test_unknown_valid_lines_are_stored_shown_replaced_and_removed(rig: Rig) -> None:
    out = rig.config("logging buffered 20000", "logging buffered 30000", "ntp server 192.0.2.1",
                     "ntp server 192.0.2.2", "no ntp server 192.0.2.1", "snmp-server location closet 4")
    assert out.strip() == "Enter configuration commands, one per line.  End with CNTL/Z."
    run = rig.run("show running-config")
    assert "logging buffered 30000\n" in run and "logging buffered 20000" not in run
    assert "ntp server 192.0.2.2\n" in run and "192.0.2.1" not in run
    assert "snmp-server location closet 4\n" in run
    # IOS's order: logging before interfaces, ntp after the lines
    assert run.index("logging buffered") < run.index("interface ") < run.index("line vty") < run.index("ntp ")


def test_keywords_ios_has_no_command_for_stay_invalid(rig: Rig) -> None:
    out = rig.config("loging buffered 20000")
    assert "% Invalid input detected at '^' marker." in out
    rig.run("configure terminal")
    assert rig.run("logging bufferd 4096") == " " * len("ce-a(config)#logging ") + "^\n" + \
        "% Invalid input detected at '^' marker.\n\n"
    rig.run("logg buff 4096", "end")  # abbreviations are shown expanded
    run = rig.run("show running-config")
    assert "loging" not in run and "bufferd" not in run and "logging buffered 4096\n" in run


def test_submodes_keep_their_lines_and_fall_back_to_global(rig: Rig) -> None:
    rig.run("configure terminal", "line vty 0 4")
    assert rig.s.prompt() == "ce-a(config-line)#"
    rig.run("exec-timeout 5 0", "transport input ssh")
    rig.run("router ospf 1")
    assert rig.s.prompt() == "ce-a(config-router)#"
    rig.run("network 10.0.0.0 0.255.255.255 area 0", "no ip domain lookup", "end")
    run = rig.run("show running-config")
    assert "line con 0\nline vty 0 4\n login local\n transport input ssh\n exec-timeout 5 0\n!\n" in run
    assert "router ospf 1\n network 10.0.0.0 0.255.255.255 area 0\n" in run
    assert rig.run("show running-config | section ^router") == \
        "router ospf 1\n network 10.0.0.0 0.255.255.255 area 0\n"


def test_interface_sub_commands_and_loopbacks(rig: Rig) -> None:
    rig.config("interface GigabitEthernet0/1", "ip ospf cost 10", "ip address 198.51.100.1 255.255.255.0",
               "ip access-list extended H7", "permit ip any any", "interface Loopback0",
               "ip address 10.255.0.1 255.255.255.255")
    run = rig.run("show running-config")
    assert "interface GigabitEthernet0/1\n description link h7-no-such-1\n ip address 198.51.100.1 " \
           "255.255.255.0\n ip ospf cost 10\n" in run
    assert "ip access-list extended H7\n permit ip any any\n" in run  # left the interface, as on IOS
    assert "interface Loopback0\n ip address 10.255.0.1 255.255.255.255\n!" in run
    brief = parse_output(platform="cisco_ios", command="show ip interface brief",
                         data=rig.run("show ip interface brief"))
    assert {"interface": "Loopback0", "ip_address": "10.255.0.1", "status": "up", "proto": "up"} in brief
    rig.config("interface GigabitEthernet0/1", "ip access-group H7 in",
               "default interface GigabitEthernet0/1")
    assert "ip ospf cost" not in rig.run("show running-config | section GigabitEthernet0/1")
    assert rig.device.running.interfaces["GigabitEthernet0/1"].acl_in4 is None
    rig.config("no interface Loopback0")
    assert "Loopback0" not in rig.run("show running-config")
    assert "% Removal of physical" in rig.config("no interface GigabitEthernet0/0")


def test_banner_mode_waits_for_the_delimiter(rig: Rig) -> None:
    rig.run("configure terminal")
    assert rig.run("banner login %") == "Enter TEXT message.  End with the character '%'.\n"
    assert rig.s.prompt() == ""
    rig.run("Authorized access only", "Disconnect now%")
    assert rig.s.prompt() == "ce-a(config)#"
    rig.run("banner motd #one line#", "end")
    run = rig.run("show running-config")
    assert "banner login ^C\nAuthorized access only\nDisconnect now\n^C\n" in run
    assert "banner motd ^C\none line\n^C\n" in run


def test_write_memory_keeps_stored_lines_across_the_fault_emulators_reboot(rig: Rig) -> None:
    rig.config("logging buffered 20000", "line vty 0 4", "exec-timeout 5 0")
    rig.run("write memory")
    rig.config("ntp server 192.0.2.9")  # never saved: lost at reboot, as on IOS
    assert "logging buffered 20000" in rig.run("show startup-config")
    saved = pickle.loads(pickle.dumps(IOS.save(rig.device)))
    rebooted = Rig()
    IOS.boot(rebooted.device, saved)
    run = rebooted.run("show running-config")
    assert "logging buffered 20000\n" in run and " exec-timeout 5 0\n" in run
    assert "ntp server" not in run


def test_show_version_and_interfaces_parse_with_ntc_templates(rig: Rig) -> None:
    rig.clock.advance(3 * 86400 + 2 * 3600 + 60)
    version = parse_output(platform="cisco_ios", command="show version", data=rig.run("show version"))
    assert version[0]["config_register"] == "0x0"
    assert version[0]["hostname"] == "ce-a" and version[0]["version"] == "15.9(3)M6"
    assert version[0]["uptime"] == "3 days, 2 hours, 1 minute"
    rig.config("interface GigabitEthernet0/1", "shutdown")
    itfs = parse_output(platform="cisco_ios", command="show interfaces", data=rig.run("show interfaces"))
    assert [i["interface"] for i in itfs] == ["GigabitEthernet0/0", "GigabitEthernet0/1"]
    assert itfs[0]["link_status"] == "up" and itfs[1]["link_status"] == "administratively down"
    assert itfs[1]["description"] == "link h7-no-such-1" and itfs[0]["mtu"] == "1500"
    one = rig.run("show interfaces GigabitEthernet0/0")
    assert one.startswith("GigabitEthernet0/0 is up") and "GigabitEthernet0/1" not in one
