"""The closet behind the emulated Catalyst switch (cisco_ios, spec option ``switch``), as the kit's data.

``h13-in`` (10.78.1.2, fd78:1::2: a workstation, and the server the NOC manages on tcp 22) -- ``h13-sw`` (the
switch: ``vl10`` = interface Vlan10, the SVI of the closet's VLAN; ``gi48`` = GigabitEthernet1/0/48, the
routed uplink; it also answers tcp 22 on its own addresses, standing for its SSH) -- ``h13-up`` (10.78.2.2,
fd78:2::2: beyond the uplink). The IOS emulator listens on the switch namespace's loopback (the out-of-band
management port). The namespaces, servers, emulator process and clean-up are
:mod:`tests.support.device_netns`'s; the spec is shared with ``test_switch_cli_lab.py``.
"""

from __future__ import annotations

from tests.support.device_netns import DeviceNet

UPLINK_PORT = "GigabitEthernet1/0/48"
SPEC = {"interfaces": {"Vlan10": "vl10", UPLINK_PORT: "gi48", "GigabitEthernet1/0/1": "",
                       "GigabitEthernet1/0/2": ""},
        "options": {"switch": "true", "routed": UPLINK_PORT, "description:GigabitEthernet1/0/48": "uplink"}}
SCALE = 0.1  # one device minute = 6 s
CLOSET = DeviceNet(prefix="h13", role="sw", platform="cisco_ios", lan_port="vl10", wan_port="gi48",
                   spec={"name": "sw-h13", "hostname": "sw-h13", "username": "admin", **SPEC},
                   probes={"noc-ssh": ("up", "10.78.1.2", 22), "closet-ops": ("in", "10.78.1.1", 22)},
                   ssh_on=("in", "dev"), time_scale=SCALE)
