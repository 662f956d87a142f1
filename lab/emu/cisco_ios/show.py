"""IOS ``show version`` and ``show interfaces``, shaped after IOSv captures so ntc-templates parse them.

The layout follows IOSv 15.x output as captured in ntc-templates' test data (``tests/cisco_ios/show_version``,
``tests/cisco_ios/show_interfaces``); MAC addresses, MTU and packet counters come from the kernel interface
behind each IOS interface, so they move with the lab's traffic.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import TYPE_CHECKING, Any

from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios.model import Config, Interface
from egressctl_lab.emu.cisco_ios.render import interface_address
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor

if TYPE_CHECKING:
    from egressctl_lab.emu.cisco_ios.device import IosDevice


def uptime(seconds: float) -> str:
    """IOS's uptime wording: ``1 week, 3 days, 16 hours, 11 minutes`` (zero units left out)."""
    minutes = int(seconds // 60)
    units = [("year", 525600), ("week", 10080), ("day", 1440), ("hour", 60), ("minute", 1)]
    parts: list[str] = []
    for name, size in units:
        count, minutes = divmod(minutes, size)
        if count or (name == "minute" and not parts):
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return ", ".join(parts)


def version(dev: IosDevice) -> str:
    """``show version``."""
    ports = sum(1 for i in dev.running.interfaces.values() if not i.virtual)
    serial = "9" + "".join(f"{ord(ch) % 36:X}" for ch in dev.spec.name)[:10].upper()
    return c.VERSION_BODY.format(version=c.VERSION, hostname=dev.running.hostname, serial=serial,
                                 uptime=uptime(dev.clock.now() - dev.booted), ports=ports)


def interfaces(cfg: Config, cur: Cursor) -> str:
    """``show interfaces [NAME]``."""
    chosen = list(cfg.interfaces.values())
    if cur.more():
        tok = cur.word()
        text = tok.text + (cur.word().text if cur.more() else "")
        chosen = [i for i in chosen if _abbreviates(text, i.name)]
        if not chosen:
            raise CliError("invalid", tok.pos)
    cur.end()
    return "".join(_one(itf) for itf in chosen)


def _abbreviates(text: str, name: str) -> bool:
    kind = text.rstrip("0123456789/.:")
    known = name.rstrip("0123456789/.:")
    return bool(kind) and known.lower().startswith(kind.lower()) and name[len(known):] == text[len(kind):]


def link_info(kernel: str) -> dict[str, Any]:
    """The kernel's view of an interface (``ip -s -j link``): MAC, MTU, state, counters; {} if absent."""
    if not kernel:
        return {}
    try:
        out = subprocess.run(["ip", "-s", "-j", "link", "show", "dev", kernel], capture_output=True,
                             text=True, timeout=5, check=False).stdout
        info = json.loads(out or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    return info[0] if info else {}


def carrier(cfg: Config) -> dict[str, bool]:
    """Interface name -> whether its kernel interface has carrier (``LOWER_UP``); False without one."""
    return {i.name: "LOWER_UP" in link_info(i.kernel).get("flags", []) for i in cfg.interfaces.values()}


def _cisco_mac(mac: str) -> str:
    digits = mac.replace(":", "").lower() or "525400000000"
    return ".".join(digits[i:i + 4] for i in range(0, 12, 4))


def _one(itf: Interface) -> str:
    info = link_info(itf.kernel)
    up = not itf.shutdown and (itf.virtual or "UP" in info.get("flags", ["UP"]))
    status = "administratively down" if itf.shutdown else ("up" if up else "down")
    mac = _cisco_mac(info.get("address", ""))
    stats = info.get("stats64", {})
    rx, tx = stats.get("rx", {}), stats.get("tx", {})
    lines = [f"{itf.name} is {status}, line protocol is {'up' if up else 'down'} "]
    if itf.name.startswith("Loopback"):
        lines.append("  Hardware is Loopback")
    else:
        lines.append(f"  Hardware is iGbE, address is {mac} (bia {mac})")
    if itf.description:
        lines.append(f"  Description: {itf.description}")
    addr = interface_address(itf)
    if addr:
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{addr[1]}").prefixlen
        lines.append(f"  Internet address is {addr[0]}/{prefix}")
    mtu = info.get("mtu", 1500) if not itf.name.startswith("Loopback") else 1514
    lines += [
        f"  MTU {mtu} bytes, BW 1000000 Kbit/sec, DLY 10 usec,",
        "     reliability 255/255, txload 1/255, rxload 1/255",
        "  Encapsulation ARPA, loopback not set" if not itf.name.startswith("Loopback")
        else "  Encapsulation LOOPBACK, loopback not set",
        "  Keepalive set (10 sec)",
        "  Full Duplex, Auto Speed, link type is auto, media type is RJ45",
        "  output flow-control is unsupported, input flow-control is unsupported",
        "  ARP type: ARPA, ARP Timeout 04:00:00",
        "  Last input 00:00:00, output 00:00:00, output hang never",
        '  Last clearing of "show interface" counters never',
        "  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0",
        "  Queueing strategy: fifo",
        "  Output queue: 0/40 (size/max)",
        "  5 minute input rate 0 bits/sec, 0 packets/sec",
        "  5 minute output rate 0 bits/sec, 0 packets/sec",
        f"     {rx.get('packets', 0)} packets input, {rx.get('bytes', 0)} bytes, 0 no buffer",
        f"     Received {rx.get('multicast', 0)} broadcasts (0 IP multicasts)",
        "     0 runts, 0 giants, 0 throttles",
        f"     {rx.get('errors', 0)} input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored",
        "     0 watchdog, 0 multicast, 0 pause input",
        f"     {tx.get('packets', 0)} packets output, {tx.get('bytes', 0)} bytes, 0 underruns",
        f"     {tx.get('errors', 0)} output errors, 0 collisions, 1 interface resets",
        "     0 unknown protocol drops",
        "     0 babbles, 0 late collision, 0 deferred",
        "     0 lost carrier, 0 no carrier, 0 pause output",
        "     0 output buffer failures, 0 output buffers swapped out",
    ]
    return "\n".join(lines) + "\n"
