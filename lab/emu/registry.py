"""Platform key -> emulator personality factory, imported lazily.

Lazy import keeps ``python -m egressctl_lab.emu --platform X`` from loading every vendor's module, and
lets each personality package be developed on its own.
"""

from __future__ import annotations

import importlib
from typing import cast

from egressctl_lab.emu.base import Factory

PERSONALITIES: dict[str, str] = {
    "cisco_ios": "egressctl_lab.emu.cisco_ios:create",
    "juniper_junos": "egressctl_lab.emu.juniper_junos:create",
    "fortinet": "egressctl_lab.emu.fortinet:create",
    "paloalto_panos": "egressctl_lab.emu.paloalto_panos:create",
}


def factory(platform: str) -> Factory:
    """Import and return the ``create(spec, clock, dataplane)`` factory for ``platform``.

    Raises:
        KeyError: no personality emulates ``platform``.
    """
    if platform not in PERSONALITIES:
        raise KeyError(f"no emulator for platform {platform!r}; known: {', '.join(sorted(PERSONALITIES))}")
    module, _, attr = PERSONALITIES[platform].partition(":")
    return cast(Factory, getattr(importlib.import_module(module), attr))
