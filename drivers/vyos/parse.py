"""Parse egressctl's chains and jumps back from ``show configuration commands | match firewall``.

Every line is ``set firewall ipv4|ipv6 ...`` with values in single quotes (VyOS 1.4); the words are split
as a shell would. A chain whose description carries no readable marker, or a chain an outside interface
does not jump to, reads back as target ``unknown``: the planner then sees a state matching no target and
re-applies.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Iterator

from egressctl_drivers.common.state import atom_rule, build_state
from egressctl_drivers.vyos import constants as c

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, PortRange
from egressctl.policy import Rule

_FAMILY = {"ipv4": 4, "ipv6": 6}
_PROTO = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "ipv6-icmp": "icmp", "icmpv6": "icmp"}


class ParseError(ValueError):
    """A line of egressctl's chains that egressctl would never have written."""


def _lines(raw: str) -> Iterator[tuple[int, list[str]]]:
    """(family, words after ``set firewall ipvX``) of every firewall line."""
    for line in raw.splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if len(words) > 3 and words[:2] == ["set", "firewall"] and words[2] in _FAMILY:
            yield _FAMILY[words[2]], words[3:]


def chains(raw: str) -> dict[int, dict[str, list[list[str]]]]:
    """``{family: {"": chain-level words..., "<num>": rule words...}}`` of egressctl's chains."""
    out: dict[int, dict[str, list[list[str]]]] = {}
    for fam, words in _lines(raw):
        if words[:2] != ["name", c.CHAIN[fam]] or len(words) < 3:
            continue
        key = words[3] if words[2] == "rule" and len(words) > 4 else ""
        rest = words[4:] if key else words[2:]
        out.setdefault(fam, {}).setdefault(key, []).append(rest)
    return out


def owned_chains(raw: str) -> set[int]:
    """Families whose egressctl chain exists."""
    return set(chains(raw))


def forward_rules(raw: str) -> dict[tuple[int, int], dict[str, str]]:
    """``{(family, number): {field: value}}`` of the forward filter's rules (last word = value)."""
    out: dict[tuple[int, int], dict[str, str]] = {}
    for fam, words in _lines(raw):
        if words[:3] == ["forward", "filter", "rule"] and len(words) > 5 and words[3].isdigit():
            out.setdefault((fam, int(words[3])), {})[" ".join(words[4:-1])] = words[-1]
    return out


def jump_rules(raw: str) -> dict[tuple[int, int], str]:
    """Egressctl's jumps: ``{(family, number): outbound interface}``."""
    return {key: f.get("outbound-interface name", "") for key, f in forward_rules(raw).items()
            if f.get("jump-target") == c.CHAIN[key[0]]}


def _port(text: str) -> PortRange:
    first, _, last = text.partition("-")
    return PortRange(first=int(first), last=int(last or first))


def parse_rule(fam: int, lines: list[list[str]]) -> Rule:
    """One atom from the words of one chain rule."""
    f = {" ".join(w[:-1]): w[-1] for w in lines if len(w) >= 2}
    action = {"return": "permit", "drop": "deny"}.get(f.get("action", ""))
    if action is None:
        raise ParseError(f"rule action {f.get('action')!r}")
    proto = _PROTO.get(f.get("protocol", ""), "any") if "protocol" in f else "any"
    if "protocol" in f and f["protocol"] not in _PROTO:
        raise ParseError(f"protocol {f['protocol']!r}")
    nets = {side: ipaddress.ip_network(f[f"{side} address"], strict=False) if f"{side} address" in f else None
            for side in ("source", "destination")}
    ports = {side: _port(f[f"{side} port"]) if f"{side} port" in f else None
             for side in ("source", "destination")}
    return atom_rule(f.get("description", "unnamed"), action, proto, fam,  # type: ignore[arg-type]
                     nets["source"], nets["destination"], ports["source"], ports["destination"])


def parse_state(device: Device, raw: str, *, pending: bool) -> DeviceState:
    """Egressctl's state on the router from the read-back (``normal`` when it owns nothing)."""
    found = chains(raw)
    jumps = jump_rules(raw)
    rules: list[Rule] = []
    description = ""
    for fam in sorted(found):
        for key in sorted((k for k in found[fam] if k), key=int):
            rules.append(parse_rule(fam, found[fam][key]))
        for words in found[fam].get("", []):
            if words[0] == "description" and len(words) > 1:
                description = description or words[1]
    complete = all(sorted(i for (f, _), i in jumps.items() if f == fam) == sorted(device.outside)
                   for fam in found)
    marker = description if complete and set(found) == {4, 6} else ""
    return build_state(marker, rules, pending=pending, raw=raw, owned=bool(found or jumps),
                       stamp_in=description)
