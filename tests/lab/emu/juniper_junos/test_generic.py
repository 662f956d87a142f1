"""juniper_junos personality in memory: statements it keeps without modelling them, interfaces, shows.

Issue 15 item 1: valid configuration under the known top-level statements is accepted into the candidate,
shown, compared, committed and rolled back; a keyword Junos has no statement for stays ``syntax error.``.
"""

from __future__ import annotations

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.juniper_junos import JunosDevice, create
from ntc_templates.parse import parse_output

SPEC = DeviceSpec(
    name="h7-ce-b", hostname="ce-b", username="admin", password="h7-pw",
    interfaces={"ge-0/0/1.0": "h7-no-such-1", "ge-0/0/0.0": "h7-no-such-0"},
    zones={"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]},
)
SYSLOG = "set system syslog file messages any notice"


class Rig:
    def __init__(self) -> None:
        self.device: JunosDevice = create(SPEC, ManualClock(), NullDataPlane())
        self.s = self.device.new_session("admin")

    def run(self, *lines: str) -> str:
        return "".join(self.s.handle(line).text for line in lines)


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_syslog_and_other_stanzas_commit_show_compare_and_roll_back(rig: Rig) -> None:
    out = rig.run("configure", SYSLOG, "set system syslog file messages any info",
                  "set system ntp server 192.0.2.123", "set snmp location closet-4",
                  "set protocols lldp interface all",
                  "set routing-options static route 0.0.0.0/0 next-hop 198.51.100.1")
    assert "error" not in out
    compare = rig.run("show | compare")
    assert "[edit system syslog file messages]\n+    any info;\n" in compare
    assert "any notice" not in compare  # a facility's severity is replaced, not added
    assert "[edit protocols lldp]\n+    interface all;\n" in compare
    assert rig.run("commit") == "commit complete\n"
    shown = rig.run("run show configuration system syslog")
    assert shown == "file messages {\n    any info;\n}\n"
    assert "routing-options {\n    static {\n        route 0.0.0.0/0 next-hop 198.51.100.1;\n    }\n}\n" in \
        rig.run("run show configuration")
    sets = rig.run("run show configuration | display set")
    assert "set snmp location closet-4\n" in sets
    assert "set routing-options static route 0.0.0.0/0 next-hop 198.51.100.1\n" in sets
    rig.run("delete snmp", "delete system syslog", "commit")
    active = rig.run("run show configuration")
    assert "syslog" not in active and "snmp" not in active
    assert rig.run("rollback 1") == "load complete\n"
    assert "+    location closet-4;" in rig.run("show | compare")


def test_statements_junos_has_not_stay_syntax_errors(rig: Rig) -> None:
    rig.run("configure")
    for line in ("set sytem syslog file x any any", "set snmpp location x", "set system hots-name x",
                 "set security polices from-zone trust to-zone untrust policy p then permit"):
        assert rig.run(line).endswith("syntax error.\n"), line
    assert rig.run("show | compare") == ""


def test_interfaces_stanza_is_shown_as_junos_blocks(rig: Rig) -> None:
    rig.run("configure", "set interfaces ge-0/0/0 description uplink",
            "set interfaces ge-0/0/0 unit 0 family inet address 198.51.100.2/24", "commit")
    shown = rig.run("run show configuration interfaces")
    assert shown.startswith("ge-0/0/1 {\n    unit 0 {\n        family inet;\n    }\n}\n")
    assert ("ge-0/0/0 {\n    description uplink;\n    unit 0 {\n        family inet {\n"
            "            address 198.51.100.2/24;\n        }\n    }\n}\n") in shown
    whole = rig.run("run show configuration")
    assert "\ninterfaces {\n    ge-0/0/1 {\n" in whole
    assert "security-zone trust {\n            interfaces {\n                ge-0/0/1.0;\n" in whole


def test_exit_with_uncommitted_changes_says_so_then_asks(rig: Rig) -> None:
    rig.run("configure", SYSLOG)
    assert rig.run("exit") == "The configuration has been changed but not committed\n"
    assert rig.s.prompt() == "Exit with uncommitted changes? [yes,no] (yes) "
    assert rig.run("yes") == "Exiting configuration mode\n"
    assert "The configuration has been changed but not committed" in rig.run("configure")


def test_show_version_and_interfaces_parse_with_ntc_templates(rig: Rig) -> None:
    version = parse_output(platform="juniper_junos", command="show version", data=rig.run("show version"))
    assert version[0]["hostname"] == "ce-b" and version[0]["model"] == "vsrx"
    assert version[0]["junos_version"] == "21.4R3.15" and len(version[0]["other_device_properties"]) > 10
    rig.run("configure", "set interfaces ge-0/0/0 unit 0 family inet address 198.51.100.2/24",
            "commit and-quit")
    itfs = parse_output(platform="juniper_junos", command="show interfaces", data=rig.run("show interfaces"))
    names = [i["interface"] for i in itfs]
    assert names == ["ge-0/0/1", "ge-0/0/1.0", "ge-0/0/0", "ge-0/0/0.0"]
    assert itfs[0]["admin_state"] == "Enabled" and itfs[0]["link_status"] == "Up"
    assert itfs[3]["local"] == "198.51.100.2" and itfs[3]["destination"] == "198.51.100.0/24"


def test_disabled_interface_wording(rig: Rig) -> None:
    rig.run("configure", "set interfaces ge-0/0/1 disable", "commit and-quit")
    shown = rig.run("show interfaces ge-0/0/1")
    assert shown.startswith("Physical interface: ge-0/0/1, Administratively down, Physical link is Down\n")
    assert "ge-0/0/1                down  down" in rig.run("show interfaces terse")
    # ntc-templates' ADMIN_STATE is one word (\S+), so its template refuses Junos's own wording here


def test_show_interfaces_terse_layout(rig: Rig) -> None:
    rig.run("configure", "set interfaces ge-0/0/0 unit 0 family inet address 198.51.100.2/24", "commit")
    terse = rig.run("run show interfaces terse").splitlines()
    assert terse[0].split() == ["Interface", "Admin", "Link", "Proto", "Local", "Remote"]
    assert "ge-0/0/0.0              up    up   inet     198.51.100.2/24" in terse
    # ntc-templates has no terse template: its index sends "show interfaces terse" to the "show interfaces"
    # one, which refuses the terse header (as it would real terse output)
    with pytest.raises(Exception, match="State Error"):
        parse_output(platform="juniper_junos", command="show interfaces terse", data="\n".join(terse))
