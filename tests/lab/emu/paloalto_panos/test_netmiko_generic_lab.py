"""paloalto_panos emulator driven by netmiko's own ``paloalto_panos`` class as generic users drive PAN-OS.

Issue 15 item 1: ``set`` lines egressctl never sends (``send_config_set``), netmiko's ``commit()``, the
running configuration read back in PAN-OS's default hierarchical form and in set form on request, a
keyword the schema does not have refused, and the operational shows parsed by ntc-templates (netmiko's
``use_textfsm`` and ``ntc_templates.parse.parse_output``). The emulator runs in a thread on 127.0.0.1 (ports
28010-28019, lab prefix ``h12``); no namespaces. netmiko's PAN-OS class spends >= 2 s in every config-mode
check, so the calls that enter configure mode are few.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.paloalto_panos import PanDevice
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import threaded_emulator
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException
from ntc_templates.parse import parse_output

pytestmark = pytest.mark.ssh

PASSWORD = "h12-Pan-pw"
SPEC = DeviceSpec(name="h12-fw-a", hostname="fw-a", username="admin", password=PASSWORD,
                  interfaces={"ethernet1/1": "h12-no-such-1", "ethernet1/2": "h12-no-such-2"},
                  zones={"trust": ["ethernet1/2"], "untrust": ["ethernet1/1"]},
                  options={"commit_seconds": "1"})
ERRORS = r"Invalid syntax|Server error|Unknown command"
LINES = [
    "set network vlan vlan10 interface [ ethernet1/3 ethernet1/4 ]",
    "set network vlan vlan10 virtual-interface interface vlan.10",
    "set network virtual-router default interface [ ethernet1/1 ethernet1/2 ]",
    "set deviceconfig system dns-setting servers primary 192.0.2.53",
    "set shared log-settings syslog corp server s1 server 192.0.2.10 transport UDP port 514 format BSD",
    "set zone trust enable-user-identification yes",
]


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with threaded_emulator("paloalto_panos", SPEC, 28010, tmp_path_factory.mktemp("h12p"),
                           key_name="h12-fw-a", time_scale=0.1) as running:
        yield running


@pytest.fixture
def conn(emu: RunningEmulator) -> Iterator[Any]:
    handle = ConnectHandler(device_type="paloalto_panos", host="127.0.0.1", port=emu.port, username="admin",
                            password=PASSWORD, conn_timeout=10, timeout=20)
    try:
        yield handle
    finally:
        handle.disconnect()


def test_lines_egressctl_never_sends_are_committed_and_shown(emu: RunningEmulator, conn: Any) -> None:
    conn.send_config_set(LINES, error_pattern=ERRORS)
    assert "configuration committed successfully" in conn.commit().lower()
    running = cast(PanDevice, emu.device).running
    assert emu.call(lambda: running.extra["network"]["vlan"])  # type: ignore[index]
    braces = conn.send_command("show config running")
    assert "  vlan {\n    vlan10 {\n      interface [ ethernet1/3 ethernet1/4 ];\n" in braces
    assert "        primary 192.0.2.53;\n" in braces
    conn.send_command("set cli config-output-format set")
    assert conn.send_command("show config running | match vlan10").strip() == (
        "set network vlan vlan10 interface [ ethernet1/3 ethernet1/4 ]\n"
        "set network vlan vlan10 virtual-interface interface vlan.10")
    with pytest.raises(ConfigInvalidException, match="set network vlna"):
        conn.send_config_set(["set network vlna vlan20"], error_pattern=ERRORS)


def test_operational_shows_parse_with_ntc_templates(conn: Any) -> None:
    info = conn.send_command("show system info", use_textfsm=True)
    assert info[0]["hostname"] == "fw-a" and info[0]["operational_mode"] == "normal"
    rows = parse_output(platform="paloalto_panos", command="show interface all",
                        data=conn.send_command("show interface all"))
    logical = {r["interface"]: r for r in rows if r["vsys"]}
    assert logical["ethernet1/2"]["zone"] == "trust" and logical["ethernet1/1"]["forwarding"] == "vr:default"
    assert "vlan10" in conn.send_command("show vlan all")
