"""Compile the *active* SRX configuration into nftables with SRX flow semantics.

* Stateful: return traffic of an accepted session is accepted (``ct state established,related``).
* Forwarded traffic is matched against the policies of its (ingress zone, egress zone) pair, first match
  wins; no match, or an interface in no zone, means the default policy (``deny-all`` unless
  ``default-policy permit-all``).
* Traffic to the device itself (input hook) is not governed by security policies (host-inbound-traffic
  is not modelled), so in-band management keeps working whatever the policies say.
"""

from __future__ import annotations

import ipaddress
from itertools import product

from egressctl_lab.emu.dataplane import table
from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos.tree import Tree
from egressctl_lab.emu.juniper_junos.validate import address_book, policies

AppMatch = tuple[str, tuple[int, int] | None]


def ruleset(tree: Tree, kernel_names: dict[str, str]) -> str:
    """The ``inet egressctl_emu`` table for ``tree``; ``kernel_names`` maps vendor -> kernel interfaces."""
    zones = zone_interfaces(tree, kernel_names)
    default = "accept" if "permit-all" in tree.get("security", {}).get("policies", {}).get(
        "default-policy", {}) else "drop"
    pairs: dict[tuple[str, str], list[str]] = {}
    for fz, tz, _name, pol in policies(tree):
        pairs.setdefault((fz, tz), []).extend(_policy_rules(tree, pol))
    forward = [
        f"    type filter hook forward priority filter; policy {default};",
        "    ct state established,related accept",
        "    ct state invalid drop",
    ]
    chains: list[str] = []
    for idx, ((fz, tz), rules) in enumerate(pairs.items()):
        if not zones.get(fz) or not zones.get(tz):
            continue
        name = f"zp_{idx}"
        forward.append(f"    iifname {_set(zones[fz])} oifname {_set(zones[tz])} jump {name}")
        chains.append("\n".join([f"  chain {name} {{", f"    # from-zone {fz} to-zone {tz}",
                                 *(f"    {r}" for r in rules), "  }"]))
    body = "\n".join(["  chain forward {", *forward, "  }", *chains])
    return table(body)


def _set(names: list[str]) -> str:
    return "{ " + ", ".join(f'"{n}"' for n in names) + " }"


def zone_interfaces(tree: Tree, kernel_names: dict[str, str]) -> dict[str, list[str]]:
    """Kernel interfaces of each security zone (a vendor name with or without its ``.0`` unit)."""
    out: dict[str, list[str]] = {}
    for zone, entry in tree.get("security", {}).get("zones", {}).get("security-zone", {}).items():
        kernels = []
        for itf in entry.get("interfaces", {}):
            names = (itf, itf.removesuffix(".0"), itf + ".0")
            k = next((kernel_names[n] for n in names if n in kernel_names), None)
            if k:
                kernels.append(k)
        out[zone] = kernels
    return out


def _policy_rules(tree: Tree, pol: dict[str, object]) -> list[str]:
    match = pol.get("match", {})
    then = pol.get("then", {})
    assert isinstance(match, dict) and isinstance(then, dict)
    verdict = "accept" if "permit" in then else ("reject" if "reject" in then else "drop")
    srcs = _addresses(tree, match.get("source-address", []), "saddr")
    dsts = _addresses(tree, match.get("destination-address", []), "daddr")
    apps = _applications(tree, match.get("application", []))
    rules = []
    for (sfam, sexpr), (dfam, dexpr), app in product(srcs, dsts, apps):
        if sfam and dfam and sfam != dfam:
            continue
        family = sfam or dfam
        parts = [*sexpr, *dexpr, *_app_expr(app, family)]
        rules.append(" ".join([*parts, "counter", verdict]))
    return rules


def _addresses(tree: Tree, names: list[str], field: str) -> list[tuple[int, list[str]]]:
    """(family or 0, match expressions) per address; a name that does not resolve matches nothing."""
    addrs, sets = address_book(tree)
    out: list[tuple[int, list[str]]] = []
    for name in names:
        if name == "any":
            out.append((0, []))
        elif name == "any-ipv4":
            out.append((4, ["meta nfproto ipv4"]))
        elif name == "any-ipv6":
            out.append((6, ["meta nfproto ipv6"]))
        else:
            for member in sets.get(name, [name]):
                if member in addrs:
                    net = ipaddress.ip_network(addrs[member], strict=False)
                    out.append((net.version, [f"{'ip' if net.version == 4 else 'ip6'} {field} {net}"]))
    return out


def _applications(tree: Tree, names: list[str]) -> list[AppMatch | None]:
    custom = tree.get("applications", {}).get("application", {})
    out: list[AppMatch | None] = []
    for name in names:
        if name == "any":
            out.append(None)
        elif name in c.PREDEFINED_APPS:
            out += c.PREDEFINED_APPS[name]
        elif name in custom and "protocol" in custom[name]:
            out.append((custom[name]["protocol"], _port_range(custom[name].get("destination-port"))))
    return out


def _port_range(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    low, _, high = text.partition("-")
    return _port(low), _port(high or low)


def _port(text: str) -> int:
    return c.PORT_NAMES[text] if text in c.PORT_NAMES else int(text)


def _app_expr(app: AppMatch | None, family: int) -> list[str]:
    if app is None:
        return []
    proto, ports = app
    if proto == "icmp":
        return ["meta l4proto icmp"]
    if proto == "icmp6":
        return ["meta l4proto ipv6-icmp"]
    out = [f"meta l4proto {c.PROTOCOL_NUMBERS.get(proto, proto)}"]
    if ports and proto in ("tcp", "udp"):
        span = str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
        out.append(f"{proto} dport {span}")
    return out
