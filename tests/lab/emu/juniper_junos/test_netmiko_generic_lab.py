"""juniper_junos emulator driven by netmiko's own ``juniper_junos`` class the way generic users drive an SRX.

Issue 15 item 1: configuration egressctl never sends (``system syslog``, ``snmp``, ``interfaces``) through
``send_config_set``, then ``commit``, ``commit confirmed`` left to expire, ``rollback``, leaving config mode
with uncommitted changes, and shows parsed by ntc-templates. The emulator runs in a thread on 127.0.0.1
(ports 27610-27619, lab prefix ``h7``); no namespaces.
"""

from __future__ import annotations

import time
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

PASSWORD = "h7-Junos-pw"
SPEC = DeviceSpec(
    name="h7-ce-b", hostname="ce-b", username="admin", password=PASSWORD,
    interfaces={"ge-0/0/1.0": "h7-no-such-1", "ge-0/0/0.0": "h7-no-such-0"},
    zones={"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]},
)
ERRORS = r"syntax error|unknown command|error:|is ambiguous"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with threaded_emulator("juniper_junos", SPEC, 27610, tmp_path_factory.mktemp("h7junos"),
                           key_name="h7-ce-b", time_scale=0.01) as running:
        yield running


@pytest.fixture
def conn(emu: RunningEmulator) -> Iterator[Any]:
    handle = ConnectHandler(device_type="juniper_junos", host="127.0.0.1", port=emu.port, username="admin",
                            password=PASSWORD, fast_cli=True, conn_timeout=10)
    try:
        yield handle
    finally:
        handle.disconnect()


def test_foreign_statements_commit_and_roll_back(conn: Any) -> None:
    conn.send_config_set(["set system syslog file messages any notice", "set snmp location closet-4",
                          "set interfaces ge-0/0/0 unit 0 family inet address 198.51.100.2/24"],
                         exit_config_mode=False, error_pattern=ERRORS)
    compare = conn.send_command("show | compare")
    assert "[edit system syslog file messages]\n+    any notice;" in compare
    assert "commit complete" in conn.commit(comment="h7 generic")
    shown = conn.send_command("run show configuration | display set | match \"syslog|snmp|198.51\"")
    assert shown.split() == " ".join([  # Junos's order: system, interfaces, snmp
        "set system syslog file messages any notice",
        "set interfaces ge-0/0/0 unit 0 family inet address 198.51.100.2/24", "set snmp location closet-4",
    ]).split()
    conn.send_config_set(["rollback 1"], exit_config_mode=False, error_pattern=ERRORS)
    assert "-    location closet-4;" in conn.send_command("show | compare")
    assert "commit complete" in conn.commit()
    assert "snmp" not in conn.send_command("run show configuration")
    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(["set snmpp location x"], exit_config_mode=False, error_pattern=ERRORS)


def test_commit_confirmed_of_foreign_statements_expires(conn: Any, emu: RunningEmulator) -> None:
    conn.send_config_set(["set system ntp server 192.0.2.123"], exit_config_mode=False, error_pattern=ERRORS)
    out = conn.commit(confirm=True, confirm_delay=1)
    assert "commit confirmed will be automatically rolled back in 1 minutes unless confirmed" in out
    device: Any = emu.device
    before = emu.call(lambda: device.rollbacks)
    deadline = time.monotonic() + 10  # 1 device minute = 0.6 s at time scale 0.01
    while time.monotonic() < deadline and emu.call(lambda: device.rollbacks) == before:
        time.sleep(0.2)
    assert "192.0.2.123" not in conn.send_command("run show configuration system")


def test_leaving_with_uncommitted_changes(conn: Any) -> None:
    conn.send_config_set(["set system time-zone Europe/Paris"], exit_config_mode=False, error_pattern=ERRORS)
    out = conn.send_command("exit configuration-mode", expect_string=r"Exit with uncommitted changes")
    assert out.startswith("The configuration has been changed but not committed")
    assert "Exiting configuration mode" in conn.send_command("yes", expect_string=r">")
    entering = conn.config_mode()
    assert "The configuration has been changed but not committed" in entering
    conn.send_config_set(["rollback 0"], exit_config_mode=False, error_pattern=ERRORS)
    conn.exit_config_mode()


def test_show_commands_parse_with_ntc_templates(conn: Any) -> None:
    version = conn.send_command("show version", use_textfsm=True)
    assert version[0]["hostname"] == "ce-b" and version[0]["junos_version"] == "21.4R3.15"
    raw = conn.send_command("show interfaces")
    interfaces = parse_output(platform="juniper_junos", command="show interfaces", data=raw)
    assert [i["interface"] for i in interfaces] == ["ge-0/0/1", "ge-0/0/1.0", "ge-0/0/0", "ge-0/0/0.0"]
    terse = conn.send_command("show interfaces terse")
    assert terse.split("\n")[1].split() == ["ge-0/0/1", "up", "up"]
    stanza = conn.send_command("show configuration interfaces")
    assert stanza.startswith("ge-0/0/1 {\n    unit 0 {")
