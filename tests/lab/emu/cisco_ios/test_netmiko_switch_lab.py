"""cisco_ios Catalyst switch personality driven by netmiko's own ``cisco_ios`` class, as switch users do.

VLANs, access and trunk ports, a routed uplink and an SVI's ACL configured with ``send_config_set``, saved
with ``save_config``; ``show vlan brief``, ``show interfaces status`` and ``show ip interface brief`` parsed
by netmiko's ``use_textfsm`` (ntc-templates). The emulator runs in a thread on 127.0.0.1 (port 28060, prefix
``h13``); no namespaces, no data plane.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.testing.emulator import threaded_emulator
from netmiko import ConnectHandler

pytestmark = pytest.mark.ssh

PASSWORD = "h13-Sw-pw"
SPEC = DeviceSpec(
    name="h13-sw-n", hostname="sw-h13", username="admin", password=PASSWORD,
    interfaces={"Vlan10": "h13-no-such-v", "GigabitEthernet1/0/1": "", "GigabitEthernet1/0/2": "",
                "GigabitEthernet1/0/48": "h13-no-such-u"},
    options={"switch": "true", "routed": "GigabitEthernet1/0/48"},
)
ERRORS = r"% Invalid input|% Incomplete command|% Ambiguous command"


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with threaded_emulator("cisco_ios", SPEC, 28060, tmp_path_factory.mktemp("h13sw"), key_name="h13-sw-n",
                           time_scale=0.01) as running:
        handle = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=running.port,
                                username="admin", password=PASSWORD, fast_cli=True, conn_timeout=10)
        try:
            yield handle
        finally:
            handle.disconnect()


def test_switch_configuration_shown_parsed_and_saved(conn: Any) -> None:
    conn.send_config_set([
        "vlan 20", "name VOICE", "exit", "interface GigabitEthernet1/0/1", "switchport mode access",
        "switchport access vlan 20", "interface GigabitEthernet1/0/2", "switchport mode trunk",
        "switchport trunk allowed vlan 10,20", "ip access-list extended SITE", "permit ip any any",
        "interface Vlan10", "ip access-group SITE in", "interface GigabitEthernet1/0/48", "shutdown",
    ], error_pattern=ERRORS)
    vlans = {r["vlan_id"]: r for r in conn.send_command("show vlan brief", use_textfsm=True)}
    assert vlans["20"]["vlan_name"] == "VOICE" and vlans["20"]["interfaces"] == ["Gi1/0/1"]
    assert set(vlans) >= {"1", "10", "20", "1002", "1005"}
    ports = {r["port"]: r for r in conn.send_command("show interfaces status", use_textfsm=True)}
    assert ports["Gi1/0/2"]["vlan_id"] == "trunk" and ports["Gi1/0/48"]["vlan_id"] == "routed"
    assert ports["Gi1/0/48"]["status"] == "disabled" and ports["Gi1/0/1"]["vlan_id"] == "20"
    brief = {r["interface"]: r for r in conn.send_command("show ip interface brief", use_textfsm=True)}
    assert brief["GigabitEthernet1/0/48"]["status"] == "administratively down"
    assert "[OK]" in conn.save_config()
    startup = conn.send_command("show startup-config | section GigabitEthernet1/0/48|Vlan10")
    assert " no switchport" in startup and " shutdown" in startup and " ip access-group SITE in" in startup
    conn.send_config_set(["interface GigabitEthernet1/0/48", "no shutdown", "interface Vlan10",
                          "no ip access-group SITE in", "no ip access-list extended SITE"],
                         error_pattern=ERRORS)
    assert "shutdown" not in conn.send_command("show running-config | section GigabitEthernet1/0/48")
