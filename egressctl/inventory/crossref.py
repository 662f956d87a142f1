"""Checks across a site that the per-field models cannot make.

Names that must refer to each other (exits, jump hosts), addresses that must not fall inside prefixes
(canaries),
rules that open too much (world-wide allows) and platforms a driver must exist for. They run on the raw
data next to pydantic's validation (not after it), so one pass reports every problem of the file;
anything malformed is skipped here, since the models already report it.

World-wide allows: a flow (always-allowed, or a stage's allow) *opens the whole internet* when its
destinations of one address family together cover at least ``1/WORLD_SHARE`` (one eighth) of that family's
address space: ``0.0.0.0/0``, ``::/0``, the ``0.0.0.0/1`` + ``128.0.0.0/1`` pair, ``0.0.0.0/3``, and
``2000::/3`` (every global unicast IPv6 address). Such a flow must say ``allow_world: true``. No real
allow-list entry comes near an eighth of the internet, while anything that big defeats the cut.

Canaries: a canary proves a cut by being blocked, so it must be outside the site's inside prefixes and
outside every allowed prefix (world-wide flows aside: inside them every outside address is "allowed").
A canary that is deliberately a known answering host of an allowed flow says ``in_allowed_prefix: true``
(the probe matrix then uses it to prove the flow opens); the flag on a canary inside no allowed prefix is
refused, so it cannot go stale.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Iterator
from typing import Any, NamedTuple

from egressctl.inventory.messages import line_for
from egressctl.inventory.values import NAME_RE, Address, Network
from egressctl.inventory.yamlnodes import Finding, Loc

WORLD_SHARE = 8
_WORLD_HINT = "; set allow_world: true on this rule if that is intended"


class _Allowed(NamedTuple):
    """An allowed prefix and where it is allowed (``always``: in always_allowed, open even when isolated)."""

    net: Network
    where: str
    always: bool


class _Site:
    """One raw site and where its findings go."""

    def __init__(self, raw: dict[str, Any], loc: Loc, lines: dict[Loc, int]) -> None:
        self.raw, self.loc, self.lines = raw, loc, lines
        self.findings: list[Finding] = []

    def items(self, key: str) -> Iterator[tuple[Loc, dict[str, Any]]]:
        """The mapping items of list ``key`` with their locations."""
        value = self.raw.get(key)
        for i, item in enumerate(value if isinstance(value, list) else []):
            if isinstance(item, dict):
                yield (*self.loc, key, i), item

    def find(self, loc: Loc, message: str) -> None:
        """Record a problem at ``loc``."""
        self.findings.append(Finding(line_for(loc, self.lines), loc, message))


def check_inventory(data: Any, lines: dict[Loc, int],
                    platforms: Callable[[], Collection[str]]) -> list[Finding]:
    """Every cross-reference problem of the raw inventory ``data``, located through ``lines``."""
    sites = data.get("sites") if isinstance(data, dict) else None
    cache: list[Collection[str]] = []

    def known() -> Collection[str]:
        if not cache:
            cache.append(platforms())  # once per load: it scans the plugins' entry points
        return cache[0]

    findings: list[Finding] = []
    for i, raw in enumerate(sites if isinstance(sites, list) else []):
        if isinstance(raw, dict):
            site = _Site(raw, ("sites", i), lines)
            _platforms(site, known)
            _exits(site)
            _jumps(site)
            allowed = _flows(site)
            _canaries(site, allowed)
            findings += site.findings
    return findings + _groups(data, lines)


def _groups(data: Any, lines: dict[Loc, int]) -> list[Finding]:
    """A group's sites must be sites of this file, each once (a typo would silently leave a site out)."""
    raw = data.get("groups") if isinstance(data, dict) else None
    sites = data.get("sites") if isinstance(data, dict) else None
    names = [s.get("name") for s in (sites if isinstance(sites, list) else []) if isinstance(s, dict)]
    known = ", ".join(sorted(str(n) for n in names if _is_name(n)))
    findings: list[Finding] = []
    for i, group in enumerate(raw if isinstance(raw, list) else []):
        members = group.get("sites") if isinstance(group, dict) else None
        seen: set[str] = set()
        for j, value in enumerate(members if isinstance(members, list) else []):
            loc: Loc = ("groups", i, "sites", j)
            if _is_name(value) and value not in names:
                message = f"site {value!r} is not a site of this file (known: {known})"
                findings.append(Finding(line_for(loc, lines), loc, message))
            elif _is_name(value) and value in seen:
                findings.append(Finding(line_for(loc, lines), loc, f"site {value!r} is listed twice"))
            seen.add(str(value))
    return findings


def _is_name(value: object) -> bool:
    """A well-formed name (anything else is the models' to report)."""
    return isinstance(value, str) and NAME_RE.fullmatch(value) is not None


def _label(item: dict[str, Any], loc: Loc) -> str:
    """An item's name for a message, or its position when the name is malformed."""
    name = item.get("name")
    return name if isinstance(name, str) and _is_name(name) else f"#{loc[-1]}"


def _platforms(site: _Site, known: Callable[[], Collection[str]]) -> None:
    for loc, device in site.items("devices"):
        value = device.get("platform")
        if _is_name(value) and value not in known():
            site.find((*loc, "platform"),
                      f"unknown platform {value!r}; expected one of: {', '.join(sorted(known()))}")


