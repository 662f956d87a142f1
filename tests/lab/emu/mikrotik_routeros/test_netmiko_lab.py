"""netmiko's own ``mikrotik_routeros`` class drives the RouterOS emulator as it drives a real router.

Login with netmiko's console options appended to the user name (``admin+ct511w4098h``), the banner and the
``] >`` prompt read before anything is written, show commands parsed by ntc-templates, configuration lines
egressctl never sends (live and in the export at once), a refused line caught by ``error_pattern``, the
inherited ``save_config`` refused (RouterOS has no such command: it saves every change itself), ``quit``.
Port 27955 (helper range 27950-27999); no namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import available, threaded_emulator
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import ConfigInvalidException

pytestmark = [pytest.mark.ssh,
              pytest.mark.skipif(not available("mikrotik_routeros"), reason="no RouterOS emulator")]

PORT = 27955
PASSWORD = "h11-netmiko-pw"
SPEC = DeviceSpec(name="h11-rtr", hostname="clinic-h11", username="admin", password=PASSWORD,
                  interfaces={"ether1": "e1", "bridge": "br0"})
ERRORS = r"(bad command name|syntax error|expected end of command|no such item|input does not match|failure:)"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    keys: Path = tmp_path_factory.mktemp("h11-keys")
    with threaded_emulator("mikrotik_routeros", SPEC, PORT, keys, key_name="h11-rtr", time_scale=0.05) as emu:
        yield emu


@pytest.fixture
def conn(emulator: RunningEmulator) -> Iterator[BaseConnection]:
    c = ConnectHandler(device_type="mikrotik_routeros", host="127.0.0.1", port=PORT, username="admin",
                       password=PASSWORD, conn_timeout=15, fast_cli=True)
    try:
        yield c
    finally:
        c.disconnect()


def test_login_prompt_and_textfsm(conn: BaseConnection) -> None:
    assert conn.username == "admin+ct511w4098h" and conn.base_prompt == "[admin@clinic-h11]"
    assert conn.send_command("/system identity print", use_textfsm=True) == [{"name": "clinic-h11"}]
    rules = conn.send_command("/ip firewall filter print all without-paging", use_textfsm=True)
    assert isinstance(rules, list) and rules[0]["chain"] == "input"
    assert any(r["action"] == "fasttrack-connection" and r["hw_offload"] == "yes" for r in rules)
    res = conn.send_command("/system resource print", use_textfsm=True)
    assert isinstance(res, list) and res[0]["version"].startswith("7.")
    itf = conn.send_command("/interface print terse without-paging", use_textfsm=True)
    assert isinstance(itf, list) and [i["name"] for i in itf] == ["ether1", "bridge"]


def test_lines_egressctl_never_sends_are_live_and_exported(conn: BaseConnection,
                                                           emulator: RunningEmulator) -> None:
    out = conn.send_config_set(["/ip dns set servers=9.9.9.9,1.1.1.1", "/system ntp client set enabled=yes",
                                "/ip address add address=10.81.0.1/24 interface=bridge comment=h11",
                                '/system logging action add name=remote target=remote remote=10.81.0.9',
                                "/ip firewall address-list add list=h11-blocked address=198.51.100.7"],
                               error_pattern=ERRORS)
    assert "bad command" not in out
    export = str(conn.send_command("/export terse"))
    assert "/ip dns set allow-remote-requests=yes servers=9.9.9.9,1.1.1.1" in export
    assert "/ip address add address=10.81.0.1/24 comment=h11 interface=bridge" in export
    assert "/ip firewall address-list add address=198.51.100.7 list=h11-blocked" in export
    conn.send_command("/ip firewall filter add action=drop chain=forward dst-address-list=h11-blocked")
    ruleset = emulator.device.ruleset()
    assert "198.51.100.7" in ruleset, "the address list is enforced"
    conn.send_command("/ip firewall filter remove [find where dst-address-list=h11-blocked]")
    conn.send_command("/ip address remove [find where comment=h11]")
    assert "10.81.0.1" not in str(conn.send_command("/ip address print"))


def test_refused_lines_and_save_config(conn: BaseConnection) -> None:
    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(["/ip firewall filter add chain=forward action=nosuch"], error_pattern=ERRORS)
    assert "bad command name copy" in str(conn.save_config())
    menu = conn.send_command("/ip firewall filter", expect_string=r"/ip firewall filter> ")
    assert menu == ""
    assert "chain=input" in str(conn.send_command("print terse", expect_string=r"filter> "))
    conn.send_command("/", expect_string=r"\] > ")
