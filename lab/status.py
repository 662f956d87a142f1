"""What ``lab status --json`` prints: every node and every device, enough to drive the lab without egressctl.

The device entries carry the *credential reference*, never the secret, so the document can be pasted into
CI logs; a script reads the password from the referenced file itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from egressctl_lab.services import NETMIKO_TYPES
from egressctl_lab.topology import Topology

from egressctl.inventory.models import Site


@dataclass(frozen=True)
class NodeStatus:
    """One lab namespace."""

    name: str
    netns: str
    role: str
    addresses: list[str]
    device: str | None = None


@dataclass(frozen=True)
class DeviceStatus:
    """One device as the controller reaches it."""

    name: str
    platform: str
    device_type: str
    host: str
    port: int
    username: str
    credential: str
    mgmt_address: str
    node: str
    netns: str
    host_key: str


@dataclass(frozen=True)
class LabStatus:
    """The state of one lab instance (``up`` is False when nothing is running)."""

    up: bool
    mode: str
    prefix: str
    time_scale: float
    state_dir: str
    inventory: str
    keeper_pid: int | None = None
    nodes: list[NodeStatus] = field(default_factory=list)
    devices: list[DeviceStatus] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``lab status --json`` document."""
        return asdict(self)

    def device(self, name: str) -> DeviceStatus:
        """The device called ``name`` (KeyError if absent)."""
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)


def describe(topo: Topology, site: Site, prefix: str) -> tuple[list[NodeStatus], list[DeviceStatus]]:
    """Node and device entries for ``site`` (whose devices already carry the effective host/port)."""
    nodes = [NodeStatus(n.name, prefix + n.name, n.role, n.addresses(), n.device) for n in topo.nodes]
    devices = []
    for d in site.devices:
        node = topo.device_node(d.name)
        devices.append(DeviceStatus(
            name=d.name, platform=d.platform, device_type=NETMIKO_TYPES.get(d.platform, d.platform),
            host=d.host, port=d.port, username=d.username, credential=d.credential,
            mgmt_address=str(d.mgmt_address), node=node.name, netns=prefix + node.name, host_key=d.host_key,
        ))
    return nodes, devices
