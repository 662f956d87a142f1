"""FortiOS configuration model: the schema of the tables the emulator knows, and ``show`` rendering.

FortiOS configuration is a tree of tables (``config firewall policy``) holding entries (``edit 1``) whose
fields are lists of tokens (``set srcaddr "a" "b"``). The emulator keeps exactly that shape (path -> key ->
field -> tokens) so one generic processor serves every table, and each table's vendor knowledge is the
small schema below: field kinds, defaults, and what a reference may point at.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from egressctl_lab.emu.fortinet import constants as C

Entry = dict[str, tuple[str, ...]]
Table = dict[str, Entry]
Config = dict[str, Table]

ZERO4 = "0.0.0.0"  # noqa: S104 - an address value, not a bind
INTERFACES = "@interfaces"
SCHEDULES = "@schedules"


@dataclass(frozen=True)
class Field:
    """One settable field: ``kind`` picks the value parser, ``refs`` where names must exist."""

    kind: str  # str | enum | ref | subnet | ip | ip6 | ports | int | uuid
    default: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    multi: bool = False


@dataclass(frozen=True)
class Schema:
    """A config table; ``singleton`` tables (``system console``) have fields but no ``edit``."""

    path: str
    fields: dict[str, Field] = field(default_factory=dict)
    singleton: bool = False
    numeric: bool = False

    @property
    def context(self) -> str:
        """The word FortiOS shows in the prompt inside this table: ``fw (policy) #``."""
        return self.path.split()[-1]


_ADDR4 = ("firewall address", "firewall addrgrp")
_ADDR6 = ("firewall address6", "firewall addrgrp6")
_SERVICES = ("firewall service custom", "firewall service group")
_UUID = Field("uuid")

SCHEMAS: dict[str, Schema] = {
    s.path: s
    for s in (
        Schema("system console", singleton=True, fields={
            "output": Field("enum", ("more",), ("standard", "more")),
            "login": Field("enum", ("enable",), ("enable", "disable")),
            "baudrate": Field("enum", ("9600",), ("9600", "19200", "38400", "57600", "115200")),
        }),
        Schema("system global", singleton=True, fields={
            "hostname": Field("str"),
            "admintimeout": Field("int", ("5",)),
            "cfg-save": Field("enum", ("automatic",), ("automatic", "manual", "revert")),
            "cfg-revert-timeout": Field("int", (C.DEFAULT_REVERT_TIMEOUT,)),
            # egressctl check test fault: VDOM mode, shown by ``get system status`` only (a multi-VDOM unit's
            # ``config vdom`` / ``config global`` contexts and the logout it forces are not modelled) [M].
            "vdom-mode": Field("enum", ("no-vdom",), ("no-vdom", "split-vdom", "multi-vdom")),
            "timezone": Field("str", ("04",)),
        }),
        # ``firewall-session-dirty``: what a policy change does to established sessions (check-all: flush
        # and re-evaluate them, the default; check-new: keep them; check-policy-option: each policy decides).
        Schema("system settings", singleton=True, fields={
            "firewall-session-dirty": Field("enum", ("check-all",),
                                            ("check-all", "check-new", "check-policy-option")),
        }),
        # Scripts the unit runs by itself (see autoscript.py): egressctl's non-rebooting dead-man switch.
        Schema("system auto-script", fields={
            "interval": Field("int", ("0",)),
            "repeat": Field("int", ("1",)),
            "start": Field("enum", ("manual",), ("manual", "auto")),
            "script": Field("str"),
            "output-size": Field("int", ("10",)),
            "timeout": Field("int", ("0",)),
        }),
        Schema("firewall address", fields={
            "uuid": _UUID,
            "type": Field("enum", ("ipmask",), ("ipmask", "iprange")),
            "subnet": Field("subnet", (ZERO4, ZERO4)),
            "start-ip": Field("ip", (ZERO4,)),
            "end-ip": Field("ip", (ZERO4,)),
            "comment": Field("str"),
        }),
        Schema("firewall address6", fields={
            "uuid": _UUID,
            "type": Field("enum", ("ipprefix",), ("ipprefix", "iprange")),
            "ip6": Field("ip6", ("::/0",)),
            "start-ip": Field("ip", ("::",)),
            "end-ip": Field("ip", ("::",)),
            "comment": Field("str"),
        }),
        Schema("firewall addrgrp", fields={
            "uuid": _UUID, "member": Field("ref", refs=_ADDR4, multi=True), "comment": Field("str"),
        }),
        Schema("firewall addrgrp6", fields={
            "uuid": _UUID, "member": Field("ref", refs=_ADDR6, multi=True), "comment": Field("str"),
        }),
        Schema("firewall service custom", fields={
            "category": Field("str"),
            "protocol": Field("enum", ("TCP/UDP/SCTP",), ("TCP/UDP/SCTP", "ICMP", "ICMP6", "IP")),
            "tcp-portrange": Field("ports", multi=True),
            "udp-portrange": Field("ports", multi=True),
            "sctp-portrange": Field("ports", multi=True),
            "icmptype": Field("int"),
            "protocol-number": Field("int", ("0",)),
            "comment": Field("str"),
        }),
        Schema("firewall service group", fields={
            "member": Field("ref", refs=_SERVICES, multi=True), "comment": Field("str"),
        }),
        Schema("firewall policy", numeric=True, fields={
            "name": Field("str"),
            "uuid": _UUID,
            "srcintf": Field("ref", refs=(INTERFACES,), multi=True),
            "dstintf": Field("ref", refs=(INTERFACES,), multi=True),
            "action": Field("enum", ("deny",), ("accept", "deny", "ipsec")),
            "srcaddr": Field("ref", refs=_ADDR4, multi=True),
            "dstaddr": Field("ref", refs=_ADDR4, multi=True),
            "srcaddr6": Field("ref", refs=_ADDR6, multi=True),
            "dstaddr6": Field("ref", refs=_ADDR6, multi=True),
            "schedule": Field("ref", refs=(SCHEDULES,)),
            "service": Field("ref", refs=_SERVICES, multi=True),
            "logtraffic": Field("enum", ("utm",), ("all", "utm", "disable")),
            "nat": Field("enum", ("disable",), ("enable", "disable")),
            "status": Field("enum", ("enable",), ("enable", "disable")),
            "firewall-session-dirty": Field("enum", ("check-all",), ("check-all", "check-new")),
            "comments": Field("str"),
        }),
    )
}

