"""What the IOS router prints: running-config, ACL listings, interface and archive tables, pipe filters."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from functools import lru_cache

from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios import generic
from egressctl_lab.emu.cisco_ios.model import Acl, Config, Entry, Interface


@lru_cache(maxsize=64)
def kernel_ipv4(kernel: str) -> tuple[str, str] | None:
    """(address, netmask) of a kernel interface in this namespace, or None (cached: addresses are static)."""
    try:
        out = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", kernel], capture_output=True,
                             text=True, timeout=5, check=False).stdout
        info = json.loads(out or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    for item in info:
        for a in item.get("addr_info", []):
            net = ipaddress.IPv4Network(f"{a['local']}/{a['prefixlen']}", strict=False)
            return a["local"], str(net.netmask)
    return None


def interface_address(itf: Interface) -> tuple[str, str] | None:
    """(address, mask) shown for an interface: as configured, else the kernel's."""
    if itf.address is not None:
        return itf.address
    return kernel_ipv4(itf.kernel) if itf.kernel else None


def running_config(cfg: Config) -> str:
    """``show running-config``: interpreted sections and stored lines, each where IOS prints it."""
    sections: list[tuple[int, list[str]]] = [
        (5, ["!", "version 15.9"]), (20, ["!", f"hostname {cfg.hostname}", "!"]),
        (25, ["boot-start-marker", "boot-end-marker", "!"]),
    ]
    if cfg.archive_path is not None or cfg.archive_max != c.ARCHIVE_DEFAULT_MAX:
        lines = ["archive"]
        if cfg.archive_path is not None:
            lines.append(f" path {cfg.archive_path}")
        if cfg.archive_max != c.ARCHIVE_DEFAULT_MAX:
            lines.append(f" maximum {cfg.archive_max}")
        sections.append((55, [*lines, "!"]))
    sections.append((60, [ln for itf in cfg.interfaces.values() for ln in _interface(itf)]))
    sections.append((75, [ln for acl in cfg.acls.values() for ln in _acl_section(acl)]))
    for kind, text in cfg.banners.items():
        sections.append((85, [f"banner {kind} ^C", *text.split("\n"), "^C"]))
    ranks = sorted({r for r, _ in sections} | {generic.rank(b.words()) for b in cfg.extra})
    body: list[str] = []
    for at in ranks:
        body += [ln for r, lines in sections if r == at for ln in lines]
        stored = generic.render(cfg.extra, at)
        if stored:
            body += [*stored, "!"] if stored[-1] != "!" else stored
    body += ["!", "end"]
    text = "\n".join(body) + "\n"
    return f"{c.BUILDING}\n\nCurrent configuration : {len(text)} bytes\n{text}"


def _interface(itf: Interface) -> list[str]:
    out = [f"interface {itf.name}"]
    if itf.description:
        out.append(f" description {itf.description}")
    if itf.layer2 is False:
        out.append(" no switchport")  # a switch's routed port; a switch port has no ip address line
    addr = interface_address(itf) if not itf.layer2 else None
    if not itf.layer2:
        out.append(f" ip address {addr[0]} {addr[1]}" if addr else " no ip address")
    out += [f" {ln}" for ln in itf.extra if ln.split()[0] == "ip"]
    if itf.acl_in4:
        out.append(f" ip access-group {itf.acl_in4} in")
    if itf.acl_out4:
        out.append(f" ip access-group {itf.acl_out4} out")
    if itf.shutdown:
        out.append(" shutdown")
    others = [ln for ln in itf.extra if ln.split()[0] not in ("ip", "ipv6")]
    if not itf.virtual and not itf.name.startswith("Vlan"):  # an SVI has no duplex or speed
        out += [f" {d} auto" for d in ("duplex", "speed") if not any(ln.startswith(d) for ln in others)]
    out += [f" {ln}" for ln in others]
    out += [f" {ln}" for ln in itf.extra if ln.split()[0] == "ipv6"]
    if itf.acl_in6:
        out.append(f" ipv6 traffic-filter {itf.acl_in6} in")
    if itf.acl_out6:
        out.append(f" ipv6 traffic-filter {itf.acl_out6} out")
    out.append("!")
    return out


def _acl_section(acl: Acl) -> list[str]:
    if acl.family == 4:
        out = [f"ip access-list extended {acl.name}"]
        for e in acl.entries:
            if e.seq is None:
                out.append(f" remark {e.body}")
            else:
                out.append(f" {e.action:<6} {e.body}")
        return out
    out = [f"ipv6 access-list {acl.name}"]
    expected = 0
    for e in acl.entries:
        if e.seq is None:
            out.append(f" remark {e.body}")
            continue
        expected += 10
        prefix = f" sequence {e.seq}" if e.seq != expected else ""
        expected = e.seq
        out.append(f"{prefix} {e.action} {e.body}")
    return out


def show_access_lists(cfg: Config, name: str | None) -> str:
    """``show access-lists [NAME]`` (remarks are not listed, as on IOS)."""
    out: list[str] = []
    for acl in cfg.acls.values():
        if name is not None and acl.name != name:
            continue
        if acl.family == 4:
            out.append(f"Extended IP access list {acl.name}")
            out += [f"    {e.seq} {e.action} {e.body}" for e in acl.aces()]
        else:
            out.append(f"IPv6 access list {acl.name}")
            out += [f"    {e.action} {e.body} sequence {e.seq}" for e in acl.aces()]
    return "\n".join(out) + "\n" if out else ""


def show_ip_interface_brief(cfg: Config) -> str:
    """``show ip interface brief``."""
    lines = [f"{'Interface':<27}{'IP-Address':<16}OK? Method Status                Protocol"]
    for itf in cfg.interfaces.values():
        addr = interface_address(itf) if not itf.layer2 else None  # a switch port has no address
        ip, method = (addr[0], "NVRAM") if addr else ("unassigned", "unset")
        status, proto = ("administratively down", "down") if itf.shutdown else ("up", "up")
        lines.append(f"{itf.name:<27}{ip:<16}YES {method:<6} {status:<21} {proto:<8}")
    return "\n".join(lines) + "\n"


def show_archive(cfg: Config, files: list[str]) -> str:
    """``show archive``: the archive files written by confirmed-change backups."""
    if cfg.archive_path is None:
        return c.ARCHIVE_NOT_ENABLED + "\n"
    lines = [
        f"The maximum archive configurations allowed is {cfg.archive_max}.",
        f"There are currently {len(files)} archive configurations saved.",
        f"The next archive file will be named {cfg.archive_path}-<timestamp>-{len(files)}",
        " Archive #  Name",
    ]
    for i in range(cfg.archive_max):
        name = files[i] if i < len(files) else ""
        mark = " <- Most Recent" if files and i == len(files) - 1 else ""
        lines.append(f"   {i + 1:<9}{name}{mark}".rstrip())
    return "\n".join(lines) + "\n"


def entry_line(e: Entry) -> str:
    """One ACE as typed (for messages)."""
    return f"{e.action} {e.body}"


def apply_pipe(text: str, op: str, pattern: str) -> str:
    """IOS output modifiers: ``include``, ``exclude``, ``begin``, ``section`` (regular expressions)."""
    try:
        rx = re.compile(pattern)
    except re.error:
        rx = re.compile(re.escape(pattern))
    lines = text.split("\n")
    if text.endswith("\n"):
        lines = lines[:-1]
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
    kept: list[str] = []
    inside = False
    for ln in lines:
        if ln and not ln.startswith(" "):
            inside = bool(rx.search(ln))
            if inside:
                kept.append(ln)
        elif inside and ln.startswith(" "):
            kept.append(ln)
    return kept
