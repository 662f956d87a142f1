"""The ASA's configuration as the emulator keeps it, and its ``show running-config`` text.

Interpreted: hostname, interfaces (``nameif``, ``security-level``, addresses), object-groups, access-lists
(ACEs kept in display form, in order) and access-group bindings. Every other valid line is stored as typed
(with the sub-mode lines typed under it) and shown, saved and restored like the rest. The order of the
sections follows a real ASA's running-config (interfaces, object-groups, access-lists, global settings,
access-groups) [M: the exact placement of stored lines among the ASA's own is simplified].
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.cisco_asa import constants as c
from egressctl_lab.emu.cisco_asa.acl import ObjectGroup


@dataclass
class Interface:
    """One physical interface; ``kernel`` is its veth in the device's namespace."""

    name: str
    kernel: str | None
    nameif: str = ""
    security: int = 0
    addresses: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    shutdown: bool = False

    def lines(self) -> list[str]:
        """The interface's block as the ASA shows it."""
        body = [*self.extra, *([" shutdown"] if self.shutdown else [])]
        if self.nameif:
            body += [f" nameif {self.nameif}", f" security-level {self.security}"]
        else:
            body += [" no nameif", " no security-level"]
        body += [f" {a}" for a in self.addresses] or ([" no ip address"] if not self.nameif else [])
        return [f"interface {self.name}", *body, "!"]


@dataclass
class Stored:
    """A line the ASA accepted but the emulator does not interpret, with its sub-mode lines."""

    line: str
    sub: list[str] = field(default_factory=list)


@dataclass
class Config:
    """A whole ASA configuration."""

    hostname: str
    interfaces: dict[str, Interface] = field(default_factory=dict)
    groups: dict[str, ObjectGroup] = field(default_factory=dict)
    acls: dict[str, list[str]] = field(default_factory=dict)
    access_groups: list[tuple[str, str, str]] = field(default_factory=list)  # (acl, in|out, nameif)
    stored: list[Stored] = field(default_factory=list)

    def nameifs(self) -> dict[str, Interface]:
        """Interfaces by their ``nameif``."""
        return {i.nameif: i for i in self.interfaces.values() if i.nameif}

    def binding(self, direction: str, nameif: str) -> str | None:
        """The ACL bound in ``direction`` on ``nameif``."""
        return next((a for a, d, n in self.access_groups if d == direction and n == nameif), None)

    def users_of(self, group: str) -> list[str]:
        """ACLs whose entries name ``group``."""
        needle = ["object-group", group]
        return [n for n, aces in self.acls.items()
                if any(a.split()[i:i + 2] == needle for a in aces for i in range(len(a.split())))]

    # -- display --------------------------------------------------------------------------------------
    def group_lines(self, kind: str = "") -> list[str]:
        """Every object-group (of ``kind`` when given) with its objects."""
        return [line for g in self.groups.values() if kind in ("", g.kind)
                for line in (g.head(), *(f" {x}" for x in g.lines))]

    def acl_lines(self) -> list[str]:
        """Every ACE, ``access-list NAME ...``."""
        return [f"access-list {name} {ace}" for name, aces in self.acls.items() for ace in aces]

    def access_group_lines(self) -> list[str]:
        """Every binding, ``access-group NAME in|out interface IF``."""
        return [f"access-group {a} {d} interface {n}" for a, d, n in self.access_groups]

    def stored_lines(self) -> list[str]:
        """The lines kept as typed."""
        return [line for s in self.stored for line in (s.line, *(f" {x}" for x in s.sub))]

    def running(self) -> list[str]:
        """``show running-config`` lines (without the leading ``: Saved`` header)."""
        out = [f"ASA Version {c.VERSION}", "!", f"hostname {self.hostname}"]
        out += c.BASELINE_LINES
        out += [line for itf in self.interfaces.values() for line in itf.lines()]
        out += ["ftp mode passive", *self.group_lines(), *self.acl_lines()]
        out += c.TRAILER_LINES + [f"mtu {n} 1500" for n in self.nameifs()]
        out += self.stored_lines() + self.access_group_lines()
        return [*out, ": end"]

    def section(self, what: str, kind: str = "") -> list[str]:
        """``show running-config WHAT`` (``object-group network|service`` too) for the ASA's sections."""
        if what == "object-group":
            return self.group_lines(kind)
        if what == "interface":
            return [line for i in self.interfaces.values() for line in i.lines()]
        table = {"access-list": self.acl_lines, "access-group": self.access_group_lines,
                 "object-group": self.group_lines}
        if what in table:
            return table[what]()
        return [line for line in self.running() if line.split()[0] == what]


def baseline(spec: DeviceSpec) -> Config:
    """Interfaces from the spec (``nameif:X`` and ``security:X`` options, ``address:X`` v4 CIDR), no ACLs."""
    cfg = Config(hostname=spec.hostname)
    for vendor, kernel in spec.interfaces.items():
        itf = Interface(vendor, kernel)
        itf.nameif = spec.options.get(f"nameif:{vendor}", "")
        itf.security = int(spec.options.get(f"security:{vendor}", "100" if itf.nameif == "inside" else "0"))
        addr = spec.options.get(f"address:{vendor}")
        if addr:
            net = ipaddress.ip_interface(addr)
            itf.addresses.append(f"ip address {net.ip} {net.netmask}")
        cfg.interfaces[vendor] = itf
    cfg.stored.append(Stored(f"username {spec.username} password ***** pbkdf2 privilege 15"))
    return cfg
