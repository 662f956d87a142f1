"""IOS configuration modes: global, interface, extended/IPv6 ACL and archive sub-modes.

As on IOS, a line that is not valid in a sub-mode is tried in global configuration mode, which then
becomes the current mode (so ``ip access-list extended B`` typed inside ACL A's sub-mode starts B). Every
handler parses the whole line first and changes state last, and each change is enforced at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios import generic, stored
from egressctl_lab.emu.cisco_ios.model import Acl, Entry, Interface, parse_ace
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor, match_keyword

if TYPE_CHECKING:
    from egressctl_lab.emu.cisco_ios.cli import IosSession

_SUBMODES = {
    "config-if": c.CONFIG_IF,
    "config-ext-nacl": c.CONFIG_ACL,
    "config-ipv6-acl": c.CONFIG_ACL6,
    "config-archive": c.CONFIG_ARCHIVE,
}


def handle(s: IosSession, line: str) -> str:
    """Run one configuration line in the session's mode; returns the text to print."""
    cur = Cursor(line)
    first = cur.tokens[0]
    if first.text.lower() in ("end", "exit", "do") or first.text.lower() == "\x1a":
        return _common(s, cur)
    if s.mode == "config":
        return _global(s, cur)
    try:
        return _submode(s, cur)
    except CliError as err:
        if err.kind != "invalid":
            raise
        try:
            text = _global(s, Cursor(line))
        except CliError:
            raise err from None
        return text


def _common(s: IosSession, cur: Cursor) -> str:
    kw = cur.keyword(["end", "exit", "do"])
    if kw == "do":
        return s.exec_command(cur.rest(), via_do=True).text
    cur.end()
    s.mode = "enable" if kw == "end" or s.mode == "config" else "config"
    return ""


def _submode(s: IosSession, cur: Cursor) -> str:
    if s.mode not in _SUBMODES:
        return stored.submode_line(s, cur)
    if s.mode == "config-ext-nacl" and cur.tokens[0].text.isdigit():
        return _acl_line(s, "seq", cur)
    cmd = cur.keyword(_SUBMODES[s.mode])
    if s.mode == "config-if":
        return _interface_line(s, cmd, cur)
    if s.mode == "config-archive":
        return _archive_line(s, cmd, cur)
    return _acl_line(s, cmd, cur)


# -- global configuration -----------------------------------------------------------------------------
def _global(s: IosSession, cur: Cursor) -> str:
    cmd = cur.keyword(c.CONFIG_GLOBAL)
    if cmd in ("end", "exit", "do"):
        cur.i = 0
        return _common(s, cur)
    negate = cmd in ("no", "default")  # ``default X`` puts X back to its default: as ``no`` here
    reset = cmd == "default"
    if negate:
        cmd = cur.keyword(c.CONFIG_GLOBAL)
    if reset and cmd == "interface":
        return _default_interface(s, cur)
    cfg = s.device.running
    if cmd == "ip" and stored.ahead(cur, ["access-list"], ["extended"]):
        cur.i += 2
        return _acl_header(s, cur, 4, negate)
    if cmd == "ipv6" and stored.ahead(cur, ["access-list"]):
        cur.i += 1
        return _acl_header(s, cur, 6, negate)
    if cmd == "interface":
        return _interface_cmd(s, cur, negate)
    if cmd == "archive":
        cur.end()
        if negate:
            cfg.archive_path, cfg.archive_max = None, c.ARCHIVE_DEFAULT_MAX
        else:
            s.mode = "config-archive"
        return ""
    if cmd == "hostname":
        if negate:
            cur.rest() if cur.more() else None
            return ""
        name = cur.word().text
        cur.end()
        cfg.hostname = name
        return ""
    if cmd == "banner":
        return s.start_banner(cur, negate)
    if cmd == "version":
        cur.rest()
        return ""
    return stored.global_line(s, cmd, cur, negate)


