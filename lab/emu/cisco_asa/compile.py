"""Compile the ASA's running configuration into nftables, with ASA semantics.

* Stateful: a connection is checked once, when it is set up; its later packets (both directions) pass on
  the connection table (``ct state established,related accept`` first), so an ACL change leaves
  established connections alone until ``clear conn`` removes them, as on the ASA (conntrack is its table).
* ``access-group A in interface N`` checks new connections entering ``N``; without one, traffic from a
  lower to a higher security level is refused (the ASA's default); ``out`` checks new connections leaving
  ``N`` in addition. First match wins, an ACL ends in an implicit deny; one unified ACL holds both families.
* Interface ACLs never filter traffic to the ASA itself (management: ``ssh``/``http`` commands do), so the
  input hook is left alone.
"""

from __future__ import annotations

from egressctl_lab.emu.arista_eos.compile import match_expr
from egressctl_lab.emu.cisco_asa.acl import matches
from egressctl_lab.emu.cisco_asa.model import Config
from egressctl_lab.emu.dataplane import table


def ruleset(cfg: Config) -> str:
    """The full ``inet egressctl_emu`` table text for ``cfg``."""
    chains: dict[str, str] = {}
    bodies: list[str] = []

    def chain_for(name: str) -> str | None:
        if name not in cfg.acls:
            return None
        if name not in chains:
            chains[name] = f"acl_{len(chains)}"
            bodies.append(_acl_chain(chains[name], name, cfg))
        return chains[name]

    rules = ["ct state established,related accept"]
    up = [i for i in cfg.interfaces.values() if i.kernel and i.nameif and not i.shutdown]
    for itf in up:
        chain = chain_for(cfg.binding("in", itf.nameif) or "")
        if chain is not None:
            rules.append(f'iifname "{itf.kernel}" jump {chain}')
            continue
        for other in up:
            if other.security > itf.security:
                rules.append(f'iifname "{itf.kernel}" oifname "{other.kernel}" counter drop')
    for itf in up:
        chain = chain_for(cfg.binding("out", itf.nameif) or "")
        if chain is not None:
            rules.append(f'oifname "{itf.kernel}" jump {chain}')
    base = ["  chain forward {", "    type filter hook forward priority filter; policy accept;",
            *(f"    {r}" for r in rules), "  }"]
    return table("\n".join([*base, *bodies]))


def _acl_chain(chain: str, name: str, cfg: Config) -> str:
    lines = [f"  chain {chain} {{", f"    # access-list {name}"]
    for ace in cfg.acls[name]:
        if not ace.startswith("extended "):
            continue
        action, found = matches(ace.removeprefix("extended "), cfg.groups)
        verdict = "return" if action == "permit" else "drop"
        for m in found:
            words = match_expr(m, m.src.version)
            fam = f"meta nfproto {'ipv4' if m.src.version == 4 else 'ipv6'}"
            lines.append(f"    {' '.join(words if words == [fam] else [fam, *words])} counter {verdict}")
    return "\n".join([*lines, "    counter drop", "  }"])
