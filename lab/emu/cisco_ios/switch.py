"""The Catalyst switch personality of the IOS emulator (spec option ``switch``: ``true``).

A Catalyst access or distribution switch runs the same IOS CLI as the router, plus Layer 2: physical ports
are switch ports by default (``switchport``; ``no switchport`` makes a routed port), VLANs live in the
``vlan N`` / ``name X`` database, and ``interface VlanN`` is the VLAN's routed interface (SVI), where
``ip access-group NAME in|out`` filters routed traffic (Catalyst 9300 Security Configuration Guide, "Router
ACLs" on SVIs and Layer 3 interfaces). In the lab, an SVI and a routed port each stand for a kernel
interface of the emulator's namespace, so ACLs on them and ``shutdown`` of them act on real packets (see
:mod:`.compile`); Layer 2 ports carry no lab traffic and are shown, not forwarded.

The spec's option ``routed`` lists (comma-separated) the physical ports that start as routed ports (the
uplink); SVIs named in the spec get their ``vlan N`` in the baseline database. ``show vlan brief`` and
``show interfaces status`` follow the Catalyst layout that ntc-templates' ``cisco_ios_show_vlan`` and
``cisco_ios_show_interfaces_status`` parse (column widths from their test captures) [M: no capture of this
exact model was compared line by line].
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from egressctl_lab.emu.cisco_ios.generic import Block
from egressctl_lab.emu.cisco_ios.model import Config, Interface
from egressctl_lab.emu.cisco_ios.tokens import Cursor

if TYPE_CHECKING:
    from egressctl_lab.emu.base import DeviceSpec

SVI_RE = re.compile(r"^Vlan(\d+)$")
#: VLANs every Catalyst lists after the configured ones (the legacy FDDI/Token Ring defaults).
DEFAULT_VLANS = ((1002, "fddi-default"), (1003, "token-ring-default"), (1004, "fddinet-default"),
                 (1005, "trnet-default"))
SHORT = {"GigabitEthernet": "Gi", "TenGigabitEthernet": "Te", "FastEthernet": "Fa", "Ethernet": "Et",
         "Port-channel": "Po", "TwentyFiveGigE": "Twe", "FortyGigabitEthernet": "Fo"}
PORT_TYPE = "10/100/1000BaseTX"


def enabled(spec: DeviceSpec) -> bool:
    """Whether the spec asks for the switch personality."""
    return spec.options.get("switch", "").lower() in ("1", "true", "yes")


def apply_baseline(cfg: Config, spec: DeviceSpec) -> None:
    """Physical ports become switch ports (routed ones as the spec says); SVIs' VLANs exist."""
    routed = {n.strip() for n in spec.options.get("routed", "").split(",") if n.strip()}
    for itf in cfg.interfaces.values():
        if SVI_RE.match(itf.name) is None:
            itf.layer2 = itf.name not in routed
    vids = sorted(int(m.group(1)) for n in cfg.interfaces if (m := SVI_RE.match(n)) and m.group(1) != "1")
    at = next((i for i, b in enumerate(cfg.extra) if b.words()[:1] == ("username",)), len(cfg.extra)) + 1
    cfg.extra[at:at] = [Block(f"vlan {v}") for v in vids]


def short(name: str) -> str:
    """``GigabitEthernet1/0/48`` -> ``Gi1/0/48`` (the port column of switch tables)."""
    kind = name.rstrip("0123456789/.:")
    return SHORT.get(kind, kind[:2]) + name[len(kind):]


def access_vlan(itf: Interface) -> str:
    """The Vlan column: ``routed``, ``trunk`` or the access VLAN (1 by default)."""
    if not itf.layer2:
        return "routed"
    words = [ln.split() for ln in itf.extra]
    if ["switchport", "mode", "trunk"] in words:
        return "trunk"
    found = [w[3] for w in words if w[:3] == ["switchport", "access", "vlan"] and len(w) > 3]
    return found[-1] if found else "1"


def _vlans(cfg: Config) -> dict[int, str]:
    """VLAN ID -> name from the ``vlan N`` blocks (``VLAN00NN`` when unnamed), VLAN 1 always."""
    out = {1: "default"}
    for block in cfg.extra:
        words = block.line.split()
        if words[:1] == ["vlan"] and len(words) == 2 and words[1].isdigit():
            names = [c.split(None, 1)[1] for c in block.children if c.startswith("name ") and " " in c]
            out[int(words[1])] = names[-1] if names else f"VLAN{int(words[1]):04d}"
    return dict(sorted(out.items()))


def show_vlan_brief(cfg: Config) -> str:
    """``show vlan brief``: each VLAN with the access ports in it (trunks and routed ports are not)."""
    members: dict[str, list[str]] = {}
    for itf in cfg.interfaces.values():
        if itf.layer2:
            members.setdefault(access_vlan(itf), []).append(short(itf.name))
    lines = ["", "VLAN Name                             Status    Ports",
             "---- -------------------------------- --------- -------------------------------"]
    for vid, name in [*_vlans(cfg).items(), *DEFAULT_VLANS]:
        status = "act/unsup" if vid >= 1002 else "active"
        ports = members.get(str(vid), [])
        chunks = [", ".join(ports[i:i + 4]) for i in range(0, len(ports), 4)] or [""]
        lines.append(f"{vid:<4} {name[:32]:<32} {status:<9} {chunks[0]}".rstrip())
        lines += [" " * 48 + chunk for chunk in chunks[1:]]
    return "\n".join(lines) + "\n"


def show_vlan(cfg: Config) -> str:
    """``show vlan``: the brief table, then each VLAN's type, SAID (100000 + ID) and MTU.

    [M] Trimmed to the first type table; the Token Ring and remote SPAN sections are left out.
    """
    lines = ["", "VLAN Type  SAID       MTU   Parent RingNo BridgeNo Stp  BrdgMode Trans1 Trans2",
             "---- ----- ---------- ----- ------ ------ -------- ---- -------- ------ ------"]
    for vid, _ in [*_vlans(cfg).items(), *DEFAULT_VLANS]:
        kind = {1002: "fddi", 1003: "tr", 1004: "fdnet", 1005: "trnet"}.get(vid, "enet")
        tail = "1500  -      -      -        -    -        0      0"
        lines.append(f"{vid:<4} {kind:<5} {100000 + vid:<10} {tail}")
    return show_vlan_brief(cfg) + "\n".join(lines) + "\n"


def show_interfaces_status(cfg: Config, link_up: dict[str, bool]) -> str:
    """``show interfaces status``: the physical ports (``link_up``: kernel carrier per interface name)."""
    lines = ["", "Port      Name               Status       Vlan       Duplex  Speed Type"]
    for itf in cfg.interfaces.values():
        if itf.layer2 is None or itf.virtual:
            continue
        status = "disabled" if itf.shutdown else ("connected" if link_up.get(itf.name) else "notconnect")
        duplex, speed = ("a-full", "a-1000") if status == "connected" else ("auto", "auto")
        lines.append(f"{short(itf.name):<9} {itf.description[:18]:<18} {status:<12} {access_vlan(itf):<10} "
                     f"{duplex:>6} {speed:>6} {PORT_TYPE}")
    return "\n".join(lines) + "\n"


def status_asked(cur: Cursor) -> bool:
    """Whether the rest of ``show interfaces ...`` is ``status``; consumed when it is."""
    tok = cur.peek()
    if tok is None or len(tok.text) < 2 or not "status".startswith(tok.text.lower()):
        return False
    cur.word()
    cur.end()
    return True
