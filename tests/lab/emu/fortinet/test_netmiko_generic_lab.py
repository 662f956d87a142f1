"""fortinet emulator driven by netmiko's own ``fortinet`` class the way generic netmiko users drive FortiOS.

Issue 15 item 1: ``config`` blocks egressctl never sends (``send_config_set`` with FortiOS's own ``end``),
shown back, refused paths, a change left unconfirmed under ``cfg-save revert`` and lost by the reboot, and
the status shows parsed by ntc-templates (netmiko's ``use_textfsm`` and ``ntc_templates.parse.parse_output``).
The emulator runs in a thread on 127.0.0.1 (ports 28000-28009, lab prefix ``h12``); no namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.fortinet import FortiDevice
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import threaded_emulator, wait_until
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException
from ntc_templates.parse import parse_output

pytestmark = pytest.mark.ssh

PASSWORD = "h12-Forti-pw"
SPEC = DeviceSpec(name="h12-fw-b", hostname="fw-b", username="admin", password=PASSWORD,
                  interfaces={"port1": "h12-no-such-1", "port2": "h12-no-such-2"},
                  options={"boot_seconds": "20"})
ERRORS = r"Command fail|Unknown action"
GENERIC = [
    "config system dns", "set primary 192.0.2.53", "set secondary 192.0.2.54", "end",
    "config log syslogd setting", "set status enable", "set server 192.0.2.10", "end",
    "config firewall service category", "edit Clinic", 'set comment "clinic apps"', "next", "end",
    "config system ntp", "set ntpsync enable", "set type custom", "config ntpserver", "edit 1",
    'set server "pool.ntp.org"', "next", "end", "end",
]


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with threaded_emulator("fortinet", SPEC, 28000, tmp_path_factory.mktemp("h12f"), key_name="h12-fw-b",
                           time_scale=0.05) as running:
        yield running


def _connect(emu: RunningEmulator) -> Any:
    return ConnectHandler(device_type="fortinet", host="127.0.0.1", port=emu.port, username="admin",
                          password=PASSWORD, conn_timeout=10, timeout=20)


@pytest.fixture
def conn(emu: RunningEmulator) -> Iterator[Any]:
    handle = _connect(emu)
    try:
        yield handle
    finally:
        handle.disconnect()


def test_blocks_egressctl_never_sends_are_configured_and_shown(conn: Any) -> None:
    out = conn.send_config_set(GENERIC, error_pattern=ERRORS)
    assert "new entry 'Clinic' added" in out
    assert conn.send_command("show system dns") == (
        "config system dns\n    set primary 192.0.2.53\n    set secondary 192.0.2.54\nend")
    ntp = conn.send_command("show system ntp | grep -f pool")
    assert '            set server "pool.ntp.org"' in ntp and "    config ntpserver" in ntp
    assert "set server 192.0.2.10" in conn.send_command("show full-configuration log syslogd setting")
    with pytest.raises(ConfigInvalidException, match="config firewall service categories"):
        conn.send_config_set(["config firewall service categories", "end"], error_pattern=ERRORS)


def test_status_and_physical_ports_parse_with_ntc_templates(conn: Any) -> None:
    status = conn.send_command("get system status", use_textfsm=True)
    assert status[0]["hostname"] == "fw-b" and status[0]["version"].startswith("FortiGate-VM64 v7.2.5")
    conn.send_config_set(["config system interface", "edit port2", "set ip 10.1.2.1 255.255.255.0", "next",
                          "end"], error_pattern=ERRORS)
    raw = conn.send_command("get system interface physical")
    ports = {p["name"]: p for p in parse_output(platform="fortinet", command="get system interface physical",
                                                 data=raw)}
    assert ports["port2"]["ip_address"] == "10.1.2.1" and ports["port2"]["netmask"] == "255.255.255.0"
    assert set(ports) == {"port1", "port2"}


def test_unconfirmed_generic_change_is_reverted_by_the_reboot(emu: RunningEmulator) -> None:
    device = cast(FortiDevice, emu.device)
    conn = _connect(emu)
    try:
        conn.send_config_set(["config system global", "set cfg-save revert", "set cfg-revert-timeout 60",
                              "end", "config system dns", "set primary 192.0.2.66", "end"],
                             error_pattern=ERRORS)
        assert "192.0.2.66" in conn.send_command("show system dns")
    finally:
        conn.disconnect()
    # 60 device seconds at scale 0.05 = 3 s, then a 20 device-second (1 s) boot on the saved configuration.
    assert wait_until(lambda: emu.call(lambda: device.reboots == 1 and not device.booting), 20)
    conn = _connect(emu)
    try:
        shown = conn.send_command("show system dns")
        assert "192.0.2.66" not in shown and "set primary 192.0.2.53" in shown
    finally:
        conn.disconnect()
