"""Render a neutral policy as FortiOS CLI lines that take a FortiGate from its current state to it.

FortiOS applies each ``edit`` at ``next``/``end`` (there is no candidate), so the *order* of lines is
itself a safety property. The render keeps one invariant at every intermediate step: no egressctl deny
ever sits above an egressctl management permit. It does so by

1. creating/updating address and service objects first (inert until a policy uses them);
2. editing policies in place (new ones are appended at the bottom of the list, below the site's own
   policies, where they change nothing);
3. moving them to the top in desired order, *first to last*, so the deny is placed only after every
   permit above it is in place;
4. deleting what egressctl no longer needs, the deny first (so a full restore never passes through
   "permits removed, deny still there", which would cut the management path);
5. deleting the unused objects last (FortiOS refuses to delete an object a policy still uses).

Only settings that differ from the device are sent, so a second apply renders nothing. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from egressctl_drivers.common import ordering
from egressctl_drivers.common.state import marker, same_but_stamp
from egressctl_drivers.fortinet import constants as C
from egressctl_drivers.fortinet.parse import Entry, FortiConfig, address_network, is_owned, parse_config

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule

Settings = dict[str, list[str]]


def address_name(net: Network) -> str:
    """Owned address object name for a prefix (``:`` becomes ``_``, the length follows a ``-``)."""
    return f"{C.OWNED_PREFIX}{str(net.network_address).replace(':', '_')}-{net.prefixlen}"


def policy_name(rule: Rule) -> str:
    """Owned policy name, shortened with a digest to fit FortiOS's 35-character limit."""
    name = f"{C.OWNED_PREFIX}{rule.name}"
    if len(name) <= C.POLICY_NAME_MAX:
        return name
    digest = hashlib.sha256(rule.name.encode()).hexdigest()[:6]
    return f"{name[: C.POLICY_NAME_MAX - 7]}-{digest}"


def service_name(rule: Rule, v6: bool = False) -> str:
    """Owned custom service name for a rule (``-6`` for the ICMP6 twin)."""
    return f"{C.OWNED_PREFIX}{rule.name}{'-6' if v6 else ''}"[: C.OBJECT_NAME_MAX]


def _nets(nets: Iterable[Network], fam: int) -> list[Network]:
    return [n for n in nets if n.version == fam]


def _portrange(dst: tuple[PortRange, ...], src: tuple[PortRange, ...]) -> list[str]:
    dsts = [str(p) for p in dst] or [C.FULL_RANGE]
    if not src:
        return dsts
    return [f"{d}:{s}" for d in dsts for s in (str(p) for p in src)]


def _services(rule: Rule) -> dict[str, Settings]:
    if rule.protocol == "any":
        return {}
    if rule.protocol == "icmp":
        out = {service_name(rule): {"protocol": ["ICMP"]}}
        if 6 in rule.families():
            out[service_name(rule, v6=True)] = {"protocol": ["ICMP6"]}
        return out
    key = f"{rule.protocol}-portrange"
    return {service_name(rule): {key: _portrange(rule.dst_ports, rule.src_ports)}}


def _addr_list(nets: list[Network], any_: bool) -> list[str]:
    return [C.ADDR_ANY] if any_ else [address_name(n) for n in nets]


def _policy_settings(device: Device, policy: Policy, rule: Rule) -> Settings:
    s: Settings = {
        "name": [policy_name(rule)],
        "srcintf": list(device.inside),
        "dstintf": list(device.outside),
    }
    for fam, suffix in ((4, ""), (6, "6")):
        if fam in rule.families():
            s[f"srcaddr{suffix}"] = _addr_list(_nets(rule.sources, fam), not rule.sources)
            s[f"dstaddr{suffix}"] = _addr_list(_nets(rule.destinations, fam), not rule.destinations)
    s["action"] = ["accept" if rule.action == "permit" else "deny"]
    s["schedule"] = [C.SCHEDULE]
    s["service"] = list(_services(rule)) or [C.SERVICE_ANY]
    s["comments"] = [f"{marker(policy)} {C.RULE_TAG_FORMAT.format(rule=rule.name, kind=rule.kind)}"]
    return s


MANAGED_POLICY_KEYS = ("name", "srcintf", "dstintf", "srcaddr", "dstaddr", "srcaddr6", "dstaddr6", "action",
                       "schedule", "service", "comments")


def _q(values: list[str]) -> str:
    return " ".join(v if v.isdigit() or v == "" else '"' + v.replace('"', '\\"') + '"' for v in values)


def _set_lines(current: Entry | None, desired: Settings, keys: Iterable[str],
               strict: bool = True) -> list[str]:
    """``set``/``unset`` lines for the keys whose value differs on the device.

    Not ``strict``, a comment differing only in its stamp is left alone (see :func:`render`).
    """
    out: list[str] = []
    for k in keys:
        have = current.get(k) if current is not None else []
        want = desired.get(k)
        if want is None:
            if current is not None and have:
                out.append(f"unset {k}")
        elif have != want and (strict or k != "comments"
                               or not same_but_stamp(" ".join(have), " ".join(want))):
            raw = k in ("subnet", "ip6", "tcp-portrange", "udp-portrange", "protocol", "action")
            out.append(f"set {k} {' '.join(want) if raw else _q(want)}")
    return out


