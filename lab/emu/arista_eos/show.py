"""What the EOS switch prints: running-config, ACL listings, interfaces, sessions, users, pipe filters.

Layouts follow EOS (three-space indentation and ``!`` between sections in the running config, the
``IP Access List NAME`` listing) so that the community's TextFSM templates (ntc-templates
``arista_eos_show_version``, ``..._show_interfaces_status``, ``..._show_ip_access-lists``) parse them.
"""

from __future__ import annotations

import difflib
import re
import time
from typing import TYPE_CHECKING

from egressctl_lab.emu.arista_eos import constants as c
from egressctl_lab.emu.arista_eos.acl import Acl
from egressctl_lab.emu.arista_eos.model import Config, Interface

if TYPE_CHECKING:
    from egressctl_lab.emu.arista_eos.device import EosDevice


def running_config(cfg: Config) -> str:
    """``show running-config``."""
    out = ["! Command: show running-config", "! device: " + cfg.hostname + " (vEOS-lab, EOS-4.31.2F)", "!",
           "! boot system flash:/vEOS-lab.swi", "!", "no aaa root", "!"]
    head = [b for b in cfg.generic if b.header.startswith(("username", "spanning-tree"))]
    rest = [b for b in cfg.generic if b not in head]
    for b in head:
        out += [b.header, *(f"   {ln}" for ln in b.children)]
    out += ["!", f"hostname {cfg.hostname}", "!"]
    for itf in cfg.interfaces.values():
        out += [*_interface(itf), "!"]
    for acl in cfg.acls.values():
        out += [*_acl(acl), "!"]
    for b in rest:
        out += [b.header, *(f"   {ln}" for ln in b.children)]
        if b.children:
            out.append("!")
    return "\n".join([*out, "!", "end"]) + "\n"


def _interface(itf: Interface) -> list[str]:
    out = [f"interface {itf.name}"]
    if itf.description:
        out.append(f"   description {itf.description}")
    if itf.shutdown:
        out.append("   shutdown")
    out += [f"   {ln}" for ln in itf.extra]
    return out + [f"   {ln}" for ln in itf.group_lines()]


def _acl(acl: Acl) -> list[str]:
    head = f"ip access-list {acl.name}" if acl.family == 4 else f"ipv6 access-list {acl.name}"
    return [head, *(f"   {e.line()}" for e in acl.entries)]


def access_lists(cfg: Config, family: int, name: str | None) -> str:
    """``show ip access-lists [NAME]`` / ``show ipv6 access-lists [NAME]``."""
    title = "IP Access List" if family == 4 else "IPV6 Access List"
    blocks = []
    for (fam, acl_name), acl in cfg.acls.items():
        if fam == family and (name is None or name == acl_name):
            lines = [f"{title} {acl_name}", *(f"        {e.line()}" for e in acl.entries)]
            blocks.append("\n".join(lines))
    return "\n".join(blocks) + ("\n" if blocks else "")


def interfaces_status(cfg: Config) -> str:
    """``show interfaces status`` (ntc-templates ``arista_eos_show_interfaces_status``)."""
    rows = ["Port       Name        Status       Vlan     Duplex Speed  Type            Flags Encapsulation"]
    for itf in cfg.interfaces.values():
        if itf.name.startswith(("Vlan", "Loopback")):
            continue
        short = itf.name.replace("Ethernet", "Et").replace("Management", "Ma").replace("Port-Channel", "Po")
        status = "disabled" if itf.shutdown else "connected"
        vlan = "routed" if "no switchport" in itf.extra else "1"
        kind = "10/100/1000" if itf.name.startswith("Management") else "EbraTestPhyPort"
        rows.append(f"{short:<10} {itf.description[:11]:<11} {status:<12} {vlan:<8} a-full a-1G   {kind}")
    return "\n".join(rows) + "\n"


def sessions(dev: EosDevice, detail: bool) -> str:
    """``show configuration sessions [detail]`` [M for the exact columns]."""
    head = "   Name          State                 User     Terminal"
    rule = "   ------------- --------------------- -------- --------"
    if detail:
        head, rule = head + "    Commit Time Left", rule + "    ----------------"
    rows = [f"Maximum number of completed sessions: {c.MAX_COMPLETED}",
            "Maximum number of pending sessions: 5", "", head, rule]
    for s in dev.sessions.values():
        line = f"   {s.name:<13} {s.state:<21} {s.user:<8} vty"
        if detail and s.state == "pendingCommitTimer":
            line += f"         {hms(max(0, int(s.deadline - dev.clock.now())))}"
        rows.append(line)
    return "\n".join(rows) + "\n"


def hms(seconds: int) -> str:
    """``hh:mm:ss``."""
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def diffs(running: Config, candidate: Config, name: str) -> str:
    """``show session-config diffs``: a unified diff of the running config and the session's."""
    old = running_config(running).splitlines()[2:]
    new = running_config(candidate).splitlines()[2:]
    body = difflib.unified_diff(old, new, "system:/running-config", f"session:/{name}-session-config",
                                lineterm="")
    return "".join(f"{ln}\n" for ln in body)


def users(dev: EosDevice, me: object) -> str:
    """``show users`` (the CLI sessions open now; ``*`` marks the one asking)."""
    rows = ["   Line       User        Host(s)       Idle        Location"]
    for u in dev.users:
        star = "*" if u is me else " "
        rows.append(f"{star}  {u.vty} vty {u.vty + 1:<3} {u.username:<11} idle          00:00:00    -")
    return "\n".join(rows) + "\n"


def clock(now: float) -> str:
    """``show clock``."""
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(now)) + "\nTimezone: UTC\nClock source: local\n"


def apply_pipe(text: str, op: str, pattern: str) -> str:
    """EOS output modifiers: ``include``, ``exclude``, ``begin``, ``section`` (regular expressions)."""
    try:
        rx = re.compile(pattern)
    except re.error:
        rx = re.compile(re.escape(pattern))
    lines = text.splitlines()
    if op == "include":
        kept = [ln for ln in lines if rx.search(ln)]
    elif op == "exclude":
        kept = [ln for ln in lines if not rx.search(ln)]
    elif op == "begin":
        start = next((i for i, ln in enumerate(lines) if rx.search(ln)), len(lines))
        kept = lines[start:]
    else:
        kept = _section(lines, rx)
    return "\n".join(kept) + "\n" if kept else ""


def _section(lines: list[str], rx: re.Pattern[str]) -> list[str]:
    """Every top-level block with a line matching ``rx`` (the whole block)."""
    kept: list[str] = []
    block: list[str] = []
    for ln in [*lines, "!"]:
        if ln and not ln.startswith(" "):
            if any(rx.search(x) for x in block):
                kept += block
            block = [] if ln.startswith("!") else [ln]
        elif block:
            block.append(ln)
    return kept
