"""Commit check-out: what Junos refuses to commit (missing mandatory statements, dangling references).

A failed check-out prints each problem under its ``[edit ...]`` level and ends with ``error: configuration
check-out failed``; the active configuration does not change.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos.tree import POS, Tree


def address_book(tree: Tree) -> tuple[dict[str, str], dict[str, list[str]]]:
    """All addresses (name -> prefix) and address sets (name -> member names) of every book."""
    addrs: dict[str, str] = {}
    sets: dict[str, list[str]] = {}
    for book in tree.get("security", {}).get("address-book", {}).values():
        for name, entry in book.get("address", {}).items():
            if POS in entry:
                addrs[name] = entry[POS]
        for name, entry in book.get("address-set", {}).items():
            sets[name] = list(entry.get("address", {}))
    return addrs, sets


def policies(tree: Tree) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(from-zone, to-zone, policy name, policy node) in configuration order."""
    out = []
    for fz, fz_node in tree.get("security", {}).get("policies", {}).get("from-zone", {}).items():
        for tz, tz_node in fz_node.get("to-zone", {}).items():
            for name, pol in tz_node.get("policy", {}).items():
                out.append((fz, tz, name, pol))
    return out


def check(tree: Tree) -> str | None:
    """Problems that block a commit, as Junos prints them, or None."""
    problems: list[str] = []
    addrs, sets = address_book(tree)
    apps = tree.get("applications", {}).get("application", {})
    zones = tree.get("security", {}).get("zones", {}).get("security-zone", {})
    for name, app in apps.items():
        if "protocol" not in app:
            problems.append(_problem(("applications", "application", name), "protocol", c.MISSING_MANDATORY))
    for name, prefix in addrs.items():
        try:
            ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            problems.append(_problem(("security", "address-book", "global", "address", name), prefix,
                                     f"Invalid prefix: {prefix}"))
    for fz, tz, name, pol in policies(tree):
        level = ("security", "policies", "from-zone", fz, "to-zone", tz, "policy", name)
        for zone in (fz, tz):
            if zone not in zones:
                problems.append(_problem(level[:6], zone, c.ZONE_UNDEFINED.format(name=zone)))
        match = pol.get("match", {})
        for key in ("source-address", "destination-address", "application"):
            if key not in match:
                problems.append(_problem((*level, "match"), key, c.MISSING_MANDATORY))
        for key in ("source-address", "destination-address"):
            for ref in match.get(key, []):
                if ref not in c.PREDEFINED_ADDRESSES and ref not in addrs and ref not in sets:
                    problems.append(_problem((*level, "match"), f"{key} {ref}",
                                             c.UNDEFINED_REF.format(kind="Address", name=ref)))
        for ref in match.get("application", []):
            if ref not in c.PREDEFINED_APPS and ref not in apps:
                problems.append(_problem((*level, "match"), f"application {ref}",
                                         c.UNDEFINED_REF.format(kind="Application", name=ref)))
        if not any(a in pol.get("then", {}) for a in ("permit", "deny", "reject")):
            problems.append(_problem(level, "then", c.MISSING_MANDATORY))
    if not problems:
        return None
    return "\n".join(problems) + "\n" + c.CHECKOUT_FAILED + "\n"


def _problem(level: tuple[str, ...], statement: str, message: str) -> str:
    return f"[edit {' '.join(level)}]\n  '{statement}'\n    {message}"
