"""The router's configuration: menus of items, ``print`` and ``export`` in RouterOS's shapes.

Every change is live and saved at once (RouterOS has no candidate and no save command), so one
:class:`Config` is both the running and the saved configuration: a reboot keeps it. Items carry an internal
id (``*1A``) that never changes; ``print`` numbers them by position, and the console remembers the numbers
of the last ``print`` (Console manual: "item numbers are assigned by print command").
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.mikrotik_routeros import constants as c
from egressctl_lab.emu.mikrotik_routeros.words import quote, split_arg, tokens, unquote


@dataclass
class Item:
    """One item of a list menu: internal id, properties (as typed, unquoted) and flags."""

    id: int
    props: dict[str, str]
    dynamic: bool = False

    @property
    def ref(self) -> str:
        """``*1A``: the internal id as the console prints it."""
        return f"*{self.id:X}"

    def flags(self) -> set[str]:
        """Flag words ``[find]`` understands."""
        out = {"dynamic"} if self.dynamic else set()
        return out | ({"disabled"} if self.props.get("disabled") == "yes" else set())


@dataclass
class Config:
    """Every menu's items (list menus) or properties (single menus)."""

    lists: dict[str, list[Item]] = field(default_factory=dict)
    singles: dict[str, dict[str, str]] = field(default_factory=dict)
    next_id: int = 1

    def items(self, menu: str) -> list[Item]:
        """The items of a list menu (created empty on first use)."""
        return self.lists.setdefault(menu, [])

    def add(self, menu: str, props: dict[str, str], before: int | None = None) -> Item:
        """Append (or insert before position ``before``) a new item."""
        item = Item(self.next_id, dict(props))
        self.next_id += 1
        items = self.items(menu)
        items.insert(len(items) if before is None else before, item)
        return item


def parse_props(text: str) -> dict[str, str]:
    """``k=v k="v w"`` -> a dict (the default configuration is written that way)."""
    out: dict[str, str] = {}
    for tok in tokens(text):
        key, value = split_arg(tok)
        out[key] = unquote(value or "")
    return out


def baseline(spec: DeviceSpec) -> Config:
    """The default configuration: identity, interfaces in their lists, the defconf firewall."""
    cfg = Config()
    cfg.singles["system identity"] = {"name": spec.hostname}
    cfg.singles["ip dns"] = {"allow-remote-requests": "yes"}
    cfg.singles["system clock"] = {"time-zone-name": "UTC"}
    cfg.add("interface list", {"comment": "defconf", "name": "WAN"})
    cfg.add("interface list", {"comment": "defconf", "name": "LAN"})
    defaults = ((c.DEFAULT_FILTER4, "ip firewall filter"), (c.DEFAULT_FILTER6, "ipv6 firewall filter"))
    for lines, menu in defaults:
        for line in lines:
            cfg.add(menu, parse_props(line))
    return cfg


def _ordered(menu: str, props: dict[str, str]) -> list[tuple[str, str]]:
    if menu.endswith("firewall address-list"):
        first: list[str] = [k for k in ("list", "address") if k in props]
        rest = [k for k in props if k not in first and k not in ("comment", "disabled")]
        return [(k, props[k]) for k in first + rest]
    if menu.endswith("firewall filter"):
        first = [k for k in c.FILTER_ORDER if k in props]
        rest = [k for k in props if k not in first and k not in ("comment", "disabled")]
        return [(k, props[k]) for k in first + rest]
    return [(k, v) for k, v in props.items() if k not in ("comment", "disabled")]


def _flag_text(item: Item) -> str:
    return ("X" if item.props.get("disabled") == "yes" else "") + ("D" if item.dynamic else "")


def print_addresses(items: list[tuple[int, Item]]) -> str:
    """``/ip address print``: the ADDRESS, NETWORK, INTERFACE table (the shape ntc-templates parse)."""
    out = ["Flags: X - DISABLED", "Columns: ADDRESS, NETWORK, INTERFACE",
           "#   ADDRESS            NETWORK    INTERFACE"]
    for num, item in items:
        if "comment" in item.props:
            out.append(f";;; {item.props['comment']}")
        addr = item.props.get("address", "")
        try:
            net = str(ipaddress.ip_interface(addr).network.network_address)
        except ValueError:
            net = item.props.get("network", "")
        flags = "X" if item.props.get("disabled") == "yes" else " "
        out.append(f"{num:<2}{flags} {addr:<18} {net:<10} {item.props.get('interface', '')}")
    return "\n".join(out) + "\n"


def print_list(menu: str, items: list[tuple[int, Item]], terse: bool) -> str:
    """``print`` (``;;; comment`` then the properties) or ``print terse`` (one line per item)."""
    if menu == "ip address" and not terse:
        return print_addresses(items)
    out = [] if terse else ["Flags: X - disabled, I - invalid; D - dynamic "]
    for num, item in items:
        pairs = " ".join(f"{k}={quote(v)}" for k, v in _ordered(menu, item.props))
        flags = _flag_text(item)
        comment = item.props.get("comment")
        if terse:
            lead = f"comment={quote(comment)} " if comment is not None else ""
            out.append(f"{num:>2} {flags:<2} {lead}{pairs}")
        elif comment is not None:
            out += [f"{num:>2} {flags:<2} ;;; {comment}", f"      {pairs} ", ""]
        else:
            out += [f"{num:>2} {flags:<2} {pairs} ", ""]
    return "\n".join(out) + "\n"


def print_single(props: dict[str, str]) -> str:
    """A single menu's ``print``: ``key: value`` with the keys right-aligned."""
    if not props:
        return ""
    width = max(len(k) for k in props) + 2
    return "".join(f"{k:>{width}}: {v}\n" for k, v in props.items())


def export_lines(menu: str, cfg: Config) -> list[str]:
    """The ``add``/``set`` lines of one menu (static items only; alphabetical properties, as export)."""
    if menu in cfg.singles:
        props = cfg.singles[menu]
        return [f"set {_pairs(props)}"] if props else []
    return [f"add {_pairs(i.props)}".rstrip() for i in cfg.lists.get(menu, []) if not i.dynamic]


def _pairs(props: dict[str, str]) -> str:
    return " ".join(f"{k}={quote(props[k])}" for k in sorted(props))


def export(cfg: Config, menus: list[str], terse: bool, now: float) -> str:
    """``export``: a dated header, then each menu's lines under its path (``terse``: path on every line)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    out = [f"# {stamp} by RouterOS {c.VERSION}", "# software id = H11E-MU00", "#"]
    for menu in menus:
        lines = export_lines(menu, cfg)
        if not lines:
            continue
        if terse:
            out += [f"/{menu} {line}" for line in lines]
        else:
            out += [f"/{menu}", *lines]
    return "\n".join(out) + "\n"
