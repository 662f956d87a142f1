"""VyOS 1.4 firewall: check ``set firewall ...`` lines, validate at commit, compile to nftables.

The part of the tree interpreted (VyOS documentation, Firewall, 1.4 syntax):

* ``firewall ipv4|ipv6 forward|input|output filter``: the base chains, ``default-action`` (accept) and
  ``rule N`` in number order;
* ``firewall ipv4|ipv6 name NAME``: custom chains reached by ``action jump`` + ``jump-target NAME``, their
  ``default-action`` (drop unless set [M]) and rules; ``action return`` goes back to the calling chain;
* rule matches ``protocol``, ``source|destination address|port``, ``outbound-interface name`` and
  ``inbound-interface name``, ``disable``; actions accept, drop, reject, return, jump, continue;
* ``firewall global-options state-policy established|related|invalid action accept|drop``: applied before
  any rule, which is why an established connection survives a rule change (the reference: VyOS keeps
  sessions); only clearing its conntrack entry ends it.
"""

from __future__ import annotations

import ipaddress
import re

from egressctl_lab.emu.dataplane import table
from egressctl_lab.emu.vyos.tree import Tree, get, value

FAMILIES = {"ipv4": 4, "ipv6": 6}
HOOKS = ("forward", "input", "output")
ACTIONS = frozenset({"accept", "drop", "reject", "return", "jump", "continue"})
PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "ipv6-icmp": "ipv6-icmp", "icmpv6": "ipv6-icmp",
             "all": "", "tcp_udp": "tcp_udp"}
_PORT = re.compile(r"^\d{1,5}(-\d{1,5})?$")
RULE_FIELDS = frozenset({"action", "protocol", "source", "destination", "description", "jump-target",
                         "outbound-interface", "inbound-interface", "state", "log", "disable"})


def check_set(words: list[str]) -> str | None:
    """Why a ``set firewall ...`` path is refused (a vendor message), or None when it is accepted."""
    if len(words) < 2 or words[1] not in {"ipv4", "ipv6", "group", "global-options", "zone", "flowtable",
                                          "bridge", "interface"}:
        return "path"
    if words[1] not in FAMILIES or len(words) < 4:
        return None
    rest = words[2:]
    if rest[0] in HOOKS:
        if len(rest) < 2 or rest[1] != "filter":
            return "path"
        rest = rest[2:]
    elif rest[0] == "name":
        rest = rest[2:]
    else:
        return "path"
    if not rest or rest[0] in {"default-action", "description", "default-log"}:
        if rest[:1] == ["default-action"] and rest[1:2] and rest[1] not in {"accept", "drop", "reject",
                                                                           "return", "continue"}:
            return f"Invalid value: {rest[1]}"
        return None
    if rest[0] != "rule" or len(rest) < 3 or not rest[1].isdigit() or not 1 <= int(rest[1]) <= 999999:
        return "path"
    return _check_rule(rest[2:], FAMILIES[words[1]])


def _check_rule(rest: list[str], family: int) -> str | None:
    field, arg = rest[0], rest[1:]
    if field not in RULE_FIELDS:
        return "path"
    if field == "action" and arg and arg[0] not in ACTIONS:
        return f"Invalid value: {arg[0]}"
    if field == "protocol" and arg and arg[0] not in PROTOCOLS and not arg[0].isdigit():
        return f"Invalid protocol: {arg[0]}"
    if field in ("source", "destination") and len(arg) >= 2:
        if arg[0] == "address":
            return _check_address(arg[1], family)
        if arg[0] == "port" and not all(_PORT.match(p) for p in arg[1].split(",")):
            return f"Invalid port: {arg[1]}"
    return None


def _check_address(text: str, family: int) -> str | None:
    try:
        net = ipaddress.ip_network(text.lstrip("!"), strict=False)
    except ValueError:
        return f"Invalid value: {text}"
    return None if net.version == family else f"Invalid value: {text}"


def commit_errors(cfg: Tree) -> list[str]:
    """What a commit refuses in the firewall (VyOS's verify step): jumps without or to a missing chain."""
    errors: list[str] = []
    for fam in FAMILIES:
        names = get(cfg, ["firewall", fam, "name"]) or {}
        for where, rules in _rule_sets(cfg, fam):
            for num, rule in rules.items():
                if value(rule, ["action"]) != "jump":
                    continue
                target = value(rule, ["jump-target"])
                if not target:
                    errors.append(f"{where} rule {num}: jump-target needs to be set when action is jump")
                elif target not in names:
                    errors.append(f"Invalid jump-target. Firewall name {target} does not exist on the system")
    return errors


