"""The lab's hooks into egressctl's registry (entry points in pyproject.toml).

The product never imports the lab: ``egressctl lab`` is registered through ``egressctl.commands`` and the
way into the lab's namespaces (which live in a user namespace in the rootless mode, and carry the lab's
name prefix) through ``egressctl.netns_exec``, and the inventory product commands use by default once a
lab is up (its effective inventory, wherever the lab was started from) through
``egressctl.default_inventory``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def netns_exec(state_dir: Path | None) -> Callable[[str], list[str]] | None:
    """A prefix function when a lab is up in ``state_dir``; None lets the product use ``ip netns exec``."""
    from egressctl_lab.state import paths, read_lab_json

    doc = read_lab_json(paths(state_dir)) or {}
    if not doc.get("nodes"):
        return None

    def prefix(node: str) -> list[str]:
        from egressctl_lab.errors import LabError
        from egressctl_lab.lab import node_exec_prefix

        try:
            return list(node_exec_prefix(node, state_dir=state_dir))
        except LabError:  # not one of the lab's nodes: a namespace of the host
            return ["ip", "netns", "exec", node]

    return prefix


def default_inventory(state_dir: Path | None) -> Path | None:
    """The effective inventory of the lab that is up in ``state_dir``; None when no lab is up there.

    Cheap on purpose (a JSON read and a /proc look-up, no inventory loading): every ``egressctl`` command
    without ``-i`` asks.
    """
    from egressctl_lab.state import keeper_alive, paths, read_lab_json

    doc = read_lab_json(paths(state_dir)) or {}
    if not doc.get("nodes") or not doc.get("inventory") or not keeper_alive(doc):
        return None
    found = Path(str(doc["inventory"]))
    return found if found.is_file() else None
