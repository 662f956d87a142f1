"""Platform key -> emulator personality factory, imported lazily.

Lazy import keeps ``python -m egressctl_lab.emu --platform X`` from loading every vendor's module, and
lets each personality package be developed on its own. A driver plugin's own emulator registers its
``create`` factory under the ``egressctl_lab.emulators`` entry-point group (name = platform key), so the
lab's harnesses (:func:`egressctl_lab.emu.server.serve_in_thread`, the emulator process,
:mod:`egressctl_lab.testing`) serve it like a built-in personality.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import cast

from egressctl_lab.emu.base import Factory

PERSONALITIES: dict[str, str] = {
    "cisco_ios": "egressctl_lab.emu.cisco_ios:create",
    "juniper_junos": "egressctl_lab.emu.juniper_junos:create",
    "fortinet": "egressctl_lab.emu.fortinet:create",
    "paloalto_panos": "egressctl_lab.emu.paloalto_panos:create",
    "arista_eos": "egressctl_lab.emu.arista_eos:create",
    "vyos": "egressctl_lab.emu.vyos:create",
    "cisco_asa": "egressctl_lab.emu.cisco_asa:create",
    "mikrotik_routeros": "egressctl_lab.emu.mikrotik_routeros:create",
}

#: Entry-point group of third-party emulator factories (``create(spec, clock, dataplane)``).
PLUGIN_GROUP = "egressctl_lab.emulators"


def personalities() -> dict[str, str]:
    """Every emulated platform and the ``module:attr`` of its factory (plugins never shadow built-ins)."""
    found = {ep.name: ep.value for ep in metadata.entry_points(group=PLUGIN_GROUP)}
    return {**found, **PERSONALITIES}


def factory(platform: str) -> Factory:
    """Import and return the ``create(spec, clock, dataplane)`` factory for ``platform``.

    Raises:
        KeyError: no personality emulates ``platform``.
    """
    table = personalities()
    if platform not in table:
        raise KeyError(f"no emulator for platform {platform!r}; known: {', '.join(sorted(table))}")
    module, _, attr = table[platform].partition(":")
    return cast(Factory, getattr(importlib.import_module(module), attr))
