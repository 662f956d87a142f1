"""ASA configuration mode: interfaces, object-groups, access-lists, access-groups, and stored lines.

Every handler parses the whole line before changing anything, so a refused line changes nothing; each
accepted line is enforced at once (the ASA has no candidate configuration). Returns the text to print.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from egressctl_lab.emu.cisco_asa import constants as c
from egressctl_lab.emu.cisco_asa.acl import ObjectGroup, parse_ace, parse_address, parse_port_op
from egressctl_lab.emu.cisco_asa.model import Interface, Stored
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor

if TYPE_CHECKING:
    from egressctl_lab.emu.cisco_asa.cli import AsaSession

GLOBAL = ["hostname", "interface", "object-group", "access-list", "access-group", "clear", "terminal", "end",
          "exit", *sorted(c.GENERIC_GLOBAL)]

SUB_WORDS = {"network-object", "port-object", "description", "group-object", "no"}


def handle(s: AsaSession, cur: Cursor) -> str:
    """One configuration line in the session's current mode."""
    word = cur.tokens[0].text.lower()
    if (word in ("end", "exit") and s.mode != "config") or word == "end":
        cur.i = 1
        cur.end()
        s.mode = "enable" if word == "end" else "config"
        return ""
    if s.mode == "config-if":
        return _interface(s, cur)
    if s.mode in ("config-network-object-group", "config-service-object-group"):
        if word not in SUB_WORDS:  # a global command leaves the sub-mode, as on the ASA
            s.mode = "config"
            return _global(s, cur)
        return _group_line(s, cur)
    if s.mode == "config-generic":
        return _generic_sub(s, cur)
    return _global(s, cur)


def _global(s: AsaSession, cur: Cursor) -> str:
    kw = cur.keyword(GLOBAL)
    cfg = s.device.running
    if kw == "exit":
        cur.end()
        s.mode = "enable"
        return ""
    if kw == "terminal":
        cur.keyword(["width"])
        cur.number(40, 511)
        cur.end()
        return ""
    if kw == "hostname":
        name = cur.word().text
        cur.end()
        cfg.hostname = name
        return ""
    if kw == "interface":
        tok = cur.word()
        itf = next((i for n, i in cfg.interfaces.items() if n.lower() == tok.text.lower()), None)
        if itf is None:
            raise CliError("invalid", tok.pos)
        s.mode, s.target = "config-if", itf
        return ""
    if kw == "object-group":
        return _open_group(s, cur)
    if kw == "access-list":
        return _access_list(s, cur, negate=False)
    if kw == "access-group":
        return _access_group(s, cur, negate=False)
    if kw == "clear":
        return _clear_configure(s, cur)
    if kw == "no":
        return _no(s, cur)
    return _store(s, cur)


def _store(s: AsaSession, cur: Cursor) -> str:
    """A valid global line the emulator keeps as typed (a sub-mode opener enters its generic mode)."""
    line = " ".join(t.text for t in cur.tokens)
    cfg = s.device.running
    found = next((x for x in cfg.stored if x.line == line), None)
    if found is None:
        found = Stored(line)
        cfg.stored.append(found)
    sub = c.GENERIC_SUBMODES.get(cur.tokens[0].text.lower())
    if sub:
        s.mode, s.sub, s.target = "config-generic", sub, found
    s.device.changed(s.username)
    return ""


def _generic_sub(s: AsaSession, cur: Cursor) -> str:
    assert isinstance(s.target, Stored)
    s.target.sub.append(" ".join(t.text for t in cur.tokens))
    return ""


def _no(s: AsaSession, cur: Cursor) -> str:
    kw = cur.keyword(["object-group", "access-list", "access-group", *sorted(c.GENERIC_GLOBAL)])
    cfg = s.device.running
    if kw == "object-group":
        kind = cur.keyword(["network", "service"])
        name = cur.word().text
        group = cfg.groups.get(name)
        if group is None or group.kind != kind:
            return c.GROUP_MISSING.format(name=name) + "\n"
        users = cfg.users_of(name)
        if users:
            return c.GROUP_IN_USE.format(name=name, acl=users[0]) + "\n"
        del cfg.groups[name]
        return ""
    if kw == "access-list":
        return _access_list(s, cur, negate=True)
    if kw == "access-group":
        return _access_group(s, cur, negate=True)
    rest = " ".join(t.text for t in cur.tokens[1:])
    before = len(cfg.stored)
    cfg.stored = [x for x in cfg.stored if not x.line.startswith(rest)]
    if len(cfg.stored) == before:
        cfg.stored.append(Stored("no " + rest))
    s.device.changed(s.username)
    return ""


