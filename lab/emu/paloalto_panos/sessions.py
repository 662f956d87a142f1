"""PAN-OS sessions: ``show session all [filter ...]``, ``clear session id|all``, and Rematch Sessions.

Rematch Sessions (``deviceconfig setting session rematch-sessions``, on by default; PAN-OS admin guide,
Device > Setup > Session) applies a commit's new or edited security rules to existing sessions: a session
the new rulebase denies is ended. With it off, sessions established before the commit stay. Sessions to
the firewall through the management port are not dataplane sessions and are never listed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING

from egressctl_lab.emu.fortinet.nftrules import matches_flow
from egressctl_lab.emu.paloalto_panos import constants as C
from egressctl_lab.emu.paloalto_panos.compile import rule_match
from egressctl_lab.emu.paloalto_panos.edit import CliError, syntax
from egressctl_lab.emu.paloalto_panos.model import PanConfig
from egressctl_lab.emu.sessions import Crossing, Flow, SessionTable, crossings, delete_all, prune

if TYPE_CHECKING:
    from egressctl_lab.emu.paloalto_panos.device import PanDevice

NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "sctp": "132"}
STATES = {"SYN_SENT": "OPENING", "SYN_RECV": "OPENING", "FIN_WAIT": "CLOSING", "CLOSE_WAIT": "CLOSING",
          "LAST_ACK": "CLOSING"}


def zone_of(cfg: PanConfig, kernel: Mapping[str, str], iface: str | None) -> str | None:
    """The zone a kernel interface is in (None: no zone, e.g. the management port)."""
    for zone, ifaces in cfg.zones.items():
        if iface is not None and iface in (kernel.get(i, i) for i in ifaces):
            return zone
    return None


def allows(cfg: PanConfig, kernel: Mapping[str, str], flow: Flow, iif: str, oif: str) -> bool:
    """The rulebase's verdict on ``flow`` (first enabled rule; then intrazone allow, interzone deny)."""
    for name, rule in cfg.rules.items():
        if rule.get("disabled") != "yes":
            match = rule_match(cfg, name, rule, kernel)
            if match.services and matches_flow(match, flow, iif, oif):
                return match.verdict == "accept"
    zone = zone_of(cfg, kernel, iif)
    return zone is not None and zone == zone_of(cfg, kernel, oif)


def rematch(table: SessionTable, cfg: PanConfig, kernel: Mapping[str, str]) -> int:
    """After a commit: end the sessions the new rulebase denies, unless rematch is off."""
    if cfg.session.get("rematch-sessions", "yes") == "no":
        return 0

    def keep(c: Crossing) -> bool:
        assert c.iif is not None and c.oif is not None
        return allows(cfg, kernel, c.flow, c.iif, c.oif)

    return prune(table, list(kernel.values()), keep)


def _rows(device: PanDevice) -> list[tuple[int, Crossing, str, str]]:
    """(session id, session, source zone, destination zone) of every dataplane session."""
    cfg, kernel, now = device.running, device.spec.interfaces, device.clock.now()
    out = []
    for c in crossings(device.dataplane.sessions):
        szone = zone_of(cfg, kernel, c.iif)
        if szone is None:
            continue
        dzone = zone_of(cfg, kernel, c.oif) if c.oif is not None else szone
        out.append((device.session_ids.of(c.flow, now), c, szone, dzone or szone))
    return out


def _filters(args: list[str]) -> dict[str, str]:
    if not args:
        return {}
    if args[0] != "filter" or len(args) % 2 == 0 or len(args) < 3:
        raise syntax()
    pairs = dict(zip(args[1::2], args[2::2], strict=True))
    if any(k not in C.SESSION_FILTERS for k in pairs):
        raise syntax()
    return pairs


def _address_in(text: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(text) in ipaddress.ip_network(wanted, strict=False)
    except ValueError as exc:
        raise syntax() from exc


def _matches(row: tuple[int, Crossing, str, str], f: dict[str, str]) -> bool:
    _, c, szone, dzone = row
    flow = c.flow
    plain = {"from": szone, "to": dzone, "source-port": str(flow.sport), "destination-port": str(flow.dport),
             "protocol": NUMBERS.get(flow.proto, flow.proto), "state": _state(flow),
             "application": _app(flow)}
    for key, value in f.items():
        if key in ("source", "destination"):
            if not _address_in(flow.src if key == "source" else flow.dst, value):
                return False
        elif plain[key].lower() != value.lower():
            return False
    return True


def _state(flow: Flow) -> str:
    return STATES.get(flow.state, "ACTIVE") if flow.proto == "tcp" else "ACTIVE"


def _app(flow: Flow) -> str:
    for app, services in C.APPLICATIONS.items():
        port = str(flow.dport)
        if app != "any" and any(p == flow.proto and port in ports.split(",") for p, ports in services):
            return app
    return {"tcp": "unknown-tcp", "udp": "unknown-udp", "icmp": "icmp", "icmpv6": "ipv6-icmp"}.get(
        flow.proto, "unknown-p2p")


def show(device: PanDevice, args: list[str]) -> list[str]:
    """``show session all [filter K V ...]``."""
    if args[:1] != ["all"]:
        raise syntax()
    chosen = [r for r in _rows(device) if _matches(r, _filters(args[1:]))]
    if not chosen:
        return [C.NO_SESSIONS]
    lines = C.SESSION_HEADER.splitlines()
    for sid, c, szone, dzone in chosen:
        f = c.flow
        lines.append(C.SESSION_ROW.format(id=sid, app=_app(f), state=_state(f), type="FLOW", flag="",
                                          src=f.src, sport=f.sport or 0, szone=szone,
                                          proto=NUMBERS.get(f.proto, f.proto)))
        lines.append(C.SESSION_ROW2.format(vsys="vsys1", dst=f.dst, dport=f.dport or 0, dzone=dzone))
    return lines


def clear(device: PanDevice, args: list[str]) -> list[str]:
    """``clear session id N`` / ``clear session all [filter K V ...]``."""
    table = device.dataplane.sessions
    if len(args) == 2 and args[0] == "id" and args[1].isdigit():
        found = [r for r in _rows(device) if r[0] == int(args[1])]
        if not found or not table.delete(found[0][1].flow):
            raise CliError(C.SESSION_NOT_FOUND.format(id=args[1]))
        return [C.SESSION_CLEARED.format(id=args[1])]
    if args[:1] != ["all"]:
        raise syntax()
    chosen = [r for r in _rows(device) if _matches(r, _filters(args[1:]))]
    return [C.SESSIONS_CLEARED.format(n=delete_all(table, [r[1].flow for r in chosen]))]
