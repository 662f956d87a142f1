"""fortinet personality in memory: tables it keeps without interpreting them, and the status shows.

Issue 15 item 1: a FortiGate accepts every valid ``config`` block (stored as a generic tree, applied at
``next``/``end``, shown, saved, lost by a cfg-save revert when unsaved, kept across the fault emulator's
reboot when saved) and refuses only a path it has no table for; ``get system status`` and ``get system
interface physical`` parse with ntc-templates.
"""

from __future__ import annotations

import pickle

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.fortinet import FortiDevice, create
from egressctl_lab.faultemu import FORTI
from ntc_templates.parse import parse_output

SPEC = DeviceSpec(name="h12-fw-b", hostname="fw-b", username="admin", password="h12-pw",
                  interfaces={"port1": "h12-no-such-1", "port2": "h12-no-such-2"})
PARSE_ERROR = "command parse error before '{0}'\nCommand fail. Return code -61\n"

NTP = ("config system ntp", "set ntpsync enable", "set type custom", "config ntpserver", "edit 1",
       'set server "pool.ntp.org"', "next", "end", "end")
SHOWN_NTP = """\
config system ntp
    set ntpsync enable
    set type custom
    config ntpserver
        edit 1
            set server "pool.ntp.org"
        next
    end
end
"""


class Rig:
    def __init__(self) -> None:
        self.clock = ManualClock(scale=1.0)
        self.device: FortiDevice = create(SPEC, self.clock, NullDataPlane())
        self.s = self.device.new_session("admin")

    def run(self, *lines: str) -> str:
        return "".join(self.s.handle(line).text for line in lines)


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_blocks_egressctl_never_sends_are_stored_and_shown(rig: Rig) -> None:
    assert rig.run("config firewall service category", "edit Clinic") == "new entry 'Clinic' added\n"
    assert rig.s.prompt() == "fw-b (Clinic) # "
    rig.run('set comment "clinic apps"', "next", "end")
    rig.run("config system dns", "set primary 192.0.2.53", "set secondary 192.0.2.54", "end")
    rig.run("config log syslogd setting", "set status enable", "set server 192.0.2.10", "end")
    rig.run(*NTP)
    assert rig.run("show system ntp") == SHOWN_NTP
    assert rig.run("show firewall service category Clinic") == (
        'config firewall service category\n    edit "Clinic"\n        set comment "clinic apps"\n'
        "    next\nend\n")
    everything = rig.run("show")
    assert "config system dns\n    set primary 192.0.2.53\n    set secondary 192.0.2.54\nend\n" in everything
    assert "config log syslogd setting\n    set status enable\n    set server 192.0.2.10\nend\n" in everything
    assert SHOWN_NTP in rig.run("show full-configuration")
    assert rig.run("get system dns") == "primary             : 192.0.2.53\nsecondary           : 192.0.2.54\n"
    assert rig.run("show | grep -f pool.ntp") == (
        "config system ntp\n    config ntpserver\n        edit 1\n            set server \"pool.ntp.org\"\n"
        "        next\n    end\nend\n")
    assert rig.run("show system dns | grep secondary") == "    set secondary 192.0.2.54\n"


def test_unset_delete_and_abort(rig: Rig) -> None:
    rig.run("config system interface", "edit port2", "set allowaccess ping https ssh", "config ipv6",
            "set ip6-address 2001:db8::1/64", "end", "next", "end")
    assert "            set ip6-address 2001:db8::1/64\n" in rig.run("show system interface port2")
    rig.run("config system interface", "edit port2", "unset allowaccess", "next", "end")
    assert "allowaccess" not in rig.run("show system interface port2")
    rig.run("config firewall service category", "edit Gone", "next", "delete Gone", "end")
    assert "Gone" not in rig.run("show firewall service category")
    rig.run("config system dns", "set primary 192.0.2.99", "abort")
    assert "192.0.2.99" not in rig.run("show system dns")
    assert rig.s.prompt() == "fw-b # "


def test_edit_0_takes_the_next_free_id(rig: Rig) -> None:
    rig.run("config router static", "edit 0", "set dst 192.0.2.0 255.255.255.0", "set device port1", "next",
            "edit 0", "set dst 198.51.100.0 255.255.255.0", "next", "end")
    shown = rig.run("show router static")
    assert "    edit 1\n        set dst 192.0.2.0 255.255.255.0\n" in shown
    assert "    edit 2\n        set dst 198.51.100.0 255.255.255.0\n" in shown


def test_paths_fortios_has_no_table_for_are_refused(rig: Rig) -> None:
    assert rig.run("config system bogus") == PARSE_ERROR.format("bogus")
    assert rig.run("config firewall service categories") == PARSE_ERROR.format("categories")
    rig.run("config system dns")
    assert rig.run("config ntpserver") == PARSE_ERROR.format("ntpserver")
    assert rig.run("set") == PARSE_ERROR.format("set")
    assert rig.run("end") == "" and rig.s.prompt() == "fw-b # "
    assert rig.run("show system bogus") == PARSE_ERROR.format("bogus")


def test_unsaved_generic_change_is_lost_by_the_cfg_save_revert_reboot(rig: Rig) -> None:
    rig.run("config system dns", "set primary 192.0.2.53", "end")
    rig.run("config system global", "set cfg-save revert", "set cfg-revert-timeout 60", "end")
    rig.run("config system dns", "set primary 192.0.2.66", "end")
    assert rig.device.revert_pending and "192.0.2.66" in rig.run("show system dns")
    rig.clock.advance(61)
    rig.clock.advance(200)  # the unit reboots on the saved configuration
    fresh = rig.device.new_session("admin")
    shown = fresh.handle("show system dns").text
    assert "192.0.2.53" in shown and "192.0.2.66" not in shown


def test_saved_generic_tables_survive_the_fault_emulators_reboot(rig: Rig) -> None:
    rig.run(*NTP)
    saved = pickle.loads(pickle.dumps(FORTI.save(rig.device)))
    rebooted = Rig()
    FORTI.boot(rebooted.device, saved)
    assert rebooted.run("show system ntp") == SHOWN_NTP


def test_status_and_physical_interfaces_parse_with_ntc_templates(rig: Rig) -> None:
    status = parse_output(platform="fortinet", command="get system status", data=rig.run("get system status"))
    assert status[0]["hostname"] == "fw-b" and status[0]["virtual_domain_configuration"] == "disable"
    assert status[0]["version"].startswith("FortiGate-VM64 v7.2.5")
    rig.run("config system interface", "edit port2", "set ip 10.1.2.1 255.255.255.0", "next", "edit port1",
            "set status down", "next", "end")
    ports = parse_output(platform="fortinet", command="get system interface physical",
                         data=rig.run("get system interface physical"))
    by_name = {p["name"]: p for p in ports}
    assert set(by_name) == {"port1", "port2"}
    assert (by_name["port2"]["ip_address"], by_name["port2"]["netmask"]) == ("10.1.2.1", "255.255.255.0")
    assert by_name["port2"]["status"] == "up" and by_name["port1"]["status"] == "down"