def _open_group(s: AsaSession, cur: Cursor) -> str:
    kind = cur.keyword(["network", "service"])
    name = cur.word().text
    proto = cur.keyword(["tcp", "udp", "tcp-udp"]) if kind == "service" and cur.more() else ""
    cur.end()
    cfg = s.device.running
    group = cfg.groups.get(name)
    if group is not None and (group.kind != kind or group.proto != proto):
        return c.GROUP_KIND.format(name=name, kind=kind) + "\n"
    if group is None:
        group = cfg.groups[name] = ObjectGroup(kind, name, proto)
    s.mode, s.target = f"config-{kind}-object-group", group
    return ""


def _group_line(s: AsaSession, cur: Cursor) -> str:
    group = s.target
    assert isinstance(group, ObjectGroup)
    negate = cur.optional_keyword(["no"]) is not None
    if group.kind == "network":
        kw = cur.keyword(["network-object", "description", "group-object"])
        text = f"network-object {parse_address(cur, {})}" if kw == "network-object" else f"{kw} {cur.rest()}"
    else:
        kw = cur.keyword(["port-object", "description"])
        text = f"port-object {parse_port_op(cur)}" if kw == "port-object" else f"{kw} {cur.rest()}"
    cur.end()
    if text.startswith("network-object any"):
        raise CliError("invalid", cur.tokens[1].pos)
    text = text.replace("network-object host ", "network-object host ", 1)
    if negate:
        if text in group.lines:
            group.lines.remove(text)
    elif text not in group.lines:
        group.lines.append(text)
    s.device.changed(s.username)
    return ""


def _access_list(s: AsaSession, cur: Cursor, *, negate: bool) -> str:
    cfg = s.device.running
    name = cur.word().text
    kw = cur.keyword(["extended", "remark"])
    ace = f"remark {cur.rest()}" if kw == "remark" else f"extended {parse_ace(cur, cfg.groups)}"
    aces = cfg.acls.get(name)
    if negate:
        if aces is None:
            return c.ACL_MISSING.format(name=name) + "\n"
        if ace not in aces:
            return c.ACE_MISSING.format(name=name) + "\n"
        aces.remove(ace)
        if not aces:
            del cfg.acls[name]
            cfg.access_groups = [g for g in cfg.access_groups if g[0] != name]
    else:
        aces = cfg.acls.setdefault(name, [])
        if ace not in aces or ace.startswith("remark"):
            aces.append(ace)
    s.device.changed(s.username)
    return ""


def _access_group(s: AsaSession, cur: Cursor, *, negate: bool) -> str:
    cfg = s.device.running
    name = cur.word().text
    direction = cur.keyword(["in", "out"])
    cur.keyword(["interface"])
    nameif = cur.word().text
    cur.end()
    if nameif not in cfg.nameifs():
        return c.NAMEIF_MISSING.format(name=nameif) + "\n"
    if name not in cfg.acls:
        return c.ACL_MISSING.format(name=name) + "\n"
    entry = (name, direction, nameif)
    if negate:
        cfg.access_groups = [g for g in cfg.access_groups if g != entry]
    else:  # one ACL per interface and direction: a new binding replaces the old one
        kept = [g for g in cfg.access_groups if (g[1], g[2]) != (direction, nameif)]
        cfg.access_groups = [*kept, entry]
    s.device.changed(s.username)
    return ""


def _clear_configure(s: AsaSession, cur: Cursor) -> str:
    """``clear configure access-list NAME``: the ACL and every binding of it go [M: bindings removed]."""
    cur.keyword(["configure"])
    cur.keyword(["access-list"])
    name = cur.word().text
    cur.end()
    cfg = s.device.running
    if name not in cfg.acls:
        return ""
    del cfg.acls[name]
    cfg.access_groups = [g for g in cfg.access_groups if g[0] != name]
    s.device.changed(s.username)
    return ""


def _interface(s: AsaSession, cur: Cursor) -> str:
    itf = s.target
    assert isinstance(itf, Interface)
    negate = cur.optional_keyword(["no"]) is not None
    kw = cur.keyword(["nameif", "security-level", "ip", "shutdown", *sorted(c.INTERFACE_GENERIC - {"no"})])
    if kw == "nameif":
        itf.nameif = "" if negate else cur.word().text
    elif kw == "security-level":
        itf.security = 0 if negate else cur.number(0, 100)
    elif kw == "shutdown":
        itf.shutdown = not negate
    elif kw == "ip" and cur.optional_keyword(["address"]):
        addr, mask = cur.word(), cur.word()
        try:
            ipaddress.IPv4Network(f"{addr.text}/{mask.text}", strict=False)
        except ValueError:
            raise CliError("invalid", addr.pos) from None
        itf.addresses = [a for a in itf.addresses if not a.startswith("ip address")]
        itf.addresses.insert(0, f"ip address {addr.text} {mask.text}")
    else:
        line = " ".join(t.text for t in cur.tokens[1 if negate else 0:])
        itf.extra = [x for x in itf.extra if x.strip() != line]
        if not negate:
            itf.extra.append(f" {line}")
    if kw == "shutdown":
        cur.end()
    s.device.changed(s.username)
    return ""
