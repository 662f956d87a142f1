"""Render the neutral policy as one nftables table owned by egressctl (pure; golden-tested).

The whole table is replaced in one ``nft -f`` transaction: the file first declares and deletes the table
(so deletion works whether it exists or not), then defines it again. A forward chain at priority -10 sees
traffic before the site's own chains; its rules only match ``iifname {inside} oifname {outside}``, so
nothing that stays inside or arrives from outside is touched, and an ``accept`` here never overrides the
site's later drops (nftables evaluates every base chain). The marker is the table comment, the operation's
stamp the chain's (nft keeps 128 characters of a comment).
"""

from __future__ import annotations

from collections.abc import Sequence

from egressctl_drivers.common.state import bare_marker, holds, stamp_text
from egressctl_drivers.linux_nftables import constants as c

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule


def _quoted(names: Sequence[str]) -> str:
    items = [f'"{n}"' for n in names]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _l4(protocol: str, fam: int | None, sport: PortRange | None, dport: PortRange | None) -> list[str]:
    if protocol == "any":
        return []
    if protocol == "icmp":
        return [f"meta l4proto {c.L4_NAMES[('icmp', fam or 4)]}"]
    out = [f"{protocol} sport {sport}"] if sport else []
    out += [f"{protocol} dport {dport}"] if dport else []
    return out or [f"meta l4proto {protocol}"]


def _addr(fam: int, src: Network | None, dst: Network | None) -> list[str]:
    key = "ip" if fam == 4 else "ip6"
    out = [f"meta nfproto {'ipv4' if fam == 4 else 'ipv6'}"]
    out += [f"{key} saddr {src}"] if src is not None else []
    out += [f"{key} daddr {dst}"] if dst is not None else []
    return out


def rule_lines(device: Device, rule: Rule) -> list[str]:
    """Return the nft rules for one neutral rule: one per atom (family, source, destination, port range).

    One value per rule, never an anonymous set: nft sorts and merges set elements (adjacent addresses
    become ranges), which would make the read-back differ from the policy's atoms in order and shape.
    A rule without addresses (e.g. the final deny) stays family-free and covers IPv4 and IPv6 at once.
    """
    head = [f"iifname {_quoted(device.inside)}", f"oifname {_quoted(device.outside)}"]
    tail = f'{"accept" if rule.action == "permit" else "drop"} comment "{rule.name}"'
    sports: list[PortRange | None] = list(rule.src_ports) or [None]
    dports: list[PortRange | None] = list(rule.dst_ports) or [None]
    lines: list[str] = []
    if not rule.sources and not rule.destinations and rule.protocol != "icmp":
        for sp in sports:
            for dp in dports:
                lines.append(" ".join([*head, *_l4(rule.protocol, None, sp, dp), tail]))
        return lines
    for fam in rule.families():
        srcs: list[Network | None] = [n for n in rule.sources if n.version == fam] or [None]
        dsts: list[Network | None] = [n for n in rule.destinations if n.version == fam] or [None]
        for s in srcs:
            for d in dsts:
                for sp in sports:
                    for dp in dports:
                        parts = [*head, *_addr(fam, s, d), *_l4(rule.protocol, fam, sp, dp), tail]
                        lines.append(" ".join(parts))
    return lines


def table_text(device: Device, policy: Policy) -> list[str]:
    """The ``table inet egressctl { ... }`` definition for ``policy`` (empty for ``normal``)."""
    if policy.is_normal:
        return []
    stamp = stamp_text()  # its own comment: nft keeps 128 characters of a comment
    out = [
        f"table {c.FAMILY} {c.TABLE} {{",
        f'\tcomment "{bare_marker(policy)}"',
        f"\tchain {c.CHAIN} {{",
        *([f'\t\tcomment "{stamp}"'] if stamp else []),
        f"\t\ttype filter hook forward priority {c.PRIORITY}; policy accept;",
    ]
    for rule in policy.rules:
        out.extend(f"\t\t{line}" for line in rule_lines(device, rule))
    out += ["\t}", "}"]
    return out


def replace_preamble() -> list[str]:
    """Lines that delete egressctl's table whether or not it exists (declare, then delete)."""
    return [f"table {c.FAMILY} {c.TABLE}", f"delete table {c.FAMILY} {c.TABLE}"]


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """The ``nft -f`` file taking the device from ``current`` to ``policy``; [] when already there."""
    if holds(policy, current):
        return []
    return [*replace_preamble(), *table_text(device, policy)]