def _desired_objects(policy: Policy) -> tuple[dict[str, Network], dict[str, Network], dict[str, Settings]]:
    a4: dict[str, Network] = {}
    a6: dict[str, Network] = {}
    svc: dict[str, Settings] = {}
    for r in policy.rules:
        for fam in r.families():
            for n in _nets(r.sources, fam) + _nets(r.destinations, fam):
                (a4 if fam == 4 else a6)[address_name(n)] = n
        svc.update(_services(r))
    return a4, a6, svc


def _address_block(cfg: FortiConfig, section: str, want: dict[str, Network]) -> list[str]:
    out: list[str] = []
    for name, net in want.items():
        cur = cfg.find(section, name)
        if cur is not None and address_network(cur) == net:
            continue
        value = f"ip6 {net}" if net.version == 6 else f"subnet {net.network_address} {net.netmask}"
        out += [f'edit "{name}"', f"set {value}", "next"]
    return [f"config {section}", *out, "end"] if out else []


def _service_block(cfg: FortiConfig, want: dict[str, Settings]) -> list[str]:
    out: list[str] = []
    keys = ("protocol", "tcp-portrange", "udp-portrange")
    for name, settings in want.items():
        cur = cfg.find(C.SEC_SERVICE, name)
        have = Entry(name, dict(cur.settings)) if cur else None
        if have is not None and "protocol" not in have.settings:
            have.settings["protocol"] = ["TCP/UDP/SCTP"]
        full = {"protocol": settings.get("protocol", ["TCP/UDP/SCTP"]), **settings}
        sets = _set_lines(have, full, keys)
        if have is None:
            sets = [ln for ln in sets if ln != "set protocol TCP/UDP/SCTP"]
        if sets:
            out += [f'edit "{name}"', *sets, "next"]
    return [f"config {C.SEC_SERVICE}", *out, "end"] if out else []


def _delete_block(section: str, names: list[str]) -> list[str]:
    return [f"config {section}", *(f'delete "{n}"' for n in names), "end"] if names else []


def _moves(order: list[str], desired: list[str], stale: set[str]) -> list[str]:
    """``move`` lines putting ``desired`` first, in order, moving first to last (see module docstring)."""
    return [f"move {m.item} before {m.anchor}" if m.kind == "first" else f"move {m.item} after {m.anchor}"
            for m in ordering.moves(order, desired, stale)]


def _policy_block(device: Device, policy: Policy, cfg: FortiConfig, strict: bool) -> list[str]:
    """Edits, moves and deletes inside ``config firewall policy``."""
    existing = cfg.entries(C.SEC_POLICY)
    owned = {(e.settings.get("name") or [""])[0]: e for e in existing if is_owned(e)}
    ids = [int(e.key) for e in existing if e.key.isdigit()]
    next_id = max([*ids, int(device.options.get("policy_id_base", 0))]) + 1
    edits: list[str] = []
    desired: list[str] = []
    order = [e.key for e in existing]
    for rule in policy.rules:
        want = _policy_settings(device, policy, rule)
        cur = owned.pop(want["name"][0], None)
        if cur is None:
            pid = str(next_id)
            next_id += 1
            order.append(pid)
        else:
            pid = cur.key
        sets = _set_lines(cur, want, MANAGED_POLICY_KEYS, strict)
        if sets:
            edits += [f"edit {pid}", *sets, "next"]
        desired.append(pid)
    stale = sorted(owned.values(), key=lambda e: e.get("action") != ["deny"])  # deny first
    lines = edits + _moves(order, desired, {e.key for e in stale}) + [f"delete {e.key}" for e in stale]
    return [f"config {C.SEC_POLICY}", *lines, "end"] if lines else []


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """FortiOS lines from ``current`` (parsed from its ``raw`` read-back) to ``policy``; [] when in place.

    A device in place under another operation's stamp needs nothing; once something must change, every
    owned policy gets this operation's stamp (its comment rewritten), so the read-back names one owner.
    """
    cfg = parse_config(current.raw) if current is not None else FortiConfig()
    a4, a6, svc = _desired_objects(policy)
    head = _address_block(cfg, C.SEC_ADDRESS, a4) + _address_block(cfg, C.SEC_ADDRESS6, a6)
    head += _service_block(cfg, svc)
    body = _policy_block(device, policy, cfg, strict=False)
    tail = _delete_block(C.SEC_SERVICE, [e.key for e in cfg.entries(C.SEC_SERVICE)
                                         if e.key.startswith(C.OWNED_PREFIX) and e.key not in svc])
    for section, want in ((C.SEC_ADDRESS6, a6), (C.SEC_ADDRESS, a4)):
        tail += _delete_block(section, [e.key for e in cfg.entries(section)
                                        if e.key.startswith(C.OWNED_PREFIX) and e.key not in want])
    if head or body or tail:
        body = _policy_block(device, policy, cfg, strict=True)
    return head + body + tail
