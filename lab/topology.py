"""The lab's topology: the ``lab:`` section of an inventory, validated.

The inventory's site part says *what* egressctl drives (devices, management paths, canaries); the ``lab:``
section says how the emulated site is wired on this machine: which namespace ("node") exists, which
kernel interfaces it has, which bridge or peer each one plugs into, its addresses and routes, which node
forwards or masquerades, and which node serves which site device (with the vendor-interface to
kernel-interface map its emulator needs). Keeping it in the same file as the site means one file describes
one rehearsal site, and the cross-checks below (every device has a node holding its management address,
every vantage point and capture point names a real node and interface) catch drift between the two halves.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from egressctl.inventory.models import Inventory, Site

# Kernel interface names: at most 15 bytes (IFNAMSIZ - 1), never '/', never starting with '-' or '.'.
KERNEL_IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
NODE_RE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
ADDR_RE = re.compile(r"^[0-9A-Fa-f:.]+/\d{1,3}$")


def _pattern(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what} (expected {pattern.pattern})")
        return value

    return AfterValidator(check)


KernelIfName = Annotated[str, _pattern(KERNEL_IFNAME_RE, "kernel interface name")]
NodeName = Annotated[str, _pattern(NODE_RE, "lab node name")]
IfAddress = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interface(_Strict):
    """One kernel interface of a node.

    Exactly one of ``bridge`` (a veth whose other end joins that bridge node's ``br0``), ``peer``
    (``node:ifname``, a veth to another node), ``kind: dummy`` or ``kind: loopback`` (addresses with no
    link, e.g. the internet's services; ``loopback`` puts them on ``lo``, for kernels without the dummy
    driver) says how it is wired. ``vendor`` is the name the device's own CLI uses for it.
    """

    name: KernelIfName
    vendor: str | None = None
    bridge: NodeName | None = None
    peer: str | None = None
    kind: Literal["veth", "dummy", "loopback"] = "veth"
    addresses: list[IfAddress] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_wiring(self) -> Interface:
        wired = (self.bridge is not None) + (self.peer is not None) + (self.kind != "veth")
        if wired != 1:
            raise ValueError(f"interface {self.name}: give one of bridge, peer or kind: dummy|loopback")
        if (self.kind == "loopback") != (self.name == "lo"):
            raise ValueError(f"interface {self.name}: kind loopback is exactly the interface named lo")
        if self.vendor is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9/._:-]{0,63}", self.vendor):
            raise ValueError(f"interface {self.name}: {self.vendor!r} is not a safe vendor interface name")
        return self

    def peer_ref(self) -> tuple[str, str]:
        """``(node, ifname)`` of the peer end."""
        node, sep, ifname = (self.peer or "").partition(":")
        if not sep:
            raise ValueError(f"peer {self.peer!r} must be node:ifname")
        return node, ifname


class Route(_Strict):
    """A static route: ``to`` a prefix (or ``default``) ``via`` a gateway.

    With ``source`` (a prefix) the route is a source route: it applies only to packets from that prefix and
    only where the main table knows nothing more specific than its default, as a switch pinning one VLAN to
    the second provider does (netbuild puts it in a table of its own behind ``ip rule`` lines).
    """

    to: str
    via: Address
    source: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    @model_validator(mode="after")
    def _prefix(self) -> Route:
        if self.to != "default":
            ipaddress.ip_network(self.to, strict=True)
        if self.source is not None and self.source.version != self.via.version:
            raise ValueError(f"route source {self.source} and gateway {self.via} differ in family")
        return self

    @property
    def family(self) -> int:
        """4 or 6, from the gateway."""
        return self.via.version


class Nat(_Strict):
    """Source NAT of what leaves by the named interfaces.

    An ISP's carrier-grade NAT takes everything; the operators' station hides the bastion behind its own
    management addresses (``sources`` only).
    """

    masquerade: list[KernelIfName] = Field(min_length=1)
    sources: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(default_factory=list)


class SshServer(_Strict):
    """A real OpenSSH sshd in a node (root mode; in a user namespace, ``egressctl_lab.shellbox`` instead).

    ``jump_host`` makes it the site's jump host of that name: TCP forwarding on, and the lab exposes it on
    that jump host's loopback port, as it does the devices. ``probe`` makes the node an SSH vantage host:
    ``user`` may run ``python -m egressctl probe --json --plan -`` as root through ``sudo -n`` (this very
    interpreter, whose path the lab writes into sudoers), as a site's probe account would.
    """

    user: str = Field(default="admin", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    jump_host: str | None = None
    probe: bool = False


class Node(_Strict):
    """One network namespace of the lab."""

    name: NodeName
    role: Literal["host", "bridge", "device", "router", "internet"] = "host"
    device: str | None = Field(default=None, description="site device served by this node")
    forward: bool = False
    interfaces: list[Interface] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    nat: Nat | None = None
    zones: dict[str, list[str]] = Field(default_factory=dict, description="vendor zone -> vendor interfaces")
    device_options: dict[str, str] = Field(default_factory=dict)
    sshd: SshServer | None = Field(default=None, description="a real sshd (a bastion or an SSH vantage host)")

    def interface(self, name: str) -> Interface:
        """The interface called ``name`` (KeyError if absent)."""
        for i in self.interfaces:
            if i.name == name:
                return i
        raise KeyError(f"node {self.name} has no interface {name}")

    def vendor_map(self) -> dict[str, str]:
        """Vendor interface name -> kernel interface name, for the emulator's DeviceSpec."""
        return {i.vendor: i.name for i in self.interfaces if i.vendor}

    def addresses(self) -> list[str]:
        """Every address of the node, without prefix length."""
        return [str(a.ip) for i in self.interfaces for a in i.addresses]

    def first_ipv4(self) -> str:
        """The node's first IPv4 address (where the operators' station reaches its sshd)."""
        return next(a for a in self.addresses() if ":" not in a)


class Services(_Strict):
    """Canary servers: which node runs them and the ports they answer on (on every local address)."""

    node: NodeName = "inet"
    tcp: list[int] = Field(default_factory=lambda: [25, 53, 80, 443, 587, 8080])
    udp: list[int] = Field(default_factory=lambda: [53, 443, 500, 4500])


class Topology(_Strict):
    """The validated ``lab:`` section."""

    site: str = Field(description="the inventory site this lab emulates")
    services: Services = Field(default_factory=Services)
    operator: NodeName = Field(default="ops", description="node the controller's SSH leaves from")
    nodes: list[Node] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        names = [n.name for n in self.nodes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate lab node(s): {', '.join(sorted(dup))}")
        by_name = {n.name: n for n in self.nodes}
        for required in (self.services.node, self.operator):
            if required not in by_name:
                raise ValueError(f"lab node {required!r} is referenced but not defined")
        for node in self.nodes:
            _check_node(node, by_name)
        return self

    def node(self, name: str) -> Node:
        """The node called ``name`` (KeyError if absent)."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no lab node {name!r}")

    def device_node(self, device: str) -> Node:
        """The node serving site device ``device``."""
        for n in self.nodes:
            if n.device == device:
                return n
        raise KeyError(f"no lab node serves device {device!r}")

    def jump_node(self, jump: str) -> Node:
        """The node whose sshd is site jump host ``jump``."""
        for n in self.nodes:
            if n.sshd is not None and n.sshd.jump_host == jump:
                return n
        raise KeyError(f"no lab node serves jump host {jump!r}")

    def bridge_port(self, node: str, ifname: str) -> str:
        """Kernel name of the bridge-side end of ``node``'s interface ``ifname``."""
        return f"{node}-{ifname}"[:15]


def _check_node(node: Node, by_name: dict[str, Node]) -> None:
    ifnames = [i.name for i in node.interfaces]
    if len(set(ifnames)) != len(ifnames):
        raise ValueError(f"node {node.name}: duplicate interface names")
    if node.role == "bridge" and (node.interfaces or node.routes):
        raise ValueError(f"bridge node {node.name} gets its ports from its members; list none")
    for iface in node.interfaces:
        if iface.bridge is not None:
            target = by_name.get(iface.bridge)
            if target is None or target.role != "bridge":
                raise ValueError(f"{node.name}:{iface.name}: {iface.bridge!r} is not a bridge node")
            port = f"{node.name}-{iface.name}"
            if len(port) > 15:
                raise ValueError(f"{node.name}:{iface.name}: bridge port name {port!r} exceeds 15 characters")
        if iface.peer is not None:
            pnode, pif = iface.peer_ref()
            other = by_name.get(pnode)
            if other is None or pif not in [i.name for i in other.interfaces]:
                raise ValueError(f"{node.name}:{iface.name}: peer {iface.peer!r} does not exist")
            if other.interface(pif).peer != f"{node.name}:{iface.name}":
                raise ValueError(f"{node.name}:{iface.name}: peer {iface.peer!r} does not point back")
    vendors = {i.vendor for i in node.interfaces if i.vendor}
    for zone, members in node.zones.items():
        missing = [m for m in members if m not in vendors]
        if missing:
            raise ValueError(f"node {node.name}: zone {zone} names unknown interfaces {missing}")
    if node.nat is not None:
        for ifname in node.nat.masquerade:
            if ifname not in ifnames:
                raise ValueError(f"node {node.name}: nat interface {ifname} does not exist")


def cross_check(topo: Topology, site: Site) -> list[str]:
    """Problems between the topology and the site it emulates (empty when consistent)."""
    problems: list[str] = []
    names = {n.name for n in topo.nodes}
    for dev in site.devices:
        try:
            node = topo.device_node(dev.name)
        except KeyError as exc:
            problems.append(str(exc).strip("'\""))
            continue
        if str(dev.mgmt_address) not in node.addresses():
            problems.append(f"device {dev.name}: mgmt_address {dev.mgmt_address} is not on node {node.name}")
        known = set(node.vendor_map()) | set(node.zones) | {i.name for i in node.interfaces}
        for side in (*dev.inside, *dev.outside):
            if side not in known:
                problems.append(f"device {dev.name}: {side} is no vendor interface or zone of its node")
    for node in topo.nodes:
        if node.device is not None and node.device not in {d.name for d in site.devices}:
            problems.append(f"lab node {node.name}: site {site.name} has no device {node.device}")
    problems += _check_jump_hosts(topo, site)
    for vp in site.vantage_points:
        if vp.netns is not None and vp.netns not in names:
            problems.append(f"vantage point {vp.name}: no lab node {vp.netns}")
    for cap in site.captures:
        if cap.netns is not None:
            if cap.netns not in names:
                problems.append(f"capture {cap.exit}: no lab node {cap.netns}")
            elif cap.interface not in {i.name for i in topo.node(cap.netns).interfaces}:
                problems.append(f"capture {cap.exit}: node {cap.netns} has no interface {cap.interface}")
    return problems


def _check_jump_hosts(topo: Topology, site: Site) -> list[str]:
    """Every site jump host has a node with an sshd and an IPv4 address; every such node a jump host."""
    problems: list[str] = []
    for jump in site.jump_hosts:
        try:
            node = topo.jump_node(jump.name)
        except KeyError as exc:
            problems.append(str(exc.args[0]))
            continue
        if not any(":" not in a for a in node.addresses()):
            problems.append(f"jump host {jump.name}: node {node.name} has no IPv4 address")
    for node in topo.nodes:
        wanted = node.sshd.jump_host if node.sshd else None
        if wanted is not None and wanted not in {j.name for j in site.jump_hosts}:
            problems.append(f"lab node {node.name}: site {site.name} has no jump host {wanted}")
    return problems


def load_topology(inventory: Inventory) -> tuple[Topology, Site]:
    """Validate ``inventory.lab`` and return it with the site it emulates.

    Raises:
        ValueError: the section is missing or invalid, or disagrees with the site.
    """
    if not inventory.lab:
        raise ValueError("the inventory has no lab: section")
    topo = Topology.model_validate(inventory.lab)
    site = inventory.site(topo.site)
    problems = cross_check(topo, site)
    if problems:
        raise ValueError("lab section disagrees with site " + site.name + ":\n  " + "\n  ".join(problems))
    return topo, site
