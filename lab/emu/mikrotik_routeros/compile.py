"""Compile the RouterOS firewall filter into nftables, with RouterOS semantics.

* ``/ip firewall filter`` and ``/ipv6 firewall filter`` each have the built-in chains input, forward and
  output (policy accept when no rule matches) and any chain a rule names; rules run top to bottom, the
  first terminating action wins, ``jump`` enters a custom chain and ``return`` comes back, ``passthrough``
  and ``log`` only count and go on.
* ``action=fasttrack-connection`` marks the connection (conntrack mark bit 0) and goes on; every later
  packet of a marked connection skips the filter altogether (FastTrack: "packets bypass firewall"), which
  is why a rule added below the FastTrack rule never meets an established connection, and why removing
  the connection's entry (``/ip firewall connection remove``) is what makes it meet the rules again.
* A rule using a matcher the emulator does not enforce (``ipsec-policy``, ``tcp-flags``, limits, MAC
  addresses, ``icmp-options``) is left out of the data plane [M]: it is stored and shown, never enforced.
"""

from __future__ import annotations

import re

from egressctl_lab.emu.dataplane import table
from egressctl_lab.emu.mikrotik_routeros.model import Config, Item

BASE = ("input", "forward", "output")
FASTTRACK_BIT = "0x00000001"
UNENFORCED = frozenset({"ipsec-policy", "tcp-flags", "connection-limit", "src-mac-address", "dst-limit",
                        "limit",
                        "icmp-options", "connection-nat-state", "port"})
_VERDICT = {"accept": "accept", "drop": "drop", "reject": "reject", "tarpit": "drop", "return": "return"}
_PROTO = {"icmpv6": "ipv6-icmp", "ipv6-icmp": "ipv6-icmp"}


class _Skip(Exception):
    """A rule the data plane does not enforce."""


def ruleset(cfg: Config, interfaces: dict[str, str]) -> str:
    """The full ``inet egressctl_emu`` table text for ``cfg`` (``interfaces``: RouterOS -> kernel name)."""
    bodies: list[str] = []
    hooks: dict[str, list[str]] = {h: [] for h in BASE}
    hooks["forward"].append(f"ct mark & {FASTTRACK_BIT} == {FASTTRACK_BIT} accept")
    for fam, menu in ((4, "ip"), (6, "ipv6")):
        rules = [i for i in cfg.lists.get(f"{menu} firewall filter", []) if i.props.get("disabled") != "yes"]
        names = list(dict.fromkeys([*BASE, *(r.props.get("chain", "") for r in rules),
                                    *(r.props.get("jump-target", "") for r in rules)]))
        chain_of = {n: f"c{fam}_{i}" for i, n in enumerate(n for n in names if n)}
        ctx = _Ctx(fam, cfg, menu, interfaces, chain_of)
        for name, nft_name in chain_of.items():
            lines = [f"  chain {nft_name} {{", f"    # {menu} firewall filter chain={name}"]
            for r in rules:
                if r.props.get("chain") == name:
                    lines += [f"    {x}" for x in ctx.rule(r)]
            bodies.append("\n".join([*lines, "  }"]))
        proto = "ipv4" if fam == 4 else "ipv6"
        for hook in BASE:
            hooks[hook].append(f"meta nfproto {proto} jump {chain_of[hook]}")
    base = []
    for hook in BASE:
        lines = [f"  chain {hook} {{", f"    type filter hook {hook} priority filter; policy accept;"]
        base.append("\n".join([*lines, *(f"    {r}" for r in hooks[hook]), "  }"]))
    return table("\n".join([*base, *bodies]))


class _Ctx:
    def __init__(self, fam: int, cfg: Config, menu: str, interfaces: dict[str, str],
                 chain_of: dict[str, str]) -> None:
        self.fam, self.cfg, self.menu, self.interfaces, self.chain_of = fam, cfg, menu, interfaces, chain_of

    def rule(self, r: Item) -> list[str]:
        p = r.props
        try:
            if any(k in p for k in UNENFORCED):
                raise _Skip
            match = self.matchers(p)
        except _Skip:
            return [f"# not enforced: {r.ref}"]
        action = p.get("action", "accept")
        body = " ".join([*match, "counter"])
        if action == "jump":
            target = self.chain_of.get(p.get("jump-target", ""))
            return [f"{body} jump {target}"] if target else []
        if action == "fasttrack-connection":
            return [f"{body} ct mark set ct mark | {FASTTRACK_BIT}"]
        if action in _VERDICT:
            return [f"{body} {_VERDICT[action]}"]
        return [body]  # passthrough, log, add-*-to-address-list: counted, evaluation goes on

    def matchers(self, p: dict[str, str]) -> list[str]:
        out: list[str] = []
        ip = "ip" if self.fam == 4 else "ip6"
        proto = p.get("protocol")
        if proto:
            neg, word = _neg(proto)
            out.append(f"meta l4proto {neg}{_PROTO.get(word, word)}")
        if "connection-state" in p:
            neg, word = _neg(p["connection-state"])
            out.append(f"ct state {neg}{{ {', '.join(word.split(','))} }}")
        for key, fld in (("src-address", "saddr"), ("dst-address", "daddr")):
            if key in p:
                neg, word = _neg(p[key])
                out.append(f"{ip} {fld} {neg}{word}")
        for key, fld in (("src-address-list", "saddr"), ("dst-address-list", "daddr")):
            if key in p:
                neg, word = _neg(p[key])
                out.append(f"{ip} {fld} {neg}{{ {', '.join(self.address_list(word))} }}")
        for key, fld in (("src-port", "sport"), ("dst-port", "dport")):
            if key in p:
                if proto not in ("tcp", "udp"):
                    raise _Skip
                neg, word = _neg(p[key])
                out.append(f"{proto} {fld} {neg}{{ {', '.join(word.split(','))} }}")
        for key, fld in (("in-interface", "iifname"), ("out-interface", "oifname")):
            if key in p:
                neg, word = _neg(p[key])
                out.append(f'{fld} {neg}{{ {", ".join(self.kernel([word]))} }}')
        for key, fld in (("in-interface-list", "iifname"), ("out-interface-list", "oifname")):
            if key in p:
                neg, word = _neg(p[key])
                out.append(f'{fld} {neg}{{ {", ".join(self.kernel(self.members(word)))} }}')
        return out

    def kernel(self, names: list[str]) -> list[str]:
        known = [f'"{self.interfaces[n]}"' for n in names if n in self.interfaces]
        if not known:
            raise _Skip  # an interface this router does not have matches nothing [M]
        return known

    def members(self, name: str) -> list[str]:
        if name == "all":
            return list(self.interfaces)
        items = self.cfg.lists.get("interface list member", [])
        return [i.props.get("interface", "") for i in items if i.props.get("list") == name]

    def address_list(self, name: str) -> list[str]:
        items = self.cfg.lists.get(f"{self.menu} firewall address-list", [])
        found = [i.props.get("address", "") for i in items
                 if i.props.get("list") == name and i.props.get("disabled") != "yes"]
        found = [a for a in found if re.match(r"^[0-9a-fA-F:./-]+$", a)]
        if not found:
            raise _Skip
        return found


def _neg(value: str) -> tuple[str, str]:
    return ("!= ", value[1:]) if value.startswith("!") else ("", value)
