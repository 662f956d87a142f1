"""netmiko's own ``arista_eos`` class drives the EOS emulator as it drives a real switch, over real SSH.

Connect (``terminal width`` / ``terminal length 0`` answered as netmiko requires), show commands parsed by
ntc-templates, configuration including lines egressctl never sends, ``save_config``, a configuration
session committed with a timer and confirmed, ``check_config_mode`` inside a session, and an invalid line
caught by ``error_pattern``. Ports 27710-27711 (helper range 27700-27749); no namespaces.
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
              pytest.mark.skipif(not available("arista_eos"), reason="arista_eos emulator not available")]

PORT = 27710
PASSWORD = "h8-netmiko-pw"
SPEC = DeviceSpec(name="h8-sw", hostname="dist-h8", username="admin", password=PASSWORD,
                  interfaces={"Ethernet1": "et1", "Ethernet2": "et2"})


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    keys: Path = tmp_path_factory.mktemp("h8-keys")
    with threaded_emulator("arista_eos", SPEC, PORT, keys, key_name="h8-sw", time_scale=0.05) as emu:
        yield emu


@pytest.fixture
def conn(emulator: RunningEmulator) -> Iterator[BaseConnection]:
    c = ConnectHandler(device_type="arista_eos", host="127.0.0.1", port=PORT, username="admin",
                       password=PASSWORD, conn_timeout=15, fast_cli=True)
    try:
        yield c
    finally:
        c.disconnect()


def test_connect_and_show_commands_parse(conn: BaseConnection) -> None:
    assert conn.find_prompt() == "dist-h8#" and conn.base_prompt == "dist-h8"
    conn.enable()  # privilege 15: already there
    version = conn.send_command("show version", use_textfsm=True)
    assert isinstance(version, list) and version[0]["image"] == "4.31.2F"
    status = conn.send_command("show interfaces status", use_textfsm=True)
    assert isinstance(status, list) and [r["port"] for r in status] == ["Et1", "Et2"]
    assert "Hostname: dist-h8" in str(conn.send_command("show hostname"))


def test_config_lines_egressctl_never_sends_and_save(conn: BaseConnection) -> None:
    out = conn.send_config_set(["logging buffered 20000", "vlan 120", "name tenant-a", "interface Ethernet2",
                                "description to-closet", "ip access-list H8-SITE",
                                "permit tcp 10.0.0.0 0.0.0.255 any eq 22"], error_pattern=r"^% ")
    assert "%" not in out, out
    shown = str(conn.send_command("show running-config"))
    assert "logging buffered 20000" in shown and "   name tenant-a" in shown
    assert "   10 permit tcp 10.0.0.0/24 any eq ssh" in shown
    acl = conn.send_command("show ip access-lists H8-SITE", use_textfsm=True)
    assert isinstance(acl, list) and acl[0]["source"] == "10.0.0.0/24"
    assert "Copy completed successfully." in conn.save_config()
    assert "vlan 120" in str(conn.send_command("show startup-config | section vlan"))


def test_invalid_line_is_caught_by_error_pattern(conn: BaseConnection) -> None:
    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(["ip access-list H8-BAD", "permit tcp any any eq nosuchport"],
                             error_pattern=r"^% ")


def test_session_commit_timer_then_confirm(conn: BaseConnection, emulator: RunningEmulator) -> None:
    conn.config_mode(config_command="configure session h8s")
    assert conn.check_config_mode()
    conn.send_config_set(["ip access-list H8-UP", "deny ip any any", "interface Ethernet1",
                          "ip access-group H8-UP out"], enter_config_mode=False, exit_config_mode=False,
                         error_pattern=r"^% ")
    diff = str(conn.send_command("show session-config diffs"))
    assert "+   ip access-group H8-UP out" in diff
    out = conn.send_command("commit timer 00:10:00", expect_string=r"dist-h8#")
    assert "%" not in str(out)
    assert not conn.check_config_mode()
    assert "h8s           pendingCommitTimer" in str(conn.send_command("show configuration sessions"))
    assert 'oifname "et1"' in str(emulator.dataplane.last)  # type: ignore[attr-defined]
    conn.send_command("configure session h8s commit")
    assert "completed" in str(conn.send_command("show configuration sessions"))
    conn.send_config_set(["interface Ethernet1", "no ip access-group H8-UP out", "no ip access-list H8-UP"])
