"""Parse EOS running-config text back into egressctl's neutral rules (pure).

Input is ``show running-config | section access-``: every ACL block and every interface block binding an
ACL. EOS numbers each entry (remarks included), shows addresses as ``any``, ``host A`` or ``A/LEN`` and
well-known ports by keyword (``eq ssh``); all of it is normalised here. egressctl's ACLs are authoritative
only when bound ``out`` on every outside interface and their markers agree; anything else (a change that
stopped half-way, a hand edit) reads as target ``unknown``, so the planner re-applies.
"""

from __future__ import annotations

import ipaddress
import re

from egressctl_drivers.arista_eos import constants as c
from egressctl_drivers.common.aclremarks import Remarks
from egressctl_drivers.common.state import atom_rule, build_state

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange, Protocol
from egressctl.policy import Action, Rule


class ParseError(ValueError):
    """An owned ACL holds an entry egressctl never writes."""


_HEAD = re.compile(r"^(ip|ipv6) access-list (?:standard\s+)?(\S+)\s*$")
_ITF = re.compile(r"^interface\s+(\S+)")
_GROUP = re.compile(r"^\s+(ip|ipv6) access-group\s+(\S+)\s+(in|out)\b")


def acl_blocks(raw: str) -> dict[tuple[int, str], list[str]]:
    """(family, name) -> its entry lines (stripped), for every ACL in ``raw``."""
    blocks: dict[tuple[int, str], list[str]] = {}
    current: list[str] | None = None
    for line in raw.replace("\r", "").splitlines():
        m = _HEAD.match(line.rstrip())
        if m:
            current = blocks.setdefault((4 if m.group(1) == "ip" else 6, m.group(2)), [])
        elif line.startswith(" ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    return blocks


def bindings(raw: str) -> dict[str, dict[str, str]]:
    """Interface -> ``{"ip out": NAME, "ipv6 in": NAME, ...}`` for every ACL bound in ``raw``."""
    out: dict[str, dict[str, str]] = {}
    itf: str | None = None
    for line in raw.replace("\r", "").splitlines():
        m = _ITF.match(line)
        if m:
            itf = m.group(1)
            out.setdefault(itf, {})
            continue
        g = _GROUP.match(line)
        if g and itf is not None:
            out[itf][f"{g.group(1)} {g.group(3)}"] = g.group(2)
        elif not line.startswith(" "):
            itf = None
    return out


def owned_name(fam: int) -> str:
    """Egressctl's ACL name of that family."""
    return c.ACL4 if fam == 4 else c.ACL6


def group_key(fam: int) -> str:
    """``ip out`` / ``ipv6 out``: the binding egressctl's ACL of that family uses."""
    return f"{'ip' if fam == 4 else 'ipv6'} {c.DIRECTION}"


def bound_everywhere(device: Device, bound: dict[str, dict[str, str]], fam: int) -> bool:
    """Whether egressctl's ACL of that family is bound on every outside interface."""
    return all(bound.get(i, {}).get(group_key(fam)) == owned_name(fam) for i in device.outside)


def _address(tokens: list[str], fam: int) -> Network | None:
    tok = tokens.pop(0)
    if tok == "any":
        return None
    if tok == "host":
        return ipaddress.ip_network(tokens.pop(0).lower())
    if "/" in tok:
        return ipaddress.ip_network(tok.lower(), strict=False)
    if fam == 4 and tokens:  # a wildcard, should a switch ever print one
        mask = ipaddress.IPv4Address(int(ipaddress.IPv4Address(tokens.pop(0))) ^ 0xFFFFFFFF)
        return ipaddress.ip_network(f"{tok}/{mask}", strict=False)
    raise ParseError(f"unexpected address {tok!r}")


def _port(tok: str) -> int:
    if tok.isdigit():
        return int(tok)
    if tok not in c.PORTS:
        raise ParseError(f"unknown port keyword {tok!r}")
    return c.PORTS[tok]


def _ports(tokens: list[str]) -> PortRange | None:
    if not tokens or tokens[0] not in ("eq", "range"):
        return None
    op = tokens.pop(0)
    first = _port(tokens.pop(0))
    last = _port(tokens.pop(0)) if op == "range" else first
    if op == "eq" and tokens and (tokens[0].isdigit() or tokens[0] in c.PORTS):
        raise ParseError("several ports in one entry: egressctl writes one")
    return PortRange(first=first, last=last)


def parse_entry(text: str, fam: int, name: str) -> Rule:
    """One entry (``20 permit tcp host A any eq ssh``) -> one neutral rule."""
    tokens = text.split()
    if tokens and tokens[0].isdigit():
        tokens = tokens[1:]
    action: Action = "permit" if tokens.pop(0) == "permit" else "deny"
    word = tokens.pop(0)
    proto: Protocol = {"ip": "any", "ipv6": "any", "icmpv6": "icmp"}.get(word, word)  # type: ignore[assignment]
    if proto not in ("any", "tcp", "udp", "icmp"):
        raise ParseError(f"unexpected protocol in {text!r}")
    src = _address(tokens, fam)
    sport = _ports(tokens)
    dst = _address(tokens, fam)
    dport = _ports(tokens)
    if [t for t in tokens if t != "log"]:
        raise ParseError(f"unexpected options {' '.join(tokens)!r} in {text!r}")
    return atom_rule(name, action, proto, fam, src, dst, sport, dport)


def parse_acl(lines: list[str], fam: int) -> tuple[str, list[Rule]]:
    """(marker text, followed by the stamp remark's words when there is one; rules) of one owned ACL."""
    seen = Remarks()
    rules: list[Rule] = []
    for line in lines:
        body = re.sub(r"^\d+\s+", "", line)
        if body.startswith("remark "):
            seen.read(body.removeprefix("remark ").strip(), rules_seen=bool(rules))
        elif body:
            rules.append(parse_entry(body, fam, seen.name))
    return seen.marker_text(), rules


def parse_state(device: Device, raw: str, *, pending: bool) -> DeviceState:
    """Read-back text -> neutral ``DeviceState`` (see the module docstring for when it is ``unknown``)."""
    blocks = acl_blocks(raw)
    bound = bindings(raw)
    names = {(4, c.ACL4), (6, c.ACL6)}
    owned = any(k in blocks for k in names) or any(
        v == owned_name(4 if k.startswith("ip ") else 6) for b in bound.values() for k, v in b.items())
    found = [parse_acl(blocks.get((fam, owned_name(fam)), []), fam) for fam in (4, 6)]
    clean = all((fam, owned_name(fam)) in blocks and bound_everywhere(device, bound, fam) for fam in (4, 6))
    (m4, rules4), (m6, rules6) = found
    marker_text = m4 if clean and m4 == m6 else ""
    return build_state(marker_text, [*rules4, *rules6], pending=pending, raw=raw, owned=owned)


_ROW = re.compile(r"^\s*(\S+)\s+(pending\S*|completed|aborted)\b", re.M)


def session_rows(listing: str) -> dict[str, str]:
    """Session name -> state, from ``show configuration sessions``."""
    return {m.group(1): m.group(2) for m in _ROW.finditer(listing.replace("\r", ""))}


def own_sessions(listing: str) -> dict[str, str]:
    """The sessions that are egressctl's (``constants.SESSION_RE``) and their states."""
    return {n: st for n, st in session_rows(listing).items() if re.fullmatch(c.SESSION_RE, n)}
