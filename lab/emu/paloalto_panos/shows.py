"""PAN-OS ``show interface all`` and ``show vlan all``, from the running configuration and the kernel.

``show interface all`` follows the capture ntc-templates' ``paloalto_panos_show_interface_all`` template
is tested with (``tests/paloalto_panos/show_interface_all/*.raw``: hardware table, then logical table with
vsys, zone, forwarding, tag and address). A port's state and MAC come from the kernel interface it stands
for; its address from ``network interface ethernet ... layer3 ip`` when set, else the kernel's. Interface
ids follow the capture (``ethernet1/N`` is ``15 + N``). The layout of ``show vlan all`` is not from a
capture [M].
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from egressctl_lab.emu.fortinet.showget import kernel_link
from egressctl_lab.emu.paloalto_panos import constants as C
from egressctl_lab.emu.paloalto_panos.model import PanConfig, Tree, tree

if TYPE_CHECKING:
    from egressctl_lab.emu.paloalto_panos.device import PanDevice

_RULE = "-" * 80
_LOGICAL_RULE = " ".join("-" * n for n in (19, 5, 4, 16, 24, 6, 18))


def _ports(device: PanDevice) -> list[str]:
    return [name for name in device.spec.interfaces if name.startswith(("ethernet", "ae"))] or ["ethernet1/1",
                                                                                               "ethernet1/2"]


def _if_id(name: str) -> int:
    tail = name.rsplit("/", 1)[-1]
    return 15 + int(tail) if tail.isdigit() else 64


def _node(tree: Tree, *path: str) -> Tree:
    node: object = tree
    for part in path:
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _members(value: object) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value] if isinstance(value, list) else []


def _address(link: dict[str, Any], configured: list[str]) -> list[str]:
    if configured:
        return configured
    for a in link.get("addr_info", []):
        if isinstance(a, dict) and a.get("family") == "inet" and a.get("scope") == "global":
            return [f"{a['local']}/{a['prefixlen']}"]
    return ["N/A"]


def interface_all(device: PanDevice) -> list[str]:
    """``show interface all``."""
    cfg = device.running
    ports = _ports(device)
    links = {name: kernel_link(device.spec.interfaces.get(name, "")) for name in ports}
    lines = [f"total configured hardware interfaces: {len(ports)}",
             f"{'name':<24}{'id':<6}{'speed/duplex/state/fec':<30}mac address", _RULE]
    for name in ports:
        link = links[name]
        state = "up" if link.get("operstate", "UP") in ("UP", "UNKNOWN") else "down"
        mac = str(link.get("address") or "00:50:56:00:00:00")
        lines.append(f"{name:<24}{_if_id(name):<6}{f'10000/full/{state}/auto':<30}{mac}")
    lines += ["", "aggregation groups: 0", "", "",
              f"total configured logical interfaces: {len(ports)}", "",
              f"{'name':<26}{'id':<6}{'vsys':<5}{'zone':<17}{'forwarding':<25}{'tag':<7}address", "",
              _LOGICAL_RULE]
    zone_of = {i: z for z, ifs in cfg.zones.items() for i in ifs}
    routers = _node(cfg.extra, "network", "virtual-router")
    for name in ports:
        vr = next((r for r, body in routers.items() if isinstance(body, dict)
                   and name in _members(body.get("interface"))), None)
        ip = _members(_node(cfg.extra, "network", "interface", "ethernet", name, "layer3").get("ip"))
        addresses = _address(links[name], ip)
        forwarding = f"vr:{vr}" if vr else "N/A"
        lines.append(f"{name:<26}{_if_id(name):<6}{1:<5}{zone_of.get(name, ''):<17}{forwarding:<25}{0:<7}"
                     f"{addresses[0]}")
        lines += [" " * 80 + extra for extra in addresses[1:]]
    return lines


def vlan_all(cfg: PanConfig) -> list[str]:
    """``show vlan all`` [M]: each VLAN with its member interfaces and its virtual interface."""
    vlans = _node(cfg.extra, "network", "vlan")
    lines = [f"total vlans shown: {len(vlans)}", "", f"{'name':<24}{'virtual interface':<20}interfaces",
             f"{'-' * 23} {'-' * 19} {'-' * 36}"]
    for name, body in vlans.items():
        node = body if isinstance(body, dict) else {}
        vif = _members(_node(node, "virtual-interface").get("interface")) or ["N/A"]
        members = " ".join(_members(node.get("interface"))) or "N/A"
        lines.append(f"{name:<24}{vif[0]:<20}{members}")
    return lines


def system_info(device: PanDevice) -> list[str]:
    """``show system info``; management address, mask and gateway as ``deviceconfig system`` sets them."""
    system = _node(tree(device.running), "deviceconfig", "system")

    def value(name: str, default: str) -> str:
        found = system.get(name)
        return found if isinstance(found, str) else default

    now = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(device.clock.now()))
    mgmt = value("ip-address", device.spec.options.get("mgmt_address", "10.99.0.1"))
    return C.SYSTEM_INFO.format(host=device.spec.hostname, mgmt=mgmt, time=now, version=C.SW_VERSION,
                                netmask=value("netmask", "255.255.255.0"),
                                gateway=value("default-gateway", "unknown"), blank=" ").splitlines()