def _exits(site: _Site) -> None:
    """Vantage and capture points must name an exit some device sits on."""
    exits = [device.get("exit") for _, device in site.items("devices")]
    if not exits or not all(_is_name(e) for e in exits):
        return  # the models report the device whose exit is missing or malformed
    known = ", ".join(sorted(set(map(str, exits))))
    for key in ("vantage_points", "captures"):
        for loc, point in site.items(key):
            value = point.get("exit")
            if _is_name(value) and value not in exits:
                site.find((*loc, "exit"), f"exit {value!r} is not the exit of any device (known: {known})")


def _jumps(site: _Site) -> None:
    """A device's or vantage point's ``jump:`` must name one of the site's jump hosts."""
    names = [j.get("name") for _, j in site.items("jump_hosts")]
    known = ", ".join(sorted(str(n) for n in names if _is_name(n))) or "none: add jump_hosts to the site"
    for key in ("devices", "vantage_points"):
        for loc, item in site.items(key):
            value = item.get("jump")
            if _is_name(value) and value not in names:
                site.find((*loc, "jump"),
                          f"jump host {value!r} is not in the site's jump_hosts (known: {known})")


def _networks(raw: Any) -> list[tuple[int, Network]]:
    """The prefixes of a raw list that parse as the models parse them, with their positions."""
    out: list[tuple[int, Network]] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            if isinstance(item, str):
                out.append((i, ipaddress.ip_network(item.strip(), strict=True)))
        except ValueError:
            continue
    return out


def _covered(nets: list[Network]) -> int:
    """How many addresses ``nets`` (of one family) cover, overlaps counted once."""
    total, end = 0, -1
    for net in sorted(nets, key=lambda n: int(n.network_address)):
        first, last = int(net.network_address), int(net.broadcast_address)
        if last > end:
            total += last - max(first, end + 1) + 1
            end = last
    return total


def _world(nets: list[tuple[int, Network]], version: int) -> tuple[str, int] | None:
    """A phrase and the position to blame when ``nets`` of ``version`` open the whole internet."""
    mine = [(i, n) for i, n in nets if n.version == version]
    space = 2 ** (32 if version == 4 else 128)
    covered = _covered([n for _, n in mine])
    if covered * WORLD_SHARE < space:
        return None
    big = [(i, n) for i, n in mine if n.num_addresses * WORLD_SHARE >= space] or mine
    text = ", ".join(str(n) for _, n in big)
    one = len(big) == 1
    blame = big[0][0]
    if covered == space:
        return f"{text} {'opens' if one else 'open'} the whole IPv{version} internet", blame
    share = f"{100 * covered / space:.3g}%"
    return (f"{text} {'covers' if one else 'cover'} {share} of the IPv{version} address space, which counts "
            f"as the whole internet (1/{WORLD_SHARE} or more)", blame)


def _flows(site: _Site) -> list[_Allowed]:
    """Check world-wide flows; return every other allowed prefix with where it is allowed."""
    flows = [(loc, flow, "always_allowed") for loc, flow in site.items("always_allowed")]
    for loc, stage in site.items("stages"):
        allow = _Site(stage, loc, site.lines)
        flows += [(floc, flow, f"stage {_label(stage, loc)}") for floc, flow in allow.items("allow")]
    allowed: list[_Allowed] = []
    for loc, flow, where in flows:
        nets = _networks(flow.get("destinations"))
        worlds = {v: w for v in (4, 6) if (w := _world(nets, v))}
        flag = flow.get("allow_world", False)
        if worlds and flag is False:
            blame = min(w[1] for w in worlds.values())
            site.find((*loc, "destinations", blame), "; ".join(w[0] for w in worlds.values()) + _WORLD_HINT)
        label, always = f"{where}, flow {_label(flow, loc)}", where == "always_allowed"
        allowed += [_Allowed(n, label, always) for _, n in nets if n.version not in worlds]
    return allowed


def _address(raw: Any) -> Address | None:
    try:
        return ipaddress.ip_address(raw.strip()) if isinstance(raw, str) else None
    except ValueError:
        return None


def _canaries(site: _Site, allowed: list[_Allowed]) -> None:
    """A canary proves a cut only from outside the site and outside every allowed prefix."""
    inside = [n for _, n in _networks(site.raw.get("inside"))]
    for loc, canary in site.items("canaries"):
        address = _address(canary.get("address"))
        if address is None:
            continue
        at = (*loc, "address")
        home = next((n for n in inside if address in n), None)
        if home is not None:
            site.find(at, f"canary {address} is inside the site (inside prefix {home}); a canary must be an "
                          "outside address that the cut blocks")
        hit = next((a for a in allowed if address in a.net), None)
        flag = canary.get("in_allowed_prefix", False)
        if hit is not None and flag is False:
            site.find(at, f"canary {address} is inside allowed prefix {hit.net} ({hit.where}), so it cannot "
                          "prove the cut; use an address outside every allowed prefix, or set "
                          "in_allowed_prefix: true if it is deliberately a known answering host of that flow")
        elif hit is None and flag is True:
            site.find((*loc, "in_allowed_prefix"),
                      f"in_allowed_prefix is set but canary {address} is not inside any allowed prefix")
