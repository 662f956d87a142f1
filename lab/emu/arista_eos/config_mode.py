"""EOS configuration modes: global, interface, IPv4/IPv6 ACL and the generic blocks it stores as typed.

As on EOS, a line that is not valid in a sub-mode is tried in global configuration mode, which then
becomes the current mode (``ipv6 access-list B`` typed inside ACL A's mode starts B). ``show`` and ``do``
work in every configuration mode. Inside a configuration session ``commit [timer hh:mm:ss]`` and ``abort``
end the session; ``end`` and ``exit`` leave it pending. Handlers parse the whole line first and change
state last; the session's :meth:`~egressctl_lab.emu.arista_eos.cli.EosSession.changed` enforces a change
at once outside a session and leaves it for the commit inside one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_lab.emu.arista_eos import constants as c
from egressctl_lab.emu.arista_eos.acl import Acl, CliError, Cursor, Entry, match_keyword, parse_entry
from egressctl_lab.emu.arista_eos.model import Block, Interface, interface_name

if TYPE_CHECKING:
    from egressctl_lab.emu.arista_eos.cli import EosSession

_GLOBAL = sorted({"interface", "hostname", "no", "default", *c.GENERIC})
_COMMON = ["end", "exit", "do", "show", "commit", "abort"]


def handle(s: EosSession, line: str) -> str:
    """Run one configuration line in the session's mode; returns the text to print."""
    cur = Cursor(line)
    first = cur.tokens[0].text.lower()
    if first in _COMMON:
        return _common(s, cur)
    if s.session is not None and s.session.state == "pendingCommitTimer":
        raise CliError("message", message=c.SESSION_TIMER_PENDING.format(name=s.session.name))
    if s.mode == "config":
        return _global(s, cur)
    try:
        return _submode(s, cur)
    except CliError as err:
        if err.kind != "invalid":
            raise
        try:
            return _global(s, Cursor(line))
        except CliError:
            raise err from None


def _common(s: EosSession, cur: Cursor) -> str:
    kw = cur.keyword(_COMMON)
    if kw in ("do", "show"):
        if kw == "do":
            return s.exec_command(cur.rest(), via_config=True).text
        return s.exec_command(cur.line.strip(), via_config=True).text
    if kw in ("commit", "abort"):
        return _finish(s, kw, cur)
    cur.end()
    if kw == "end" or s.mode == "config":
        s.mode, s.session = "enable", None
    else:
        s.mode, s.arg = "config", ""
    return ""


def _finish(s: EosSession, kw: str, cur: Cursor) -> str:
    from egressctl_lab.emu.arista_eos.cli import timer

    sess = s.session
    if sess is None:
        raise CliError("invalid", cur.tokens[0].pos)
    seconds = timer(cur) if kw == "commit" and cur.optional_keyword(["timer"]) else None
    cur.end()
    if kw == "abort":
        s.device.abort(sess)
    else:
        err = s.device.commit(sess, seconds)
        if err:
            return err + "\n"
    s.mode, s.session, s.arg = "enable", None, ""
    return ""


# -- global configuration -------------------------------------------------------------------------------
def _global(s: EosSession, cur: Cursor) -> str:
    cmd = cur.keyword(_GLOBAL)
    negate = cmd in ("no", "default")
    if negate:
        cmd = cur.keyword(_GLOBAL)
    cfg = s.cfg()
    if cmd == "hostname":
        name = cfg.hostname if negate else cur.word().text
        cur.end()
        cfg.hostname = name
        return ""
    if cmd == "interface":
        return _interface_header(s, cur, negate)
    if cmd in ("ip", "ipv6") and _is_acl(cur):
        return _acl_header(s, cur, 4 if cmd == "ip" else 6, negate)
    if cmd not in c.GENERIC:
        raise CliError("invalid", cur.tokens[0].pos)
    rest = cur.rest() if cur.more() else ""
    header = f"{cmd} {rest}".strip()
    if negate:
        cfg.remove(header)
        return ""
    second = rest.split()[0] if rest else ""
    if cmd in c.BLOCKS or (cmd in ("ip", "ipv6") and second in c.IP_BLOCKS):
        cfg.block(header)
        s.mode, s.arg = "config-generic", "-".join(header.split()[:2])
        s.generic = header
    else:
        cfg.block(header)
    return ""


def _is_acl(cur: Cursor) -> bool:
    tok = cur.peek()
    if tok is None or tok.text.lower() != "access-list":
        return False
    cur.i += 1
    return True


def _acl_header(s: EosSession, cur: Cursor, family: int, negate: bool) -> str:
    if family == 4:
        cur.optional_keyword(["standard"])
    name = cur.word().text
    cur.end()
    acls = s.cfg().acls
    if negate:
        if acls.pop((family, name), None) is not None:
            s.changed()
        return ""
    if (family, name) not in acls:
        acls[(family, name)] = Acl(name, family)
        s.changed()
    s.mode, s.arg = ("config-acl" if family == 4 else "config-ipv6-acl"), name
    return ""


