"""egressctl lab: an emulated hospital site in network namespaces (see ``inventory/lab.yaml``).

Public API: :class:`Lab` (``up``/``down``/``status``/``exec``, a context manager), :class:`LabStatus`
(``to_dict()`` is the ``lab status --json`` document) and :func:`node_exec_prefix`.

Names are loaded lazily: the lab's own small processes (canaries, forwarder, emulators) import modules of
this package and must not pay for pydantic and the inventory loader at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egressctl_lab.lab import Lab, lab_mode, node_exec_prefix
    from egressctl_lab.status import DeviceStatus, LabStatus, NodeStatus

__all__ = ["DeviceStatus", "Lab", "LabStatus", "NodeStatus", "lab_mode", "node_exec_prefix"]
_HOME = {"Lab": "lab", "lab_mode": "lab", "node_exec_prefix": "lab", "DeviceStatus": "status",
         "LabStatus": "status", "NodeStatus": "status"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"egressctl_lab.{_HOME[name]}"), name)
    raise AttributeError(f"module 'egressctl_lab' has no attribute {name!r}")