def _interface_cmd(s: IosSession, cur: Cursor, negate: bool) -> str:
    interfaces = s.device.running.interfaces
    name = _interface_name(s, cur)
    if negate:
        itf = interfaces.get(name)
        if itf is None or not itf.virtual:
            raise CliError("message", message=c.INTERFACE_NOT_REMOVABLE)
        del interfaces[name]
        s.device.changed()
        return ""
    interfaces.setdefault(name, Interface(name, "", virtual=True))
    s.mode, s.interface = "config-if", name
    return ""


def _default_interface(s: IosSession, cur: Cursor) -> str:
    """``default interface X``: every sub-command back to its default (filters removed at once)."""
    itf = s.device.running.interfaces[_interface_name(s, cur)]
    itf.description, itf.shutdown, itf.address, itf.extra = "", False, None, []
    itf.acl_in4 = itf.acl_out4 = itf.acl_in6 = itf.acl_out6 = None
    if itf.layer2 is not None:
        itf.layer2 = True  # a switch's physical port defaults to a switch port
    s.device.changed()
    return ""


def _acl_header(s: IosSession, cur: Cursor, family: int, negate: bool) -> str:
    name = cur.word().text
    cur.end()
    acls = s.device.running.acls
    if negate:
        if acls.pop((family, name), None) is not None:
            s.device.changed()
        return ""
    acls.setdefault((family, name), Acl(name, family))
    s.mode = "config-ext-nacl" if family == 4 else "config-ipv6-acl"
    s.acl = name
    return ""


def _interface_name(s: IosSession, cur: Cursor) -> str:
    tok = cur.word()
    text = tok.text
    if cur.more() and not any(ch.isdigit() for ch in text):
        text += cur.word().text  # "GigabitEthernet 0/0"
    cur.end()
    kind = text.rstrip("0123456789/.:")
    number = text[len(kind):]
    for name in s.device.running.interfaces:
        known = name.rstrip("0123456789/.:")
        if number and name[len(known):] == number and known.lower().startswith(kind.lower()) and kind:
            return name
    virtual = [t for t in c.VIRTUAL_INTERFACE_TYPES if kind and t.lower().startswith(kind.lower())]
    if len(virtual) == 1 and number.isdigit():
        return virtual[0] + number
    raise CliError("invalid", tok.pos)


# -- interface ----------------------------------------------------------------------------------------
def _interface_line(s: IosSession, cmd: str, cur: Cursor) -> str:
    itf = s.device.running.interfaces[s.interface]
    negate = cmd in ("no", "default")
    if negate:
        cmd = cur.keyword(c.CONFIG_IF)
    if cmd == "ip" and stored.ahead(cur, ["address"]):
        return stored.interface_address(itf, cur, negate)
    if cmd == "switchport" and itf.layer2 is not None and not cur.more():
        return _switchport(s, itf, negate)
    if (cmd == "ip" and not stored.ahead(cur, ["access-group"])) or (
            cmd == "ipv6" and not stored.ahead(cur, ["traffic-filter"])) or cmd not in (
            "ip", "ipv6", "description", "shutdown"):
        if cmd in ("ip", "ipv6"):  # ``ip access-list ...`` is no interface command: global mode takes it
            start = cur.i
            cur.keyword(c.CONFIG_IF_IP if cmd == "ip" else c.CONFIG_IF_IPV6)
            cur.i = start
        words = tuple(t.text.lower() for t in cur.tokens[cur.i:])
        if negate:
            generic.negate_line(itf.extra, (cmd, *words))
        else:
            rest = cur.line[cur.tokens[cur.i].pos:].strip() if cur.more() else ""
            generic.set_line(itf.extra, f"{cmd} {rest}".strip())
        return ""
    if cmd == "description":
        text = "" if negate else cur.rest()
        itf.description = text
        return ""
    if cmd == "shutdown":
        cur.end()
        itf.shutdown = not negate
        s.device.changed()  # a shut interface passes no traffic (see compile.py)
        return ""
    if cmd not in ("ip", "ipv6"):
        raise CliError("invalid", cur.tokens[0].pos)
    family = 4 if cmd == "ip" else 6
    cur.keyword(["access-group"] if family == 4 else ["traffic-filter"])
    name = cur.word().text
    direction = name.lower() if negate and name.lower() in ("in", "out") else None
    if direction is None:
        direction = cur.keyword(["in", "out"])
    cur.end()
    attr = f"acl_{direction}{family}"
    setattr(itf, attr, None if negate else name)
    s.device.changed()
    return ""


