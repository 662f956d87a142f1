"""The SRX's interfaces: the factory ``interfaces`` stanza, ``show interfaces [terse]``.

The stanza is written at boot from the lab's kernel interfaces (each vendor name ``ge-0/0/1.0`` is unit 0 of
``ge-0/0/1``, with the kernel interface's IPv4 and IPv6 addresses), so ``show configuration`` has the
``interfaces`` stanza a real box has. The show commands read the *active* configuration (addresses,
descriptions, ``disable``) and the kernel (MAC, counters, link state), laid out after SRX captures in
ntc-templates' test data (``tests/juniper_junos/show_interfaces``) and the Junos CLI reference's ``show
interfaces terse`` example.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Any

from egressctl_lab.emu.juniper_junos.tree import Tree


def kernel_link(kernel: str) -> dict[str, Any]:
    """``ip -s -j addr`` of one kernel interface ({} when it does not exist here)."""
    info: list[dict[str, Any]] = []
    for args in (["addr"], ["-s", "link"]):
        try:
            out = subprocess.run(["ip", "-j", *args, "show", "dev", kernel], capture_output=True, text=True,
                                 timeout=5, check=False).stdout
            info.append((json.loads(out or "[]") or [{}])[0])
        except (OSError, subprocess.TimeoutExpired, ValueError):
            info.append({})
    return {**info[0], **info[1]}


def stanza(kernel_names: dict[str, str]) -> Tree:
    """The factory ``interfaces`` stanza: unit and addresses of every lab interface."""
    out: Tree = {}
    for vendor, kernel in kernel_names.items():
        physical, _, unit = vendor.partition(".")
        family: Tree = {}
        for a in kernel_link(kernel).get("addr_info", []):
            if a.get("scope") != "global":
                continue
            key = "inet" if a["family"] == "inet" else "inet6"
            family.setdefault(key, {"address": {}})["address"][f"{a['local']}/{a['prefixlen']}"] = {}
        entry = out.setdefault(physical, {})
        entry.setdefault("unit", {})[unit or "0"] = {"family": family or {"inet": {}}}
    return out


def _units(config: Tree, kernel_names: dict[str, str]) -> list[tuple[str, str, Tree, Tree]]:
    """(physical, kernel, physical node, {unit: node}) for every configured or lab interface."""
    itfs = config.get("interfaces", {})
    names = list(dict.fromkeys([*(v.partition(".")[0] for v in kernel_names), *itfs]))
    out = []
    for phys in names:
        kernel = next((k for v, k in kernel_names.items() if v.partition(".")[0] == phys), "")
        node = itfs.get(phys, {})
        out.append((phys, kernel, node, node.get("unit", {})))
    return out


def _addresses(unit: Tree, family: str) -> list[str]:
    return list(unit.get("family", {}).get(family, {}).get("address", {}))


def terse(config: Tree, kernel_names: dict[str, str]) -> str:
    """``show interfaces terse``."""
    lines = [f"{'Interface':<24}{'Admin':<6}{'Link':<5}{'Proto':<9}{'Local':<22}Remote"]
    for phys, kernel, node, units in _units(config, kernel_names):
        admin = "down" if "disable" in node else "up"
        link = "up" if _link_up(kernel) and admin == "up" else "down"
        lines.append(f"{phys:<24}{admin:<6}{link}")
        for unit_name, unit in units.items():
            head = f"{phys}.{unit_name}"
            fams = [(f, a) for f in ("inet", "inet6") for a in _addresses(unit, f) or
                    ([""] if f in unit.get("family", {}) else [])]
            first = True
            for fam, addr in fams or [("", "")]:
                prefix = f"{head:<24}{admin:<6}{link:<5}" if first else " " * 35
                lines.append(f"{prefix}{fam:<9}{addr}".rstrip())
                first = False
    return "\n".join(lines) + "\n"


def _link_up(kernel: str) -> bool:
    flags = kernel_link(kernel).get("flags", ["UP"]) if kernel else ["UP"]
    return "UP" in flags


def detail(config: Tree, kernel_names: dict[str, str], only: str | None) -> str:
    """``show interfaces [NAME]``: physical interfaces and their logical units."""
    blocks = []
    for index, (phys, kernel, node, units) in enumerate(_units(config, kernel_names)):
        if only is not None and only not in (phys, *(f"{phys}.{u}" for u in units)):
            continue
        blocks.append(_physical(index, phys, kernel, node, units))
    return "\n".join(blocks)


def _physical(index: int, phys: str, kernel: str, node: Tree, units: Tree) -> str:
    info = kernel_link(kernel) if kernel else {}
    enabled = "Administratively down" if "disable" in node else "Enabled"
    up = _link_up(kernel) and "disable" not in node
    mac = info.get("address", f"52:54:00:00:00:{index:02x}")
    mtu = int(info.get("mtu", 1500)) + 14
    stats = info.get("stats64", {})
    lines = [
        f"Physical interface: {phys}, {enabled}, Physical link is {'Up' if up else 'Down'}",
        f"  Interface index: {136 + index}, SNMP ifIndex: {507 + index}",
    ]
    if "description" in node:
        lines.append(f"  Description: {node['description']}")
    lines += [
        f"  Link-level type: Ethernet, MTU: {mtu}, LAN-PHY mode, Link-mode: Full-duplex, Speed: 1000mbps, "
        "BPDU Error: None, Loop Detect PDU Error: None, Ethernet-Switching Error: None, MAC-REWRITE Error: "
        "None, Loopback: Disabled, Source filtering: Disabled, Flow control: Enabled, Auto-negotiation: "
        "Enabled, Remote fault: Online",
        "  Device flags   : Present Running",
        "  Interface flags: SNMP-Traps Internal: 0x4000",
        "  Link flags     : None",
        "  CoS queues     : 8 supported, 8 maximum usable queues",
        f"  Current address: {mac}, Hardware address: {mac}",
        "  Last flapped   : Never",
        "  Input rate     : 0 bps (0 pps)",
        "  Output rate    : 0 bps (0 pps)",
        "  Active alarms  : None",
        "  Active defects : None",
        "  Interface transmit statistics: Disabled",
    ]
    for offset, (unit_name, unit) in enumerate(units.items()):
        lines += ["", *_logical(f"{phys}.{unit_name}", 70 + index * 4 + offset, unit, stats)]
    return "\n".join(lines) + "\n"


def _logical(name: str, index: int, unit: Tree, stats: dict[str, Any]) -> list[str]:
    rx, tx = stats.get("rx", {}), stats.get("tx", {})
    lines = [
        f"  Logical interface {name} (Index {index}) (SNMP ifIndex {index + 450})",
        "    Flags: Up SNMP-Traps 0x4000 Encapsulation: ENET2",
        f"    Input packets : {rx.get('packets', 0)}",
        f"    Output packets: {tx.get('packets', 0)}",
    ]
    for family in ("inet", "inet6"):
        if family not in unit.get("family", {}):
            continue
        lines += [f"    Protocol {family}, MTU: 1500", "      Flags: Sendbcast-pkt-to-re"]
        for addr in _addresses(unit, family):
            net = ipaddress.ip_interface(addr)
            tail = f", Broadcast: {net.network.broadcast_address}" if family == "inet" else ""
            lines += ["      Addresses, Flags: Is-Preferred Is-Primary",
                      f"        Destination: {net.network}, Local: {net.ip}{tail}"]
    return lines
