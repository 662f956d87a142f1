"""cisco_ios emulator driven by netmiko's own ``cisco_ios`` class the way generic netmiko users drive IOS.

Issue 15 item 1: configuration egressctl never sends (``send_config_set``), ``save_config``, banner mode,
the enable behaviour of a privilege-15 login, and show commands parsed by ntc-templates (netmiko's own
``use_textfsm`` and ``ntc_templates.parse.parse_output``). The emulator runs in a thread on 127.0.0.1
(ports 27600-27609, lab prefix ``h7``); no namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import threaded_emulator
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException
from ntc_templates.parse import parse_output

pytestmark = pytest.mark.ssh

PASSWORD = "h7-Ios-pw"
SPEC = DeviceSpec(
    name="h7-ce-a", hostname="ce-a", username="admin", password=PASSWORD,
    interfaces={"GigabitEthernet0/0": "h7-no-such-0", "GigabitEthernet0/1": "h7-no-such-1"},
)
ERRORS = r"% Invalid input|% Incomplete command|% Ambiguous command"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with threaded_emulator("cisco_ios", SPEC, 27600, tmp_path_factory.mktemp("h7ios"), key_name="h7-ce-a",
                           time_scale=0.01) as running:
        yield running


@pytest.fixture
def conn(emu: RunningEmulator) -> Iterator[Any]:
    handle = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=emu.port, username="admin",
                            password=PASSWORD, fast_cli=True, conn_timeout=10)
    try:
        yield handle
    finally:
        handle.disconnect()


def test_lines_egressctl_never_sends_are_configured_shown_and_saved(conn: Any) -> None:
    assert conn.check_enable_mode()  # privilege 15: no enable() needed, as on the router
    conn.send_config_set(["logging buffered 20000", "ntp server 192.0.2.123", "interface GigabitEthernet0/1",
                          "ip ospf cost 10", "line vty 0 4", "exec-timeout 5 0"], error_pattern=ERRORS)
    run = conn.send_command("show running-config")
    assert "logging buffered 20000" in run and "ntp server 192.0.2.123" in run
    assert " ip ospf cost 10" in run and " exec-timeout 5 0" in run
    assert "[OK]" in conn.save_config()
    startup = conn.send_command("show startup-config | include ^logging|^ntp")
    assert startup.split("\n") == ["logging buffered 20000", "ntp server 192.0.2.123"]
    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(["loging buffered 4096"], error_pattern=ERRORS)


def test_banner_through_send_config_set(conn: Any) -> None:
    conn.send_config_set(["banner login %", "Authorized access only", "%", "hostname ce-a"])
    assert "banner login ^C\nAuthorized access only\n^C" in conn.send_command("show running-config")


def test_enable_without_a_secret_fails_as_on_the_router(conn: Any) -> None:
    conn.send_command("disable", expect_string=r"ce-a>")
    assert conn.send_command("enable", expect_string=r"ce-a>") == "% No password set"
    with pytest.raises(ValueError, match="enable mode"):
        conn.enable()


def test_show_commands_parse_with_ntc_templates(conn: Any) -> None:
    version = conn.send_command("show version", use_textfsm=True)
    assert version[0]["hostname"] == "ce-a" and version[0]["config_register"] == "0x0"
    assert version[0]["software_image"] == "VIOS-ADVENTERPRISEK9-M"
    interfaces = conn.send_command("show interfaces", use_textfsm=True)
    assert [i["interface"] for i in interfaces] == ["GigabitEthernet0/0", "GigabitEthernet0/1"]
    raw = conn.send_command("show ip interface brief")
    brief = parse_output(platform="cisco_ios", command="show ip interface brief", data=raw)
    assert [(b["interface"], b["status"]) for b in brief] == [("GigabitEthernet0/0", "up"),
                                                             ("GigabitEthernet0/1", "up")]
