r"""FortiOS tables egressctl never touches, kept as typed: a generic tree of ``config``/``edit`` blocks.

A real FortiGate accepts a great deal of configuration that has nothing to do with egress (DNS, NTP,
syslog, service categories, interfaces...). Refusing it would tell a driver developer that correct lines
are wrong, so every table in :data:`TABLES` is accepted, stored, shown, saved and reverted exactly like the
interpreted ones, without meaning anything to the data plane.

Storage: each generic table is one entry of the device's :data:`~.model.Config` (so ``cfg-save revert``,
``execute cfg save`` and the fault emulator's reboot keep or lose it as they do the rest), keyed by its
*flat path*: ``"system ntp"`` at the top, ``"system ntp\\x1f\\x1fntpserver"`` for a table nested in a
singleton, ``"system interface\\x1fport1\\x1fipv6"`` for one nested in entry ``port1``. Field names inside a
generic table are not checked against the vendor's schema (any ``[a-z0-9-]`` word is taken) [M]: a
misspelt field is stored where a real unit answers ``command parse error``.

Sources for the table names and their nesting: FortiOS 7.2 CLI Reference (docs.fortinet.com, "config system
dns", "config system ntp" with ``config ntpserver``, "config log syslogd setting", "config firewall service
category", "config system interface" with ``config ipv6``, "config router static", "config system snmp
community" with ``config hosts``, "config system dhcp server" with ``config ip-range``). Nesting of the
other tables is not modelled [M].
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from egressctl_lab.emu.fortinet.model import Config, Entry, Table

SEP = "\x1f"


@dataclass(frozen=True)
class GTable:
    """A generic table: ``singleton`` has no ``edit``; ``numeric`` keys are ids; ``children`` nest."""

    singleton: bool = False
    numeric: bool = False
    children: dict[str, GTable] = field(default_factory=dict)


_NUMERIC = GTable(numeric=True)
_SINGLE = GTable(singleton=True)

#: Top-level tables accepted generically (FortiOS 7.2 CLI Reference; see the module docstring).
TABLES: dict[str, GTable] = {
    "system dns": _SINGLE,
    "system ntp": GTable(singleton=True, children={"ntpserver": _NUMERIC}),
    "system interface": GTable(children={"ipv6": _SINGLE, "secondaryip": _NUMERIC, "vrrp": _NUMERIC}),
    "system zone": GTable(),
    "system admin": GTable(),
    "system alias": GTable(),
    "system ha": _SINGLE,
    "system snmp sysinfo": _SINGLE,
    "system snmp community": GTable(numeric=True, children={"hosts": _NUMERIC, "hosts6": _NUMERIC}),
    "system dhcp server": GTable(numeric=True, children={"ip-range": _NUMERIC, "reserved-address": _NUMERIC,
                                                        "options": _NUMERIC}),
    "system replacemsg-group": GTable(),
    "system password-policy": _SINGLE,
    "system email-server": _SINGLE,
    "system accprofile": GTable(),
    "log setting": _SINGLE,
    "log memory setting": _SINGLE,
    "log disk setting": _SINGLE,
    "log syslogd setting": _SINGLE,
    "log syslogd filter": _SINGLE,
    "log syslogd2 setting": _SINGLE,
    "log fortianalyzer setting": _SINGLE,
    "firewall service category": GTable(),
    "firewall schedule recurring": GTable(),
    "firewall schedule onetime": GTable(),
    "firewall vip": GTable(),
    "firewall ippool": GTable(),
    "firewall ldb-monitor": GTable(),
    "router static": _NUMERIC,
    "router static6": _NUMERIC,
    "router ospf": _SINGLE,
    "router bgp": _SINGLE,
    "user local": GTable(),
    "user group": GTable(),
    "vpn ipsec phase1-interface": GTable(),
    "vpn ipsec phase2-interface": GTable(),
}

_FIELD = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_BARE = re.compile(r"^(?:[0-9][0-9.:/-]*|[0-9a-fA-F:]+(?:/\d+)?|[a-z][a-z-]*)$")


def find(words: list[str]) -> tuple[str | None, list[str]]:
    """The longest generic table path at the start of ``words`` and the words after it."""
    for n in (4, 3, 2):
        candidate = " ".join(words[:n])
        if candidate in TABLES:
            return candidate, words[n:]
    return None, words


def spec_of(flat: str) -> GTable:
    """The :class:`GTable` of a flat path."""
    parts = flat.split(SEP)
    spec = TABLES[parts[0]]
    for child in parts[2::2]:
        spec = spec.children[child]
    return spec


def child_flat(flat: str, key: str | None, name: str) -> str:
    """The flat path of table ``name`` nested in entry ``key`` (``None``: a singleton) of ``flat``."""
    return SEP.join((flat, key or "", name))


def is_field(name: str) -> bool:
    """A word that can name a field (field names are not checked per table) [M]."""
    return _FIELD.match(name) is not None


def context(flat: str, key: str | None) -> str:
    """The word in the prompt: the entry being edited, else the table's last word."""
    return key if key is not None else flat.split(SEP)[-1].split()[-1]


def _quote(text: str) -> str:
    """Names and free text are quoted; numbers, addresses and keywords are not (as FortiOS prints) [M]."""
    if _BARE.match(text) and not text[:1].isupper():
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _entry_lines(config: Config, flat: str, key: str, entry: Entry, pad: str) -> list[str]:
    lines = [f"{pad}set {name} {' '.join(_quote(v) for v in values)}" for name, values in entry.items()]
    for name in spec_of(flat).children:
        child = child_flat(flat, key, name)
        if child in config:
            lines += render(config, child, indent=pad)
    return lines


def render(config: Config, flat: str, *, key: str | None = None, indent: str = "") -> list[str]:
    """``show`` lines of one generic table (and the tables nested in it)."""
    spec = spec_of(flat)
    table: Table = config.get(flat, {})
    lines = [f"{indent}config {flat.split(SEP)[-1]}"]
    inner = indent + "    "
    if spec.singleton:
        lines += _entry_lines(config, flat, "", table.get("", {}), inner)
    else:
        for name, entry in table.items():
            if key is not None and name != key:
                continue
            shown = name if spec.numeric else '"' + name.replace('"', '\\"') + '"'
            lines += [f"{inner}edit {shown}", *_entry_lines(config, flat, name, entry, inner + "    "),
                      f"{inner}next"]
    return [*lines, f"{indent}end"]


def get_lines(config: Config, flat: str, key: str | None = None) -> list[str]:
    """``get PATH [KEY]``: ``name : value`` lines of a singleton, ``== [ key ]`` blocks of a table."""
    table = config.get(flat, {})
    if spec_of(flat).singleton:
        return [f"{n:<20}: {' '.join(v)}" for n, v in table.get("", {}).items()]
    lines: list[str] = []
    for name, entry in table.items():
        if key is None or key == name:
            lines += [f"== [ {name} ]", *(f"{n}: {' '.join(v)}" for n, v in entry.items())]
    return lines


def drop_children(config: Config, flat: str, key: str) -> None:
    """Remove the tables nested in entry ``key`` of ``flat`` (its ``delete``)."""
    prefix = SEP.join((flat, key, ""))
    for name in [n for n in config if n.startswith(prefix)]:
        del config[name]


def is_top(flat: str) -> bool:
    """True for a top-level generic table (nested ones are shown inside their parent)."""
    return flat in TABLES
