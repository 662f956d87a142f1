"""cisco_ios Catalyst switch personality (spec option ``switch``) driven directly: VLANs, SVIs, switch and
routed ports, ACLs on SVIs/uplinks, shutdown compiled to drops, and the switch tables parsed by ntc-templates.
"""

from __future__ import annotations

import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.cisco_ios import create
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check
from ntc_templates.parse import parse_output

SPEC = DeviceSpec(
    name="h13-sw", hostname="sw-h13", username="admin", password="h13-pw",
    interfaces={"Vlan10": "vl10", "GigabitEthernet1/0/1": "", "GigabitEthernet1/0/2": "",
                "GigabitEthernet1/0/48": "gi48"},
    options={"switch": "true", "routed": "GigabitEthernet1/0/48"},
)


class Rig:
    def __init__(self, spec: DeviceSpec = SPEC) -> None:
        self.plane = NullDataPlane()
        self.device = create(spec, ManualClock(), self.plane)
        self.s = self.device.new_session("admin")

    def run(self, *lines: str) -> str:
        return "".join(self.s.handle(line).text for line in lines)

    def config(self, *lines: str) -> str:
        return self.run("configure terminal", *lines, "end")


@pytest.fixture
def rig() -> Rig:
    return Rig()


def parsed(command: str, text: str) -> list[dict[str, object]]:
    return parse_output(platform="cisco_ios", command=command, data=text)  # type: ignore[no-any-return]


def test_vlans_and_access_ports_in_show_vlan_brief(rig: Rig) -> None:
    out = rig.config("vlan 20", " name VOICE", "interface GigabitEthernet1/0/1", " switchport mode access",
                     " switchport access vlan 10", " switchport access vlan 20", "interface Gi1/0/2",
                     " switchport mode trunk")
    assert "%" not in out
    text = rig.run("show vlan brief")
    rows = {r["vlan_id"]: r for r in parsed("show vlan brief", text)}
    assert rows["1"]["vlan_name"] == "default" and rows["1"]["interfaces"] == []
    assert rows["10"]["vlan_name"] == "VLAN0010" and rows["20"]["interfaces"] == ["Gi1/0/1"]
    assert rows["20"]["vlan_name"] == "VOICE" and rows["1002"]["status"] == "act/unsup"
    run = rig.run("show running-config")
    port = run.split("interface GigabitEthernet1/0/1\n")[1].split("!")[0]
    assert " switchport access vlan 20\n" in port and " switchport mode access\n" in port
    assert "vlan 10" not in port  # the access VLAN line replaced, not added
    assert "interface GigabitEthernet1/0/48\n description link gi48\n no switchport\n" in run
    assert "vlan 10\nvlan 20\n name VOICE\n!" in run  # [M] IOS may print ! between VLAN blocks


def test_show_vlan_adds_the_type_table_and_parses_the_same(rig: Rig) -> None:
    rig.config("vlan 20", " name VOICE")
    full = rig.run("show vlan")
    assert "20   enet  100020     1500" in full and full.startswith(rig.run("show vlan brief"))
    assert parsed("show vlan", full) == parsed("show vlan brief", rig.run("show vlan brief"))


def test_interfaces_status_and_ip_interface_brief_parse(rig: Rig) -> None:
    rig.config("interface GigabitEthernet1/0/2", " switchport mode trunk", " shutdown")
    rows = {r["port"]: r for r in parsed("show interfaces status", rig.run("show interfaces status"))}
    assert set(rows) == {"Gi1/0/1", "Gi1/0/2", "Gi1/0/48"}
    assert rows["Gi1/0/48"]["vlan_id"] == "routed" and rows["Gi1/0/2"]["vlan_id"] == "trunk"
    assert rows["Gi1/0/2"]["status"] == "disabled" and rows["Gi1/0/1"]["vlan_id"] == "1"
    brief = {r["interface"]: r for r in parsed("show ip interface brief", rig.run("show ip interface brief"))}
    assert brief["GigabitEthernet1/0/1"]["ip_address"] == "unassigned"
    assert brief["GigabitEthernet1/0/2"]["status"] == "administratively down"
    assert set(brief) >= {"Vlan10", "GigabitEthernet1/0/48"}


def test_no_switchport_makes_a_routed_port_and_switchport_undoes_it(rig: Rig) -> None:
    rig.config("interface GigabitEthernet1/0/1", " switchport access vlan 10", " no switchport")
    run = rig.run("show running-config | section GigabitEthernet1/0/1")
    assert " no switchport" in run and "switchport access" not in run
    rig.config("interface GigabitEthernet1/0/1", " switchport")
    assert "no switchport" not in rig.run("show running-config | section GigabitEthernet1/0/1")
    rig.config("default interface GigabitEthernet1/0/48")
    assert "no switchport" not in rig.run("show running-config | section GigabitEthernet1/0/48")


def test_acls_on_the_svi_and_the_uplink_and_shutdown_compile_to_nft(rig: Rig) -> None:
    rig.config("ip access-list extended CUT", " permit tcp any host 10.78.2.2 eq 443", " deny ip any any",
               "interface Vlan10", " ip access-group CUT in", "interface GigabitEthernet1/0/48",
               " ip access-group CUT out")
    table = rig.plane.applied[-1]
    assert 'iifname "vl10" meta nfproto ipv4 jump' in table
    assert 'oifname "gi48" meta nfproto ipv4 jump' in table
    assert "drop" in table and 'oifname "gi48" drop' not in table
    rig.config("interface GigabitEthernet1/0/48", " shutdown")
    table = rig.plane.applied[-1]
    for rule in ('iifname "gi48" drop', 'oifname "gi48" drop', "hook output"):
        assert rule in table
    if shutil.which("nft"):
        assert check(table) is None
    rig.config("interface GigabitEthernet1/0/48", " no shutdown")
    assert 'ifname "gi48" drop' not in rig.plane.applied[-1]


def test_a_router_has_no_vlan_table() -> None:
    spec = DeviceSpec(name="r", hostname="ce-a", username="admin", password="pw",
                      interfaces={"GigabitEthernet0/0": "gi0-0"})
    rig = Rig(spec)
    assert "% Invalid input" in rig.run("show vlan brief")
    assert "no switchport" not in rig.run("show running-config")
