"""Render the neutral policy as Junos ``set`` commands for an SRX (pure; golden-tested).

One security policy per neutral rule, in every inside-zone -> outside-zone context, named
``egressctl-NN-<rule>`` (NN keeps them ordered and unique), with the marker in its description. Addresses
and applications are egressctl's own global address-book entries and applications. New policies are
appended by Junos, so each is then ``insert``-ed before the site's first policy of that zone pair (read
from the device), which puts egressctl's rules above the site's and leaves the site's untouched.
Replacing = delete every owned object, set the new ones, all in one candidate and one commit. Going back
to normal also deletes the address book or zone-pair context when egressctl's objects are all it holds.
"""

from __future__ import annotations

from egressctl_drivers.common.state import holds, marker
from egressctl_drivers.juniper_junos import constants as c
from egressctl_drivers.juniper_junos.parse import (
    book_lines,
    context_lines,
    foreign_policies,
    is_owned_line,
    owned_objects,
)

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule


def address_name(net: Network) -> str:
    """Address-book entry name for a prefix (``egressctl-10.10.1.50_32``, ``egressctl-fd10-0-1--50_128``)."""
    return c.PREFIX + str(net).replace(":", "-").replace("/", "_")


def app_name(protocol: str, sport: PortRange | None, dport: PortRange | None) -> str:
    """Application name for a protocol and port pair (``egressctl-udp-500``, ``egressctl-tcp-s22``)."""
    name = f"{c.PREFIX}{protocol}"
    name += f"-s{sport}" if sport else ""
    name += f"-{dport}" if dport else ""
    return name


def policy_name(index: int, rule: Rule) -> str:
    """``egressctl-NN-<rule name>``."""
    return f"{c.PREFIX}{index:02d}-{rule.name}"


def _apps(rule: Rule) -> list[tuple[str, list[str]]]:
    """(application name, its ``set applications`` tails) used by a rule; ``any`` needs none."""
    if rule.protocol == "any":
        return [("any", [])]
    if rule.protocol == "icmp":
        return [(c.ICMP_APPS[f], [f"protocol {c.ICMP_PROTOCOLS[f]}"]) for f in rule.families()]
    out: list[tuple[str, list[str]]] = []
    sports: list[PortRange | None] = list(rule.src_ports) or [None]
    dports: list[PortRange | None] = list(rule.dst_ports) or [None]
    for sp in sports:
        for dp in dports:
            tails = [f"protocol {rule.protocol}"]
            tails += [f"source-port {sp}"] if sp else []
            tails += [f"destination-port {dp}"] if dp else []
            out.append((app_name(rule.protocol, sp, dp), tails))
    return out


def objects(policy: Policy) -> list[str]:
    """``set`` lines for every address-book entry and application the policy's rules use (once each)."""
    lines: dict[str, None] = {}
    for rule in policy.rules:
        for net in (*rule.sources, *rule.destinations):
            lines[f"set security address-book {c.ADDRESS_BOOK} address {address_name(net)} {net}"] = None
        for name, tails in _apps(rule):
            for tail in tails:
                lines[f"set applications application {name} {tail}"] = None
    return list(lines)


def policy_lines(ctx: str, policy: Policy) -> list[str]:
    """``set`` lines of every owned policy in one ``from-zone A to-zone B`` context."""
    out: list[str] = []
    for i, rule in enumerate(policy.rules):
        base = f"set {ctx} policy {policy_name(i, rule)}"
        out.append(f'{base} description "{marker(policy)}"')
        out += [f"{base} match source-address {address_name(n)}" for n in rule.sources] or [
            f"{base} match source-address any"]
        out += [f"{base} match destination-address {address_name(n)}" for n in rule.destinations] or [
            f"{base} match destination-address any"]
        out += [f"{base} match application {name}" for name, _ in _apps(rule)]
        out.append(f"{base} then {'permit' if rule.action == 'permit' else 'deny'}")
    return out


def contexts(device: Device) -> list[str]:
    """``security policies from-zone I to-zone O`` for every inside/outside zone pair."""
    return [f"security policies from-zone {i} to-zone {o}" for i in device.inside for o in device.outside]


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """Junos configuration-mode lines taking the SRX from ``current`` to ``policy``; [] when already there.

    ``current`` supplies what exists (to delete it) and the site's first policy per zone pair (to insert
    before it); with ``current=None`` nothing is assumed to exist.
    """
    if holds(policy, current):
        return []
    raw = current.raw if current is not None else ""
    if policy.is_normal:
        return _remove_all(raw)
    owned = owned_objects(raw)
    out = [f"delete {ctx} policy {name}" for ctx, names in owned.policies.items() for name in names]
    out += [f"delete security address-book {c.ADDRESS_BOOK} address {n}" for n in owned.addresses]
    out += [f"delete applications application {n}" for n in owned.applications]
    out += objects(policy)
    for ctx in contexts(device):
        out += policy_lines(ctx, policy)
        first = foreign_policies(raw).get(ctx, [])
        if first:
            out += [f"insert {ctx} policy {policy_name(i, r)} before policy {first[0]}"
                    for i, r in enumerate(policy.rules)]
    return out


def _remove_all(raw: str) -> list[str]:
    """Delete every owned object, and the containers egressctl's objects are the only content of.

    Junos keeps a named entry (the ``global`` address book, a ``from-zone A to-zone B`` context) after its
    last child is deleted, so deleting egressctl's entries one by one would leave an empty book behind that
    the pre-isolation configuration did not have. When the read-back shows that egressctl's entries are all
    a book or context holds, the whole book or context goes instead. (An empty book the site had created
    itself before egressctl added entries to it cannot be told apart, and goes too: it held nothing.)
    """
    owned = owned_objects(raw)
    out: list[str] = []
    for ctx, names in owned.policies.items():
        if all(is_owned_line(ln) for ln in context_lines(raw, ctx)):
            out.append(f"delete {ctx}")
        else:
            out += [f"delete {ctx} policy {name}" for name in names]
    book = book_lines(raw)
    if owned.addresses and all(is_owned_line(ln) for ln in book):
        out.append(f"delete security address-book {c.ADDRESS_BOOK}")
    else:
        out += [f"delete security address-book {c.ADDRESS_BOOK} address {n}" for n in owned.addresses]
    return out + [f"delete applications application {n}" for n in owned.applications]