def _rule_sets(cfg: Tree, fam: str) -> list[tuple[str, Tree]]:
    out = []
    for hook in HOOKS:
        rules = get(cfg, ["firewall", fam, hook, "filter", "rule"])
        if rules:
            out.append((f"{fam} {hook} filter", rules))
    for name, chain in (get(cfg, ["firewall", fam, "name"]) or {}).items():
        out.append((f"{fam} name {name}", chain.get("rule", {})))
    return out


def ruleset(cfg: Tree, interfaces: dict[str, str]) -> str:
    """The full ``inet egressctl_emu`` table text enforcing ``cfg``'s firewall."""
    chains: list[str] = []
    base: dict[str, list[str]] = {hook: _state_policy(cfg) for hook in HOOKS}
    for fam, num in FAMILIES.items():
        names = get(cfg, ["firewall", fam, "name"]) or {}
        for name, chain in sorted(names.items()):
            chains.append(_chain(f"n{num}_{_safe(name)}", chain, num, interfaces, "drop"))
        for hook in HOOKS:
            node = get(cfg, ["firewall", fam, hook, "filter"])
            if node is None:
                continue
            chains.append(_chain(f"b{num}_{hook}", node, num, interfaces, "accept"))
            base[hook].append(f"meta nfproto {fam} jump b{num}_{hook}")
    heads = [_base(hook, rules) for hook, rules in base.items()]
    return table("\n".join([*heads, *chains]))


def _state_policy(cfg: Tree) -> list[str]:
    out = []
    for state in ("established", "related", "invalid"):
        action = value(cfg, ["firewall", "global-options", "state-policy", state, "action"])
        if action in ("accept", "drop"):
            out.append(f"ct state {state} {action}")
    return out


def _base(hook: str, rules: list[str]) -> str:
    lines = [f"  chain {hook} {{", f"    type filter hook {hook} priority filter; policy accept;"]
    return "\n".join([*lines, *[f"    {r}" for r in rules], "  }"])


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _chain(name: str, node: Tree, fam: int, interfaces: dict[str, str], default: str) -> str:
    lines = [f"  chain {name} {{"]
    for num in sorted(node.get("rule", {}), key=int):
        rule = node["rule"][num]
        if "disable" in rule:
            continue
        verdict = _verdict(rule, fam)
        if verdict:
            lines.append(f"    {' '.join(_matches(rule, fam, interfaces))} counter {verdict}")
    final = value(node, ["default-action"], default)
    lines.append(f"    counter {_verdict({'action': {final: {}}}, fam) or 'return'}")
    return "\n".join([*lines, "  }"])


def _verdict(rule: Tree, fam: int) -> str:
    action = value(rule, ["action"])
    if action == "jump":
        target = value(rule, ["jump-target"])
        return f"jump n{fam}_{_safe(target)}" if target else ""
    return {"accept": "accept", "drop": "drop", "reject": "reject", "return": "return",
            "continue": "continue"}.get(action, "")


def _matches(rule: Tree, fam: int, interfaces: dict[str, str]) -> list[str]:
    ip = "ip" if fam == 4 else "ip6"
    out: list[str] = []
    proto = PROTOCOLS.get(value(rule, ["protocol"]), value(rule, ["protocol"]))
    if proto == "tcp_udp":
        out.append("meta l4proto { tcp, udp }")
    elif proto:
        out.append(f"meta l4proto {'icmpv6' if proto == 'ipv6-icmp' else proto}")
    for side, fld in (("source", "saddr"), ("destination", "daddr")):
        addr = value(rule, [side, "address"])
        if addr:
            neg = "!= " if addr.startswith("!") else ""
            out.append(f"{ip} {fld} {neg}{addr.lstrip('!')}")
        port = value(rule, [side, "port"])
        if port and proto in ("tcp", "udp", "tcp_udp"):
            word = "th" if proto == "tcp_udp" else proto
            out.append(f"{word} {side[0]}port {{ {port.replace(',', ', ')} }}")
    for key, word in (("outbound-interface", "oifname"), ("inbound-interface", "iifname")):
        itf = value(rule, [key, "name"])
        if itf:
            out.append(f'{word} "{interfaces.get(itf, itf)}"')
    return out or [f"meta nfproto {'ipv4' if fam == 4 else 'ipv6'}"]
