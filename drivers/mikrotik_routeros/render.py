"""Render the neutral policy as RouterOS console lines (pure; golden-tested).

egressctl owns, per family (``/ip firewall filter`` and ``/ipv6 firewall filter``):

* one chain (``egressctl-a`` or ``egressctl-b``) holding a ``passthrough`` marker rule (its comment is the
  marker and the operation's stamp) and one rule per policy atom, in atom order: ``return`` for a permit
  (back to the forward chain, so the site's own rules still apply to what egressctl lets through), ``drop``
  for a deny;
* one ``jump`` rule per outside interface in chain ``forward`` (``out-interface=``), placed at the top of the
  list (``place-before=0``), above the default configuration's FastTrack and ``accept established`` rules:
  every packet that is not fasttracked meets egressctl's chain.

A change builds the new chain in the free slot, then points the jumps at it with one ``set`` (make before
break); the old chain is removed by the confirm. RouterOS applies each line at once.
"""

from __future__ import annotations

from egressctl_drivers.common.state import holds, marker
from egressctl_drivers.mikrotik_routeros import constants as c
from egressctl_drivers.mikrotik_routeros.parse import Owned, owned

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule


def q(value: str) -> str:
    r"""A console value in double quotes (``\\`` and ``"`` escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _addr(net: Network) -> str:
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def _port(p: PortRange) -> str:
    return str(p.first) if p.first == p.last else f"{p.first}-{p.last}"


def entries(rule: Rule, fam: int, chain: str) -> list[str]:
    """The ``add`` lines of one rule for one family, in atom order (properties as export sorts them)."""
    action = "return" if rule.action == "permit" else "drop"
    proto = {"tcp": "tcp", "udp": "udp", "icmp": "icmp" if fam == 4 else "icmpv6"}.get(rule.protocol)
    srcs: list[Network | None] = [n for n in rule.sources if n.version == fam and n.prefixlen] or [None]
    dsts: list[Network | None] = [n for n in rule.destinations if n.version == fam and n.prefixlen] or [None]
    sps: list[PortRange | None] = list(rule.src_ports) or [None]
    dps: list[PortRange | None] = list(rule.dst_ports) or [None]
    out = []
    for s in srcs:
        for d in dsts:
            for sp in sps:
                for dp in dps:
                    comment = q(c.RULE_COMMENT.format(name=rule.name))
                    props = {"action": action, "chain": chain, "comment": comment}
                    if d is not None:
                        props["dst-address"] = _addr(d)
                    if dp is not None:
                        props["dst-port"] = _port(dp)
                    if proto:
                        props["protocol"] = proto
                    if s is not None:
                        props["src-address"] = _addr(s)
                    if sp is not None:
                        props["src-port"] = _port(sp)
                    out.append(f"{c.MENU[fam]} add " + " ".join(f"{k}={v}" for k, v in sorted(props.items())))
    return out


def chain_lines(policy: Policy, fam: int, chain: str) -> list[str]:
    """The marker rule and every rule of ``policy`` for one family, into ``chain``."""
    out = [f"{c.MENU[fam]} add action=passthrough chain={chain} comment={q(marker(policy))}"]
    for rule in policy.rules:
        if fam in rule.families():
            out += entries(rule, fam, chain)
    return out


def jump_lines(device: Device, fam: int, have: Owned, chain: str) -> list[str]:
    """Point egressctl's jumps at ``chain``: one ``set`` when they are in place, else (re)create them."""
    jumps = have.jumps.get(fam, {})
    if jumps and set(jumps) == set(device.outside):
        return [f'{c.MENU[fam]} set [find where comment={q(c.JUMP_COMMENT)}] jump-target={chain}']
    out = [f"{c.MENU[fam]} remove [find where comment={q(c.JUMP_COMMENT)}]"] if jumps else []
    for itf in reversed(device.outside):
        out.append(f"{c.MENU[fam]} add action=jump chain=forward comment={q(c.JUMP_COMMENT)} "
                   f"jump-target={chain} "
                   f"out-interface={itf} place-before=0")
    return out


def free_slot(have: Owned) -> str:
    """The chain a change builds in: the one the jumps do not point at."""
    return c.SLOTS[1] if have.active == c.SLOTS[0] else c.SLOTS[0]


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """Lines taking the router from ``current`` to ``policy`` ([] when already there)."""
    if holds(policy, current):
        return []
    have = owned(current.raw if current is not None else "")
    if policy.is_normal:
        return [f'{c.MENU[f]} remove [find where comment~{q("^" + c.OWNED_PREFIX)}]' for f in (4, 6)
                if have.any.get(f)]
    new = free_slot(have)
    out: list[str] = []
    for fam in (4, 6):
        if new in have.chains.get(fam, set()):
            out.append(f"{c.MENU[fam]} remove [find where chain={new}]")
        out += chain_lines(policy, fam, new)
        out += jump_lines(device, fam, have, new)
    return out


def undo_lines(before: DeviceState, new: str) -> list[str]:
    """What puts the router back to ``before`` after a change built in chain ``new`` (the on-box revert)."""
    have = owned(before.raw)
    out: list[str] = []
    for fam in (4, 6):
        if have.active is None or not have.jumps.get(fam):
            out.append(f'{c.MENU[fam]} remove [find where comment~{q("^" + c.OWNED_PREFIX)}]')
        else:
            out += [f"{c.MENU[fam]} set [find where comment={q(c.JUMP_COMMENT)}] jump-target={have.active}",
                    f"{c.MENU[fam]} remove [find where chain={new}]"]
    return out


def arm_lines(undo: list[str], seconds: int, note: str) -> list[str]:
    """The script holding ``undo`` (then removing the safety net) and its two scheduler items."""
    body = [*undo, f"/system scheduler remove [find where name~{q('^' + c.REVERT)}]",
            f"/system script remove [find where name={q(c.REVERT)}]"]
    source = q("\r\n".join(body)).replace("\r", "\\r").replace("\n", "\\n")
    s = min(c.REVERT_MAX_SECONDS, max(c.REVERT_MIN_SECONDS, seconds))
    return [f"/system script add comment={q(note)} name={c.REVERT} source={source}",
            f"/system scheduler add interval={s}s name={c.REVERT} on-event={c.REVERT}",
            f"/system scheduler add name={c.REVERT_BOOT} on-event={c.REVERT} start-time=startup"]


def disarm_lines() -> list[str]:
    """Remove the safety net (the confirm)."""
    return [f"/system scheduler remove [find where name~{q('^' + c.REVERT)}]",
            f"/system script remove [find where name={q(c.REVERT)}]"]
