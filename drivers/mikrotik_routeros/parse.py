"""Parse RouterOS ``export terse`` output back into egressctl's neutral rules (pure).

Input is ``/ip firewall filter export terse`` and ``/ipv6 firewall filter export terse``: one ``add`` line
per static rule, in list order, properties as ``key=value`` (quoted when they hold blanks or quotes). Owned
rules carry a comment starting ``egressctl``. The chain the ``egressctl jump`` rules point at is the one in
force; its ``passthrough`` rule's comment is the marker. Jumps that disagree (a change that stopped
half-way, a hand edit) read as target ``unknown``, so the planner re-applies.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from egressctl_drivers.common.state import atom_rule, build_state
from egressctl_drivers.mikrotik_routeros import constants as c

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange, Protocol
from egressctl.policy import Action, Rule

_ESC = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$", "_": " "}
_LINE = re.compile(r"^/(ip|ipv6) firewall filter add (.*)$")
_RULE_NAME = re.compile(r"^egressctl rule=(\S+)$")


class ParseError(ValueError):
    """An owned rule holds something egressctl never writes."""


def props(text: str) -> dict[str, str]:
    """``k=v k="v w"`` -> a dict (escapes applied)."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == " ":
            i += 1
        start = i
        while i < n and text[i] not in "= ":
            i += 1
        key = text[start:i]
        if i >= n or text[i] != "=":
            if key:
                out[key] = ""
            continue
        i += 1
        value: list[str] = []
        if i < n and text[i] == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    value.append(_ESC.get(text[i + 1], text[i + 1]))
                    i += 2
                    continue
                value.append(text[i])
                i += 1
            i += 1
        else:
            while i < n and text[i] != " ":
                value.append(text[i])
                i += 1
        out[key] = "".join(value)
    return out


def filters(raw: str) -> dict[int, list[dict[str, str]]]:
    """Family -> the filter rules of that family in ``raw``, in order."""
    out: dict[int, list[dict[str, str]]] = {4: [], 6: []}
    for line in raw.replace("\r", "").splitlines():
        m = _LINE.match(line.strip())
        if m:
            out[4 if m.group(1) == "ip" else 6].append(props(m.group(2)))
    return out


@dataclass
class Owned:
    """egressctl's objects in a read-back."""

    jumps: dict[int, dict[str, str]] = field(default_factory=dict)  # family -> out-interface -> target
    chains: dict[int, set[str]] = field(default_factory=dict)  # family -> slot chains holding rules
    any: dict[int, bool] = field(default_factory=dict)  # family -> any owned rule at all
    active: str | None = None  # the slot every jump points at (None: none, or they disagree)
    consistent: bool = True


def owned(raw: str) -> Owned:
    """What egressctl owns in ``raw`` and which chain is in force."""
    have = Owned()
    targets: set[str] = set()
    for fam, rules in filters(raw).items():
        mine = [r for r in rules if r.get("comment", "").startswith(c.OWNED_PREFIX)]
        have.any[fam] = bool(mine)
        have.chains[fam] = {r.get("chain", "") for r in mine if r.get("chain") in c.SLOTS}
        jumps = {r.get("out-interface", ""): r.get("jump-target", "") for r in mine
                 if r.get("comment") == c.JUMP_COMMENT}
        have.jumps[fam] = jumps
        targets |= set(jumps.values())
    if len(targets) == 1 and all(have.jumps.get(f) for f in (4, 6)):
        have.active = targets.pop()
    have.consistent = len(targets) <= 1
    return have


def _net(text: str | None, fam: int) -> Network | None:
    if not text:
        return None
    net = ipaddress.ip_network(text, strict=False)
    if net.version != fam:
        raise ParseError(f"address {text} in the IPv{fam} filter")
    return net


def _ports(text: str | None) -> PortRange | None:
    if not text:
        return None
    first, _, last = text.partition("-")
    return PortRange(first=int(first), last=int(last or first))


def parse_rule(r: dict[str, str], fam: int) -> Rule:
    """One owned rule -> one neutral atom."""
    m = _RULE_NAME.match(r.get("comment", ""))
    if not m:
        raise ParseError(f"owned rule without a rule name: {r.get('comment')!r}")
    allowed = {"action", "chain", "comment", "protocol", "src-address", "dst-address", "src-port", "dst-port"}
    extra = set(r) - allowed
    if extra or r.get("action") not in ("return", "drop"):
        raise ParseError(f"rule {m.group(1)}: {sorted(extra) or r.get('action')} is not egressctl's")
    action: Action = "permit" if r["action"] == "return" else "deny"
    proto: Protocol = "any"
    if r.get("protocol"):
        if r["protocol"] not in c.PROTOCOLS:
            raise ParseError(f"rule {m.group(1)}: protocol {r['protocol']}")
        proto = c.PROTOCOLS[r["protocol"]]  # type: ignore[assignment]
    return atom_rule(m.group(1), action, proto, fam, _net(r.get("src-address"), fam),
                     _net(r.get("dst-address"), fam), _ports(r.get("src-port")), _ports(r.get("dst-port")))


def parse_state(device: Device, raw: str, pending: bool) -> DeviceState:
    """The router's egressctl state from the read-back."""
    have = owned(raw)
    if not any(have.any.values()):
        return build_state("", (), pending=pending, raw=raw, owned=False)
    rules: list[Rule] = []
    markers: list[str] = []
    for fam, items in filters(raw).items():
        chain = [r for r in items if r.get("chain") == have.active]
        if chain and chain[0].get("action") == "passthrough":
            markers.append(chain[0].get("comment", ""))
            chain = chain[1:]
        rules += [parse_rule(r, fam) for r in chain]
    complete = (have.active is not None and len(markers) == 2 and markers[0] == markers[1]
                and all(set(have.jumps[f]) == set(device.outside) for f in (4, 6)))
    return build_state(markers[0] if complete else "", rules, pending=pending, raw=raw, owned=True,
                       stamp_in=markers[0] if markers else "")


def pending(scheduler_export: str) -> bool:
    """True while the safety net's scheduler item exists (a change waits for its confirmation)."""
    return re.search(rf"\bname={re.escape(c.REVERT)}(?=\s|$)", scheduler_export) is not None


def jumps_below_fasttrack(raw: str) -> list[str]:
    """Families whose egressctl jump sits below a forward rule that lets established connections through."""
    out = []
    for fam, rules in filters(raw).items():
        fwd = [r for r in rules if r.get("chain") == "forward"]
        first_jump = next((i for i, r in enumerate(fwd) if r.get("comment") == c.JUMP_COMMENT), None)
        if first_jump is None:
            continue
        if any(r.get("action") in ("fasttrack-connection", "accept") and "established" in
               r.get("connection-state", "") for r in fwd[:first_jump]):
            out.append(f"IPv{fam}")
    return out
