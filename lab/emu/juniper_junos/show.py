"""What the SRX prints: configuration displays, commit history, policies, and the ``|`` pipes."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos import display, tree
from egressctl_lab.emu.juniper_junos import interfaces as itf
from egressctl_lab.emu.juniper_junos.tree import JunosError, Tok, Tree, match_keyword
from egressctl_lab.emu.juniper_junos.validate import policies

if TYPE_CHECKING:
    from egressctl_lab.emu.juniper_junos.device import JunosDevice

_DISPLAY_SET = "\x00display-set"


def _stamp(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def configuration(dev: JunosDevice, config: Tree, path: tree.Resolved, operational: bool) -> str:
    """``show configuration [PATH]`` (active) / ``show [PATH]`` (candidate); curly form.

    The set form is produced by :func:`apply_pipes` when ``| display set`` follows, so the marker line
    carries the node and its path.
    """
    node, where = display.subtree(config, path)
    if node is None:
        return ""
    header = ""
    if not path.steps:
        last = dev.history[0]
        header = f"## Last commit: {_stamp(last.when)} by {last.user}\nversion 21.4R3.15;\n"
        if not operational:
            header = f"## Last changed: {_stamp(dev.clock.now())}\nversion 21.4R3.15;\n"
    lines = display.curly(node, display.spec_at(where))
    end = path.steps[-1] if path.steps else None
    if end is not None and end.name is None and end.spec.block and path.generic is None:
        lines = [ln[4:] for ln in lines[1:-1]]  # the entries themselves, not their ``kw {`` wrapper
    curly = "\n".join(lines)
    sets = "\n".join(display.set_lines(node, where))
    return f"{_DISPLAY_SET}{sets}\n{_DISPLAY_SET}{header}{curly}\n"


def apply_pipes(text: str, pipes: list[str], config: bool) -> str:
    """``| display set``, ``| match RE``, ``| except RE``, ``| count``, ``| no-more``, in order."""
    if text.startswith(_DISPLAY_SET):
        sets, _, curly = text[len(_DISPLAY_SET):].partition(_DISPLAY_SET)
        text = sets if any(p.split()[:2] == ["display", "set"] for p in pipes) else curly
    for pipe in pipes:
        words = pipe.split(None, 1)
        op = words[0].lower()
        arg = words[1].strip().strip('"') if len(words) > 1 else ""
        lines = text.splitlines()
        if op == "display":
            if arg != "set":
                raise JunosError(c.SYNTAX_ERROR, None)
        elif op in ("match", "except", "find"):
            if not arg:
                raise JunosError(c.SYNTAX_EXPECTING.format(what="<regular-expression>"), None)
            rx = _regex(arg)
            if op == "match":
                lines = [ln for ln in lines if rx.search(ln)]
            elif op == "except":
                lines = [ln for ln in lines if not rx.search(ln)]
            else:
                start = next((i for i, ln in enumerate(lines) if rx.search(ln)), len(lines))
                lines = lines[start:]
            text = "\n".join(lines) + ("\n" if lines else "")
        elif op == "count":
            text = f"Count: {len(lines)} lines\n"
        elif op not in ("no-more", "last"):
            raise JunosError(c.SYNTAX_ERROR, None)
    return text


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(pattern), re.IGNORECASE)


def system_commit(dev: JunosDevice) -> str:
    """``show system commit``."""
    lines = []
    for i, entry in enumerate(dev.history):
        line = f"{i}   {_stamp(entry.when)} by {entry.user} via {entry.how}"
        if entry.note:
            line += f" {entry.note}"
        lines.append(line)
        if entry.comment:
            lines.append(f"    {entry.comment}")
    return "\n".join(lines) + "\n"


def security_policies(config: Tree) -> str:
    """``show security policies`` (active policies in evaluation order)."""
    out = []
    seq = 0
    last_pair: tuple[str, str] | None = None
    for fz, tz, name, pol in policies(config):
        if (fz, tz) != last_pair:
            out.append(f"From zone: {fz}, To zone: {tz}")
            last_pair, seq = (fz, tz), 0
        seq += 1
        match, then = pol.get("match", {}), pol.get("then", {})
        action = next((a for a in ("permit", "deny", "reject") if a in then), "none")
        out += [
            f"  Policy: {name}, State: enabled, Index: {seq + 3}, Scope Policy: 0, Sequence number: {seq}",
            f"    Source addresses: {', '.join(match.get('source-address', []))}",
            f"    Destination addresses: {', '.join(match.get('destination-address', []))}",
            f"    Applications: {', '.join(match.get('application', []))}",
            f"    Action: {action}",
        ]
    return "\n".join(out) + ("\n" if out else "")


def version(dev: JunosDevice) -> str:
    """``show version`` (package list shaped after an SRX 19.4 capture in ntc-templates' test data)."""
    packages = "".join(f"JUNOS {name} [{build}]\n" for name, build in c.VERSION_PACKAGES)
    return f"Hostname: {dev.hostname}\nModel: vsrx\nJunos: {c.RELEASE}\n{packages}"


_SHOW_ITF_OPTIONS = ["terse", "detail", "extensive", "brief", "statistics"]


def interfaces(dev: JunosDevice, toks: list[Tok], end: int) -> str:
    """``show interfaces [NAME] [terse]``."""
    name: str | None = None
    terse = False
    for tok in toks:
        low = tok.text.lower()
        if any(kw.startswith(low) for kw in _SHOW_ITF_OPTIONS):
            terse = terse or match_keyword(tok, _SHOW_ITF_OPTIONS) == "terse"
        elif name is None:
            name = tok.text
        else:
            raise JunosError(c.SYNTAX_ERROR, tok.pos)
    if terse:
        text = itf.terse(dev.active, dev.spec.interfaces)
        if name is not None:
            head, *rows = text.splitlines()
            rows = [r for r in rows if r.split()[0].startswith(name)] if rows else []
            text = "\n".join([head, *rows]) + "\n"
        return text
    text = itf.detail(dev.active, dev.spec.interfaces, name)
    if not text and name is not None:
        return f"error: device {name} not found\n"
    return text