#: Quoted in ``show`` output (names and free text); everything else is printed bare.
QUOTED_KINDS = ("str", "ref")


def new_uuid(path: str, key: str, seq: int = 0) -> str:
    """A stable per-object UUID (FortiOS assigns one at creation)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fortios:{path}:{key}:{seq}"))


def fresh_entry(path: str, key: str, seq: int = 0) -> Entry:
    """A new entry as FortiOS creates it on ``edit``: only the auto-assigned uuid is set."""
    return {"uuid": (new_uuid(path, key, seq),)} if "uuid" in SCHEMAS[path].fields else {}


def value_of(path: str, entry: Entry, name: str) -> tuple[str, ...]:
    """A field's effective value (its default when unset)."""
    return entry.get(name, SCHEMAS[path].fields[name].default)


def clone(config: Config) -> Config:
    """An independent copy (configs are snapshotted for cfg-save revert)."""
    return copy.deepcopy(config)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_value(path: str, name: str, values: tuple[str, ...]) -> str:
    """``set NAME VALUES`` as ``show`` prints it."""
    kind = SCHEMAS[path].fields[name].kind
    shown = [_quote(v) if kind in QUOTED_KINDS else v for v in values]
    return f"set {name} {' '.join(shown)}"


def render_entry(path: str, entry: Entry, *, full: bool, indent: str) -> list[str]:
    """The ``set`` lines of one entry in schema order.

    Like FortiOS, ``show`` prints only settings that differ from their default, *whatever* was typed:
    ``set cfg-save automatic`` (the default) leaves ``show`` unchanged, and only ``show
    full-configuration`` (``full``) prints every setting with its effective value.
    """
    lines: list[str] = []
    for name, spec in SCHEMAS[path].fields.items():
        values = entry.get(name)
        if values is None and full and spec.default:
            values = spec.default
        elif values is not None and not full and values == spec.default:
            continue
        if values:
            lines.append(indent + render_value(path, name, values))
    return lines


def render_table(path: str, table: Table, *, full: bool = False, key: str | None = None) -> list[str]:
    """``show [full-configuration] PATH [KEY]`` lines."""
    schema = SCHEMAS[path]
    lines = [f"config {path}"]
    if schema.singleton:
        lines += render_entry(path, table.get("", {}), full=full, indent="    ")
    else:
        for name, entry in table.items():
            if key is not None and name != key:
                continue
            shown = name if schema.numeric else _quote(name)
            body = render_entry(path, entry, full=full, indent="        ")
            lines += [f"    edit {shown}", *body, "    next"]
    lines.append("end")
    return lines


def get_lines(path: str, entry: Entry) -> list[str]:
    """``get PATH`` for a singleton: ``name                : value`` lines, every field."""
    out = []
    for name in SCHEMAS[path].fields:
        values = value_of(path, entry, name)
        out.append(f"{name:<20}: {' '.join(values)}")
    return out