def _switchport(s: IosSession, itf: Interface, negate: bool) -> str:
    """``[no] switchport`` on a switch's physical port: a switch port, or a routed port (its L2 lines go)."""
    itf.layer2 = not negate
    if negate:
        itf.extra = [ln for ln in itf.extra if ln.split()[0] != "switchport"]
    s.device.changed()
    return ""


# -- archive ------------------------------------------------------------------------------------------
def _archive_line(s: IosSession, cmd: str, cur: Cursor) -> str:
    cfg = s.device.running
    negate = cmd == "no"
    if negate:
        cmd = cur.keyword(["path", "maximum"])
    if cmd == "path":
        path = None if negate else cur.word().text
        cur.end()
        cfg.archive_path = path
    elif cmd == "maximum":
        value = c.ARCHIVE_DEFAULT_MAX if negate else cur.number(1, 14)
        cur.end()
        cfg.archive_max = value
    else:
        cur.rest()  # write-memory, time-period, log, rollback: accepted, no effect in the lab
    return ""


# -- ACL entries --------------------------------------------------------------------------------------
def _acl_line(s: IosSession, cmd: str, cur: Cursor) -> str:
    family = 4 if s.mode == "config-ext-nacl" else 6
    acl = s.device.running.acls.setdefault((family, s.acl), Acl(s.acl, family))
    if cmd == "no":
        return _acl_remove(s, acl, cur)
    if cmd == "remark":
        acl.entries.append(Entry(None, "remark", cur.rest()[:100]))
        return ""
    cur.i = 0
    seq = _leading_seq(cur, family)
    action, body, match = parse_ace(cur, family)
    if family == 6 and seq is None and cur.optional_keyword(["sequence"]):
        seq = cur.number(1, 4294967295)
    cur.end()
    acl.insert(Entry(seq if seq is not None else acl.next_seq(), action, body, match))
    s.device.changed()
    return ""


def _leading_seq(cur: Cursor, family: int) -> int | None:
    tok = cur.peek()
    assert tok is not None
    if family == 4 and tok.text.isdigit():
        return cur.number(1, 2147483647)
    if family == 6 and match_keyword_safe(tok.text, "sequence"):
        cur.word()
        return cur.number(1, 4294967295)
    return None


def match_keyword_safe(text: str, keyword: str) -> bool:
    """Whether ``text`` abbreviates ``keyword`` (at least 3 letters)."""
    return len(text) >= 3 and keyword.startswith(text.lower())


def _acl_remove(s: IosSession, acl: Acl, cur: Cursor) -> str:
    tok = cur.peek()
    if tok is None:
        raise CliError("incomplete")
    family = acl.family
    if family == 4 and tok.text.isdigit():
        seq = cur.number(1, 2147483647)
        cur.end()
        acl.entries = [e for e in acl.entries if e.seq != seq]
    elif family == 6 and match_keyword_safe(tok.text, "sequence"):
        cur.word()
        seq = cur.number(1, 4294967295)
        cur.end()
        acl.entries = [e for e in acl.entries if e.seq != seq]
    elif match_keyword(tok, ["remark", "permit", "deny"]) == "remark":
        cur.word()
        text = cur.rest()
        acl.entries = [e for e in acl.entries if not (e.seq is None and e.body == text)]
    else:
        action, body, _ = parse_ace(cur, family)
        cur.end()
        for e in acl.aces():
            if e.action == action and e.body == body:
                acl.entries.remove(e)
                break
    s.device.changed()
    return ""
