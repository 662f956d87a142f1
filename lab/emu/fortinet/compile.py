"""FortiOS effective configuration -> nftables ruleset (the emulated data plane).

Semantics kept from FortiOS: policies are evaluated top-down by ``srcintf``/``dstintf``/addresses/service,
first match wins; ``srcaddr``/``dstaddr`` govern IPv4 and ``srcaddr6``/``dstaddr6`` IPv6 (7.x
consolidated policy); a disabled policy is skipped; anything unmatched hits the implicit deny; sessions are
stateful (return traffic of an accepted session passes). Only forwarded traffic is governed: policies do not
filter traffic to the FortiGate itself (that is local-in policy), so management is unaffected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from egressctl_lab.emu.dataplane import table as nft_table
from egressctl_lab.emu.fortinet import nftrules
from egressctl_lab.emu.fortinet.model import Config, Entry, value_of
from egressctl_lab.emu.fortinet.nftrules import L4, Match, Network
from egressctl_lab.emu.fortinet.values import parse_portrange

_ADDR = {4: ("firewall address", "firewall addrgrp"), 6: ("firewall address6", "firewall addrgrp6")}


def _address_nets(
    config: Config, family: int, name: str, seen: frozenset[str] = frozenset()
) -> list[Network]:
    objects, groups = _ADDR[family]
    if name in seen:
        return []
    entry = config.get(objects, {}).get(name)
    if entry is not None:
        return _object_nets(objects, entry)
    group = config.get(groups, {}).get(name)
    if group is None:
        return []
    nets: list[Network] = []
    for member in group.get("member", ()):
        nets += _address_nets(config, family, member, seen | {name})
    return nets


def _object_nets(path: str, entry: Entry) -> list[Network]:
    kind = value_of(path, entry, "type")[0]
    if kind == "iprange":
        start, end = value_of(path, entry, "start-ip")[0], value_of(path, entry, "end-ip")[0]
        return nftrules.networks_from_range(start, end)
    if path == "firewall address":
        addr, mask = value_of(path, entry, "subnet")
        return [ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)]
    return [ipaddress.IPv6Network(value_of(path, entry, "ip6")[0], strict=False)]


def _service_l4(config: Config, name: str, seen: frozenset[str] = frozenset()) -> list[L4]:
    if name in seen:
        return []
    entry = config.get("firewall service custom", {}).get(name)
    if entry is None:
        group = config.get("firewall service group", {}).get(name, {})
        out: list[L4] = []
        for member in group.get("member", ()):
            out += _service_l4(config, member, seen | {name})
        return out
    path = "firewall service custom"
    protocol = value_of(path, entry, "protocol")[0]
    if protocol == "ICMP":
        return [L4("icmp")]
    if protocol == "ICMP6":
        return [L4("icmpv6")]
    if protocol == "IP":
        number = int(value_of(path, entry, "protocol-number")[0])
        return [nftrules.ANY_L4 if number == 0 else L4(str(number))]
    services: list[L4] = []
    for proto in ("tcp", "udp", "sctp"):
        plain: list[tuple[int, int]] = []
        for token in entry.get(f"{proto}-portrange", ()):
            dst, src = parse_portrange(token)
            if src is None:
                plain.append(dst)
            else:
                services.append(L4(proto, (dst,), (src,)))
        if plain:
            services.append(L4(proto, tuple(plain)))
    return services


def _ifaces(names: tuple[str, ...], kernel: Mapping[str, str]) -> tuple[str, ...] | None:
    if not names or "any" in names:
        return None
    return tuple(kernel.get(n, n) for n in names)


def policy_matches(config: Config, policy_id: str, entry: Entry, kernel: Mapping[str, str]) -> list[Match]:
    """The first-match rules one firewall policy stands for (one per address family it covers)."""
    path = "firewall policy"
    if value_of(path, entry, "status")[0] != "enable":
        return []
    verdict = "drop" if value_of(path, entry, "action")[0] == "deny" else "accept"
    services: list[L4] = []
    for name in entry.get("service", ()):
        services += _service_l4(config, name)
    matches = []
    for family, (src_field, dst_field) in ((4, ("srcaddr", "dstaddr")), (6, ("srcaddr6", "dstaddr6"))):
        srcs, dsts = entry.get(src_field, ()), entry.get(dst_field, ())
        if not srcs or not dsts:
            continue
        src = [n for name in srcs for n in _address_nets(config, family, name)]
        dst = [n for name in dsts for n in _address_nets(config, family, name)]
        matches.append(Match(
            iifs=_ifaces(entry.get("srcintf", ()), kernel), oifs=_ifaces(entry.get("dstintf", ()), kernel),
            src=tuple(src), dst=tuple(dst), services=tuple(services), verdict=verdict,
            comment=f"policy {policy_id}",
        ))
    return matches


def ruleset(config: Config, kernel: Mapping[str, str]) -> str:
    """The full ``inet egressctl_emu`` table enforcing ``config``."""
    lines: list[str] = []
    for policy_id, entry in config.get("firewall policy", {}).items():
        for match in policy_matches(config, policy_id, entry, kernel):
            lines += nftrules.render(match)
    return nft_table(nftrules.forward_chain(lines))
