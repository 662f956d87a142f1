"""paloalto_panos personality in memory: configuration it keeps without interpreting it, and the shows.

Issue 15 item 1: a PAN-OS firewall accepts every ``set`` its schema has (kept in the candidate, committed,
shown in the hierarchical form by default, saved/loaded/reverted, kept across the fault emulator's reboot
once committed) and refuses a keyword it does not have with ``Invalid syntax.``; ``show system info`` and
``show interface all`` parse with ntc-templates.
"""

from __future__ import annotations

import pickle

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.paloalto_panos import PanDevice, create
from egressctl_lab.faultemu import PAN
from ntc_templates.parse import parse_output

SPEC = DeviceSpec(name="h12-fw-a", hostname="fw-a", username="admin", password="h12-pw",
                  interfaces={"ethernet1/1": "h12-no-such-1", "ethernet1/2": "h12-no-such-2",
                              "management": "h12-no-such-m"})
LINES = (
    "set network vlan vlan10 interface [ ethernet1/3 ethernet1/4 ]",
    "set network vlan vlan10 virtual-interface interface vlan.10",
    "set network interface ethernet ethernet1/2 layer3 ip 10.1.2.1/24",
    "set network virtual-router default interface [ ethernet1/1 ethernet1/2 ]",
    "set deviceconfig system dns-setting servers primary 192.0.2.53",
    "set deviceconfig system ntp-servers primary-ntp-server ntp-server-address pool.ntp.org",
    "set shared log-settings syslog corp server s1 server 192.0.2.10 transport UDP port 514 format BSD",
    "set zone dmz network layer3 ethernet1/3",
    "set zone dmz enable-user-identification yes",
)
VLAN_BRACES = """\
vlan {
  vlan10 {
    interface [ ethernet1/3 ethernet1/4 ];
    virtual-interface {
      interface vlan.10;
    }
  }
}
"""


class Rig:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.device: PanDevice = create(SPEC, self.clock, NullDataPlane())
        self.s = self.device.new_session("admin")

    def run(self, *lines: str) -> str:
        return "".join(self.s.handle(line).text for line in lines)


@pytest.fixture
def rig() -> Rig:
    rig = Rig()
    rig.run("configure")
    return rig


def test_lines_egressctl_never_sends_are_kept_committed_and_shown(rig: Rig) -> None:
    assert rig.run(*LINES) == ""
    assert rig.run("run check pending-changes") == "yes\n"
    assert rig.run("show network vlan") == VLAN_BRACES
    assert "Configuration committed successfully" in rig.run("commit")
    running = rig.device.running
    assert running.zones["dmz"] == ["ethernet1/3"]  # interpreted: it feeds the data plane's zones
    op = rig.run("run show config running")
    dmz = "  dmz {\n    network {\n      layer3 ethernet1/3;\n    }\n    enable-user-identification yes;\n"
    assert dmz in op
    rig.run("run set cli config-output-format set")
    assert rig.run("show deviceconfig system") == (
        "set deviceconfig system dns-setting servers primary 192.0.2.53\n"
        "set deviceconfig system ntp-servers primary-ntp-server ntp-server-address pool.ntp.org\n")
    assert rig.run("show shared | match transport") == (
        "set shared log-settings syslog corp server s1 transport UDP\n")


def test_members_accumulate_and_delete_removes(rig: Rig) -> None:
    rig.run(*LINES, "set network vlan vlan10 interface ethernet1/5", "run set cli config-output-format set")
    assert rig.run("show network vlan | match interface") == (
        "set network vlan vlan10 interface [ ethernet1/3 ethernet1/4 ethernet1/5 ]\n"
        "set network vlan vlan10 virtual-interface interface vlan.10\n")
    rig.run("delete network vlan vlan10 interface [ ethernet1/4 ethernet1/5 ]")
    assert "set network vlan vlan10 interface ethernet1/3\n" in rig.run("show network vlan")
    rig.run("delete network vlan vlan10", "delete zone dmz")
    assert rig.run("show network vlan") == "" and "dmz" not in rig.run("show zone")
    rig.run("set deviceconfig system dns-setting servers primary 192.0.2.99", "revert config")
    assert "192.0.2.99" not in rig.run("show deviceconfig")


def test_keywords_the_schema_does_not_have_are_invalid_syntax(rig: Rig) -> None:
    for line in ("set network vlna x", "set deviceconfig system bogus 1", "set deviceconfig system",
                 "set shared log-settings syslog corp server s1 transport XYZ", "set network vlan",
                 "delete network vlna", "set nonsense a b", "show nonsense", "show network vlna"):
        assert rig.run(line) == "Invalid syntax.\n", line
    assert not rig.device.pending
    assert rig.run("show network vlan") == ""  # a path the schema has, nothing configured under it


def test_snapshots_and_the_fault_emulators_reboot_keep_the_tree(rig: Rig) -> None:
    rig.run(*LINES, "save config to h12.xml", "commit")
    rig.run("delete network vlan vlan10", "commit")
    rig.run("load config from h12.xml")
    assert "vlan10" in rig.run("show network vlan")
    rig.run("commit", "set deviceconfig system login-banner uncommitted")
    saved = pickle.loads(pickle.dumps(PAN.save(rig.device)))
    rebooted = Rig()
    PAN.boot(rebooted.device, saved)
    rebooted.run("configure")
    assert rebooted.run("show network vlan") == VLAN_BRACES
    assert "login-banner" not in rebooted.run("show deviceconfig")  # never committed: gone, as on PAN-OS


def test_show_system_info_interface_all_and_vlan_all(rig: Rig) -> None:
    rig.run(*LINES, "set deviceconfig system ip-address 10.99.0.7", "commit", "exit")
    info = parse_output(platform="paloalto_panos", command="show system info",
                        data=rig.run("show system info"))
    assert info[0]["hostname"] == "fw-a" and info[0]["ip_address"] == "10.99.0.7"
    assert info[0]["operational_mode"] == "normal"
    rows = parse_output(platform="paloalto_panos", command="show interface all",
                        data=rig.run("show interface all"))
    hardware = {r["interface"]: r for r in rows if r["mac_address"]}
    logical = {r["interface"]: r for r in rows if r["vsys"]}
    assert set(hardware) == set(logical) == {"ethernet1/1", "ethernet1/2"}
    assert logical["ethernet1/2"]["zone"] == "trust"
    assert logical["ethernet1/2"]["ip_address"] == ["10.1.2.1/24"]
    assert logical["ethernet1/1"]["forwarding"] == "vr:default"
    vlans = rig.run("show vlan all")
    assert "vlan10                  vlan.10             ethernet1/3 ethernet1/4\n" in vlans