def _interface_header(s: EosSession, cur: Cursor, negate: bool) -> str:
    tok = cur.word()
    text = tok.text + (cur.word().text if cur.more() and not any(ch.isdigit() for ch in tok.text) else "")
    cur.end()
    itfs = s.cfg().interfaces
    name = interface_name(text, itfs)
    if name is None:
        raise CliError("invalid", tok.pos)
    if negate:
        if name in itfs and itfs[name].kernel is None:
            del itfs[name]
        return ""
    itfs.setdefault(name, Interface(name))
    s.mode, s.arg = "config-if", name.replace("Ethernet", "Et").replace("Vlan", "Vl")
    s.interface = name
    return ""


# -- sub-modes ------------------------------------------------------------------------------------------
def _submode(s: EosSession, cur: Cursor) -> str:
    if s.mode == "config-if":
        return _interface_line(s, s.cfg().interfaces[s.interface], cur)
    if s.mode == "config-generic":
        return _generic_line(s, cur)
    return _acl_line(s, cur)


def _generic_line(s: EosSession, cur: Cursor) -> str:
    words = [t.text.lower() for t in cur.tokens]
    leaves = words[0] in ("interface", "hostname") or words[0] in c.BLOCKS
    if leaves or (words[0] in ("ip", "ipv6") and words[1:2] == ["access-list"]):
        raise CliError("invalid", 0)
    block: Block = s.cfg().block(s.generic)
    text = " ".join(t.text for t in cur.tokens)
    if words[0] == "no" and text[3:] in block.children:
        block.children.remove(text[3:])
    elif text not in block.children:
        block.children.append(text)
    return ""


def _interface_line(s: EosSession, itf: Interface, cur: Cursor) -> str:
    tok = cur.peek()
    assert tok is not None
    negate = cur.optional_keyword(["no", "default"]) is not None
    cmd = match_keyword(cur.word(), ["description", "shutdown", *sorted(c.INTERFACE_GENERIC)])
    if cmd == "description":
        itf.description = "" if negate else cur.rest()
    elif cmd == "shutdown":
        cur.end()
        itf.shutdown = not negate
        s.changed()
    elif cmd in ("ip", "ipv6") and cur.optional_keyword(["access-group"]):
        _access_group(s, itf, cmd, cur, negate)
    elif cmd in ("ip", "ipv6") and _is_acl(cur):
        raise CliError("invalid", tok.pos)  # a global command: tried in global configuration mode
    else:
        text = " ".join([cmd, *(t.text for t in cur.tokens[cur.i:])])
        _store_extra(itf, text, negate)
    return ""


def _access_group(s: EosSession, itf: Interface, fam: str, cur: Cursor, negate: bool) -> None:
    name = cur.word().text
    if negate and name.lower() in ("in", "out"):
        direction, name = name.lower(), ""
    else:
        direction = cur.keyword(["in", "out"])
    cur.end()
    key = f"{fam} {direction}"
    if negate:
        if not name or itf.groups.get(key) == name:
            itf.groups.pop(key, None)
    else:
        itf.groups[key] = name
    s.changed()


def _store_extra(itf: Interface, text: str, negate: bool) -> None:
    if negate:
        if text in itf.extra:
            itf.extra.remove(text)
        elif f"no {text}" not in itf.extra:
            itf.extra.append(f"no {text}")
        return
    if f"no {text}" in itf.extra:
        itf.extra.remove(f"no {text}")
    elif text not in itf.extra:
        itf.extra.append(text)


def _acl_line(s: EosSession, cur: Cursor) -> str:
    family = 4 if s.mode == "config-acl" else 6
    acl = s.cfg().acls.setdefault((family, s.arg), Acl(s.arg, family))
    first = cur.tokens[0]
    if first.text.lower() == "no":
        cur.word()
        _acl_remove(acl, cur, family)
    else:
        seq = cur.number(1, 4294967295) if first.text.isdigit() else acl.next_seq()
        entry: Entry = parse_entry(cur, family, seq)
        acl.add(entry)
    s.changed()
    return ""


def _acl_remove(acl: Acl, cur: Cursor, family: int) -> None:
    tok = cur.peek()
    if tok is None:
        raise CliError("incomplete")
    if tok.text.isdigit():
        seq = cur.number(1, 4294967295)
        cur.end()
        if not any(e.seq == seq for e in acl.entries):
            raise CliError("message", message=c.NO_SUCH_ACL_ENTRY.format(seq=seq))
        acl.entries = [e for e in acl.entries if e.seq != seq]
        return
    probe = parse_entry(cur, family, 0)
    acl.entries = [e for e in acl.entries if (e.action, e.text) != (probe.action, probe.text)]
