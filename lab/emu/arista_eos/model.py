"""The EOS switch's configuration model: interfaces, ACLs and a generic tree for everything else.

A configuration session works on a deep copy of this object and replaces the running one at commit, so
the whole model must copy cleanly. Lines the emulator does not interpret (``logging buffered 20000``,
``vlan 120`` / ``name tenant-a``, ``ip routing``) live in :class:`Block` lists, in the order they were
typed, and are shown, saved, committed and rolled back like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from egressctl_lab.emu.arista_eos import constants as c
from egressctl_lab.emu.arista_eos.acl import Acl
from egressctl_lab.emu.base import DeviceSpec


@dataclass
class Block:
    """One stored top-level line and the lines typed under it (empty for a single-line command)."""

    header: str
    children: list[str] = field(default_factory=list)


@dataclass
class Interface:
    """A switch interface: a routed port, an SVI (``Vlan10``) or the management port."""

    name: str
    kernel: str | None = None
    description: str = ""
    shutdown: bool = False
    groups: dict[str, str] = field(default_factory=dict)  # "ip in" / "ipv6 out" -> ACL name
    extra: list[str] = field(default_factory=list)  # other sub-commands, stored as typed

    def group_lines(self) -> list[str]:
        """``ip access-group NAME in`` ... in EOS's order (IPv4 first, in before out)."""
        order = ["ip in", "ip out", "ipv6 in", "ipv6 out"]
        return [f"{k.split()[0]} access-group {self.groups[k]} {k.split()[1]}"
                for k in order if k in self.groups]


@dataclass
class Config:
    """A whole running (or startup, or session) configuration."""

    hostname: str
    interfaces: dict[str, Interface] = field(default_factory=dict)
    acls: dict[tuple[int, str], Acl] = field(default_factory=dict)
    generic: list[Block] = field(default_factory=list)

    def block(self, header: str) -> Block:
        """The stored block with ``header`` (created at the end when missing)."""
        for b in self.generic:
            if b.header == header:
                return b
        found = Block(header)
        self.generic.append(found)
        return found

    def remove(self, header: str) -> bool:
        """``no HEADER``: drop a stored block; True when one went."""
        before = len(self.generic)
        self.generic = [b for b in self.generic if b.header != header]
        return len(self.generic) < before


def baseline(spec: DeviceSpec) -> Config:
    """The switch before anyone touched it: its interfaces from the spec (routed), no ACLs."""
    cfg = Config(hostname=spec.hostname)
    for line in (f"username {spec.username} privilege 15 role network-admin secret {c.FAKE_SECRET}",
                 "spanning-tree mode mstp", "ip routing", "ipv6 unicast-routing"):
        cfg.generic.append(Block(line))
    cfg.generic.append(Block("management api http-commands", ["no shutdown"]))
    for vendor, kernel in spec.interfaces.items():
        itf = Interface(vendor, kernel, spec.options.get(f"description:{vendor}", ""))
        if vendor.startswith("Ethernet"):
            itf.extra.append("no switchport")
        cfg.interfaces[vendor] = itf
    return cfg


def interface_name(text: str, known: dict[str, Interface]) -> str | None:
    """Resolve ``Et1``, ``ethernet 1``, ``Vlan10``, ``vl10``, ``Ma1`` to a canonical interface name."""
    kind = text.rstrip("0123456789/.").lower()
    number = text[len(kind):]
    if not number:
        return None
    for prefix, canonical in c.INTERFACE_KINDS.items():
        if kind and prefix.startswith(kind) and len(kind) >= 2:
            name = canonical + number
            return name if name in known or canonical in ("Vlan", "Loopback", "Port-Channel") else None
    return None
