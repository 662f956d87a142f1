"""Parse Junos ``display set`` output back into egressctl's neutral rules (pure).

The read-back is the ``display set`` form of the security policies (all of them: the site's first policy
per zone pair is needed to insert egressctl's before it, and to check they still come first), the whole
``global`` address book (to know whether egressctl's entries are all it holds) and the applications whose
names start with ``egressctl-``.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field

from egressctl_drivers.common.state import build_state, kind_for
from egressctl_drivers.juniper_junos import constants as c

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange, Protocol
from egressctl.policy import ANY_V4, ANY_V6, Rule

_POLICY = re.compile(r"^set (security policies from-zone \S+ to-zone \S+) policy (\S+)(?: (.*))?$")
_ADDRESS = re.compile(r"^set security address-book \S+ address (\S+) (\S+)\s*$")
_APP = re.compile(r"^set applications application (\S+) (.*)$")


class ParseError(ValueError):
    """An owned object uses a construct egressctl never writes."""


@dataclass
class Owned:
    """Names of every egressctl object found, per kind (policies per zone-pair context, in order)."""

    policies: dict[str, list[str]] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)
    applications: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.policies or self.addresses or self.applications)


def _policy_order(raw: str) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for line in raw.splitlines():
        m = _POLICY.match(line.strip())
        if m and m.group(2) not in order.setdefault(m.group(1), []):
            order[m.group(1)].append(m.group(2))
    return order


def owned_objects(raw: str) -> Owned:
    """Every ``egressctl-`` policy, address and application present in ``raw``."""
    out = Owned()
    for ctx, names in _policy_order(raw).items():
        mine = [n for n in names if n.startswith(c.PREFIX)]
        if mine:
            out.policies[ctx] = mine
    for line in raw.splitlines():
        line = line.strip()
        for rx, names in ((_ADDRESS, out.addresses), (_APP, out.applications)):
            m = rx.match(line)
            if m and m.group(1).startswith(c.PREFIX) and m.group(1) not in names:
                names.append(m.group(1))
    return out


def foreign_policies(raw: str) -> dict[str, list[str]]:
    """The site's own policies per zone-pair context, in device order."""
    order = _policy_order(raw)
    return {ctx: [n for n in names if not n.startswith(c.PREFIX)] for ctx, names in order.items()}


def _addresses(raw: str) -> dict[str, Network]:
    """The address-book entries egressctl owns (the site's, also read back, are skipped)."""
    return {m.group(1): ipaddress.ip_network(m.group(2)) for line in raw.splitlines()
            if (m := _ADDRESS.match(line.strip())) and m.group(1).startswith(c.PREFIX)}


def book_lines(raw: str) -> list[str]:
    """Every ``display set`` line of egressctl's address book (``global``) in ``raw``."""
    head = f"set security address-book {c.ADDRESS_BOOK}"
    return [ln.strip() for ln in raw.splitlines() if ln.strip() == head or ln.strip().startswith(head + " ")]


def context_lines(raw: str, ctx: str) -> list[str]:
    """Every ``display set`` line of one ``security policies from-zone A to-zone B`` context in ``raw``."""
    head = f"set {ctx}"
    return [ln.strip() for ln in raw.splitlines() if ln.strip() == head or ln.strip().startswith(head + " ")]


_OWNED_LINE = re.compile(
    rf"^set (?:security policies from-zone \S+ to-zone \S+ policy {re.escape(c.PREFIX)}\S*"
    rf"|security address-book {re.escape(c.ADDRESS_BOOK)} address {re.escape(c.PREFIX)}\S*"
    rf"|applications application {re.escape(c.PREFIX)}\S*)(?: |$)"
)
_STATEMENT_VERBS = ("set", "deactivate", "protect")


def is_owned_line(line: str) -> bool:
    """True when a ``display set`` line belongs to a policy, address or application egressctl owns."""
    return _OWNED_LINE.match(line.strip()) is not None


def only_owned_changes(device: Device, active: str, candidate: str) -> bool:
    """True when ``candidate`` differs from ``active`` only in what egressctl owns (``display set`` texts).

    Everything else (the site's statements) must be the same lines in the same order, so a changed,
    added, removed or reordered site statement makes it False. egressctl's own policies, addresses and
    applications may differ in any way, including their insert position; so may the bare containers
    egressctl's changes create or empty (its address book, the zone-pair contexts it writes into).
    """
    zones = [f"security policies from-zone {i}" for i in device.inside]
    containers = {f"set security address-book {c.ADDRESS_BOOK}", "set applications", "set security policies",
                  *(f"set {z}" for z in zones),
                  *(f"set {z} to-zone {o}" for z in zones for o in device.outside)}

    def foreign(text: str) -> list[str]:
        lines = [ln.strip() for ln in text.replace("\r", "").splitlines()]
        return [ln for ln in lines if ln.split(" ", 1)[0] in _STATEMENT_VERBS
                and ln not in containers and not is_owned_line(ln)]

    return foreign(active) == foreign(candidate)


def commit_head(history: str, entries: int = 2) -> tuple[str, ...]:
    """The newest ``entries`` of ``show system commit``, any pending countdown left out.

    Every commit adds a new entry 0, the automatic rollback of an unconfirmed ``commit confirmed``
    included (Junos "loads and commits the previously committed configuration"). Two equal heads taken
    before and after a read-back therefore mean no commit landed between its commands.
    """
    head = [re.sub(r"rollback in \S+", "rollback in", ln.strip()) for ln in history.splitlines()
            if c.COMMIT_ENTRY_RE.match(ln)]
    return tuple(head[:entries])


def pending_in(history: str) -> bool:
    """True when entry 0 of ``show system commit`` is a ``commit confirmed`` still waiting."""
    first = next((ln for ln in history.splitlines() if re.match(r"^\s*0\s", ln)), "")
    return re.search(c.PENDING_RE, first) is not None


def _applications(raw: str) -> dict[str, dict[str, str]]:
    apps: dict[str, dict[str, str]] = {}
    for line in raw.splitlines():
        if m := _APP.match(line.strip()):
            key, _, value = m.group(2).partition(" ")
            apps.setdefault(m.group(1), {})[key] = value
    return apps


def _port(text: str | None) -> PortRange | None:
    if not text:
        return None
    a, _, b = text.partition("-")
    return PortRange(first=int(a), last=int(b or a))


def _net(name: str, book: dict[str, Network]) -> Network | None:
    if name == "any":
        return None
    special = {"any-ipv4": ANY_V4, "any-ipv6": ANY_V6}
    if name in special:
        return special[name]
    if name not in book:
        raise ParseError(f"address {name!r} is not in the address book read back")
    return book[name]


def parse_policy(
    name: str, lines: list[str], book: dict[str, Network], apps: dict[str, dict[str, str]]
) -> Rule:
    """The ``display set`` tails of one owned policy -> one neutral rule."""
    srcs: list[Network] = []
    dsts: list[Network] = []
    protocol: Protocol = "any"
    sports: list[PortRange] = []
    dports: list[PortRange] = []
    action = "permit"
    for tail in lines:
        words = shlex.split(tail)
        if words[:2] == ["match", "source-address"] and (n := _net(words[2], book)) is not None:
            srcs.append(n)
        elif words[:2] == ["match", "destination-address"] and (n := _net(words[2], book)) is not None:
            dsts.append(n)
        elif words[:2] == ["match", "application"] and words[2] != "any":
            app = apps.get(words[2])
            if app is None:
                raise ParseError(f"application {words[2]!r} is not among those read back")
            proto = app.get("protocol", "")
            protocol = "icmp" if proto in ("icmp", "icmp6") else proto  # type: ignore[assignment]
            sp, dp = _port(app.get("source-port")), _port(app.get("destination-port"))
            if sp is not None and sp not in sports:
                sports.append(sp)
            if dp is not None and dp not in dports:
                dports.append(dp)
        elif words[0] == "then":
            action = "permit" if words[1] == "permit" else "deny"
    if protocol not in ("any", "tcp", "udp", "icmp"):
        raise ParseError(f"policy {name}: unexpected protocol {protocol!r}")
    rule_name = re.sub(rf"^{re.escape(c.PREFIX)}\d+-", "", name)
    return Rule(rule_name, kind_for(rule_name, action), "permit" if action == "permit" else "deny", protocol,
                tuple(srcs), tuple(dsts), tuple(sports), tuple(dports))


def parse_state(device: Device, raw: str, *, pending: bool) -> DeviceState:
    """Read-back text -> neutral ``DeviceState`` (rules of the first inside/outside context).

    The marker only counts when every zone pair holds the same owned policies and they come before
    every site policy; otherwise the state is ``unknown`` and the planner re-applies.
    """
    owned = owned_objects(raw)
    order = _policy_order(raw)
    book, apps = _addresses(raw), _applications(raw)
    ctxs = [f"security policies from-zone {i} to-zone {o}" for i in device.inside for o in device.outside]
    per_ctx: dict[str, list[str]] = {ctx: [] for ctx in ctxs}
    tails: dict[tuple[str, str], list[str]] = {}
    marker_text = ""
    for line in raw.splitlines():
        m = _POLICY.match(line.strip())
        if m and m.group(2).startswith(c.PREFIX) and m.group(3):
            tails.setdefault((m.group(1), m.group(2)), []).append(m.group(3))
            if m.group(3).startswith("description") and not marker_text:
                marker_text = m.group(3)
    for ctx in ctxs:
        per_ctx[ctx] = [n for n in order.get(ctx, []) if n.startswith(c.PREFIX)]
    first = ctxs[0]
    rules = [parse_policy(n, tails.get((first, n), []), book, apps) for n in per_ctx[first]]
    consistent = all(per_ctx[ctx] == per_ctx[first] for ctx in ctxs) and all(
        order.get(ctx, [])[: len(per_ctx[ctx])] == per_ctx[ctx] for ctx in ctxs)
    return build_state(marker_text if consistent else "", rules, pending=pending, raw=raw, owned=bool(owned))
