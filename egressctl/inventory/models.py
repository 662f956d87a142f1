"""Typed site inventory (pydantic v2).

Value types (safe names, prefixes, addresses, ports) live in ``values.py``; the models here compose them,
with the SSH access fields (jump hosts, pinned keys, ssh_config) from ``access.py`` and the verification
points (vantage points, canaries, captures) from ``probing.py``.
Secrets are never values in the inventory: a device names a credential *reference* that is resolved at
connect time (see ``credentials.py``). Checks that need the whole site or the driver registry (exits,
canaries, world-wide allows, platforms) are the loader's (``crossref.py``), so any code can validate a
``Site`` without importing drivers.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from egressctl.inventory.access import (
    NO_SITE,
    CredentialRef,
    HostKeyPin,
    JumpHost,
    SiteSsh,
    SshConfigPath,
    ValueRef,
)
from egressctl.inventory.probing import Canary, CapturePoint, VantagePoint
from egressctl.inventory.values import (
    RESERVED_TARGETS,
    Address,
    HostName,
    IfName,
    IpAddress,
    Network,
    PortRange,
    Protocol,
    SafeName,
    UserName,
    parse_network,
    parse_ports,
)

__all__ = [
    "Address",
    "Canary",
    "CapturePoint",
    "Device",
    "Flow",
    "Group",
    "Inventory",
    "JumpHost",
    "ManagementPath",
    "Network",
    "PortRange",
    "Protocol",
    "Site",
    "Stage",
    "SwitchRole",
    "VantagePoint",
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Flow(_Strict):
    """Destinations with a protocol and (for tcp/udp) destination ports; empty ports mean any port.

    ``allow_world`` must be set on a flow whose destinations amount to the whole internet (the loader
    refuses such a flow otherwise), so opening everything is always a deliberate, reviewable line.
    """

    name: SafeName = Field(description=(
        "Flow name; device rules are named after it (always-NAME, stage-NAME)."))
    description: str = Field(default="", description="Why this flow exists and who asked for it; for people.")
    destinations: list[Network] = Field(min_length=1, description=(
        "Destination prefixes the site may reach (a single host is /32 or /128)."))
    protocol: Protocol = Field(default="any", description="IP protocol; any means every protocol.")
    ports: list[PortRange] = Field(default_factory=list, description=(
        "Destination ports, e.g. [443] or [\"8000-8080\"]; empty means every port."))
    allow_world: bool = Field(default=False, description=(
        "Set to true when the destinations deliberately open the whole internet (0.0.0.0/0, ::/0, or an "
        "eighth or more of an address family); the loader refuses such a flow without it."))

    _nets = field_validator("destinations", mode="before")(
        lambda v: [parse_network(x) for x in v] if isinstance(v, list) else v
    )
    _ports = field_validator("ports", mode="before")(lambda v: parse_ports(v) if v is not None else [])

    @model_validator(mode="after")
    def _ports_need_l4(self) -> Flow:
        if self.ports and self.protocol not in ("tcp", "udp"):
            raise ValueError(f"ports need protocol tcp or udp, not {self.protocol}")
        return self


class ManagementPath(_Strict):
    """A path that must never be cut: operator sources reaching device or service destinations.

    When ``destinations`` is empty it means every device's ``mgmt_address``.
    """

    name: SafeName = Field(description="Path name; device rules are named after it (mgmt-NAME).")
    description: str = Field(default="", description="Who uses this path and how; for people.")
    sources: list[Network] = Field(min_length=1, description=(
        "Prefixes of the operators' hosts (jump hosts, NOC, CERT bastion); they keep reaching the "
        "destinations in every state, isolated included, in both directions."))
    destinations: list[Network] = Field(default_factory=list, description=(
        "Prefixes the sources reach; empty means every device's mgmt_address."))
    protocol: Literal["tcp", "udp"] = Field(default="tcp", description="IP protocol of the path.")
    ports: list[PortRange] = Field(default_factory=lambda: [PortRange(first=22, last=22)], description=(
        "Destination ports, e.g. [22, 443] or [\"8000-8080\"]."))

    _src = field_validator("sources", "destinations", mode="before")(
        lambda v: [parse_network(x) for x in v] if isinstance(v, list) else v
    )
    _ports = field_validator("ports", mode="before")(lambda v: parse_ports(v) if v is not None else [])


class Stage(_Strict):
    """One restore stage; its allows add to every earlier stage's."""

    name: SafeName = Field(description="Stage name, as in `egressctl restore SITE --stage NAME`.")
    description: str = Field(default="", description="What this stage reopens; shown in the TUI.")
    allow: list[Flow] = Field(default_factory=list, description=(
        "Flows this stage opens, in addition to always_allowed and every earlier stage's (stages are "
        "cumulative, in file order)."))

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v.lower() in RESERVED_TARGETS:
            raise ValueError(f"{v!r} is reserved for a target state; choose another stage name")
        return v


#: A switch virtual interface as IOS names it: ``interface VlanN``, N a VLAN ID 1-4094.
SVI_RE = re.compile(r"^[Vv]lan(?P<vid>[1-9][0-9]{0,3})$")


class SwitchRole(_Strict):
    """How a switch (``role: switch``) is cut: ACLs on its SVIs and uplinks, or its uplinks shut.

    ``shutdown-uplink`` is the declared last resort for a switch that cannot filter: isolation shuts the
    uplinks (everything over them stops, always-allowed flows included) and nothing else, so it has no
    stages. Management must then reach the switch some other way, which is why ``mgmt_interface`` is
    required there; whether it crosses an uplink is the planner's check (it needs the site).
    """

    mode: Literal["acl", "shutdown-uplink"] = Field(default="acl", description=(
        "acl: egressctl's ACLs filter traffic entering the SVIs and leaving through the uplinks (every "
        "stage). shutdown-uplink: isolation shuts the uplinks, restore opens them again (full isolation "
        "only, no stages; stated in the plan)."))
    svis: list[IfName] = Field(default_factory=list, description=(
        "SVIs facing the site's VLANs (interface VlanN); in acl mode the ACLs filter traffic entering them."))
    uplinks: list[IfName] = Field(default_factory=list, description=(
        "Routed uplink ports towards the distribution or core; in acl mode the ACLs filter traffic leaving "
        "through them, in shutdown-uplink mode isolation shuts them."))
    mgmt_interface: IfName | None = Field(default=None, description=(
        "Interface the management paths reach the switch on: an out-of-band port, or an SVI when every "
        "management source is inside the site. Required in shutdown-uplink mode, where it must not be an "
        "uplink."))

    @field_validator("svis")
    @classmethod
    def _svi_names(cls, v: list[str]) -> list[str]:
        for name in v:
            m = SVI_RE.match(name)
            if m is None or int(m.group("vid")) > 4094:
                raise ValueError(f"{name!r} is not an SVI name: VlanN with N a VLAN ID 1-4094")
        return v

    @model_validator(mode="after")
    def _mode_needs(self) -> SwitchRole:
        names = [n.lower() for n in self.svis + self.uplinks]
        if len(set(names)) != len(names):
            raise ValueError("an interface is listed twice in svis and uplinks")
        if self.mode == "acl" and not names:
            raise ValueError("mode acl needs svis or uplinks to apply the ACLs on")
        if self.mode == "shutdown-uplink" and not self.uplinks:
            raise ValueError("mode shutdown-uplink needs the uplinks to shut")
        if self.mode == "shutdown-uplink" and self.mgmt_interface is None:
            raise ValueError("mode shutdown-uplink needs mgmt_interface, the interface management reaches "
                             "the switch on once the uplinks are shut")
        return self


class Device(_Strict):
    """One firewall or router that egressctl drives.

    ``platform`` is only checked for shape here; whether a driver is registered for it is the loader's
    check (``crossref.py``), so validating data never imports the driver registry or scans plugins.
    """

    name: SafeName = Field(description=(
        "Device name, as shown in plans and status and given to `--device NAME`."))
    platform: SafeName = Field(description="Driver that speaks this device's CLI.")
    host: HostName = Field(description=(
        "Address, DNS name or ssh_config Host alias egressctl connects to over SSH."))
    port: int = Field(default=22, ge=1, le=65535, description=(
        "SSH port; when not written here, ssh_config's Port for host, else 22."))
    username: UserName = Field(description=(
        "SSH user egressctl logs in as; it needs the rights to change and commit the firewall policy "
        "(always this one: ssh_config's User does not replace it)."))
    credential: CredentialRef = Field(description=(
        "Credential reference, never a password: env:VAR, file:PATH, cmd:COMMAND, key:PATH or agent (see "
        "Credential references); resolved only when connecting."))
    enable_secret: ValueRef | None = Field(default=None, description=(
        "Reference to the enable (Cisco IOS) or sudo (Linux) secret when it is not the login password: "
        "env:VAR, file:PATH or cmd:COMMAND; omitted: the login password."))
    key_passphrase: ValueRef | None = Field(default=None, description=(
        "Reference to the passphrase of the private key (key:PATH, or ssh_config's IdentityFile): env:VAR, "
        "file:PATH or cmd:COMMAND."))
    host_key: HostKeyPin = Field(description=(
        "Pinned SSH host key, 'ssh-ed25519 AAAA...' (or ssh-rsa, ecdsa-sha2-nistp256/384/521), or "
        "known_hosts:PATH, a known_hosts file holding the pin ({state} and ~ expand). Any other key is "
        "refused: take it with ssh-keyscan over a trusted path and check it on the console."))
    ssh_config: SshConfigPath | None = Field(default=None, description=(
        "ssh_config file honoured for this device (ProxyJump, ProxyCommand, HostName, Port, IdentityFile), "
        "or none; omitted: the site's ssh_config."))
    jump: SafeName | None = Field(default=None, description=(
        "Jump host (a name in the site's jump_hosts) this device is reached through; omitted: ssh_config's "
        "ProxyJump for host, if any."))
    inside: list[IfName] = Field(min_length=1, description=(
        "Interfaces (Cisco IOS, FortiOS, Linux) or zones (Junos, PAN-OS) facing the site; what is cut is "
        "traffic from these to outside."))
    outside: list[IfName] = Field(min_length=1, description=(
        "Interfaces or zones facing the internet provider of this device's exit."))
    exit: SafeName = Field(description=(
        "Name of the internet exit (uplink) this device sits on, e.g. primary; vantage and capture points "
        "name it."))
    mgmt_address: IpAddress = Field(description=(
        "Address the management paths reach this device on (their destination when they list none)."))
    options: dict[SafeName, int | IfName] = Field(default_factory=dict, description=(
        "Platform settings. fortinet: policy_id_base, the lowest policy ID egressctl may use; revert: script "
        "(on-box revert scripts, no reboot: the default from FortiOS 6.2) or reboot (cfg-save revert, which "
        "reboots the unit when it fires). paloalto_panos: revert_host, a jump host of the site that runs the "
        "revert job (it survives the controller), and revert_port, the firewall's SSH port as that host "
        "reaches its mgmt_address (default 22)."))
    role: Literal["router", "switch"] = Field(default="router", description=(
        "router: filters on its inside interfaces. switch: a Catalyst access or distribution switch "
        "(cisco_ios), cut as its switch settings say."))
    switch: SwitchRole | None = Field(default=None, description=(
        "Switch settings (mode, svis, uplinks, mgmt_interface); required with role switch, refused "
        "otherwise."))

    _site_ssh: SiteSsh = PrivateAttr(default=NO_SITE)

    @model_validator(mode="after")
    def _role_settings(self) -> Device:
        if self.role == "switch" and self.switch is None:
            raise ValueError("role switch needs switch settings (mode, svis, uplinks)")
        if self.role == "router" and self.switch is not None:
            raise ValueError("switch settings need role: switch")
        return self

    @property
    def site_ssh(self) -> SiteSsh:
        """The SSH defaults (ssh_config, jump hosts) of the site this device was validated in."""
        return self._site_ssh


class Site(_Strict):
    """A site: what is inside, what must never be cut, and how it is restored."""

    name: SafeName = Field(description="Site name, as in `egressctl isolate NAME` and typed to confirm.")
    description: str = Field(default="", description="What and where the site is; for people.")
    inside: list[Network] = Field(min_length=1, description=(
        "Prefixes of the site; the cut stops traffic from them to the internet."))
    management: list[ManagementPath] = Field(min_length=1, description=(
        "Paths that are never cut, so the operators keep reaching the devices."))
    always_allowed: list[Flow] = Field(default_factory=list, description=(
        "Flows open in every state, isolated included (CERT VPN, upstream DNS)."))
    stages: list[Stage] = Field(default_factory=list, description=(
        "Restore stages in the order they are reopened; `restore --full` then removes every rule."))
    devices: list[Device] = Field(min_length=1, description=(
        "Every firewall or router on a way out of the site; an operation changes them together."))
    ssh_config: SshConfigPath | None = Field(default=None, description=(
        "ssh_config file honoured for every device and SSH vantage point that names none ({state} and ~ "
        "expand), or none to read no file; omitted: ~/.ssh/config when it exists."))
    jump_hosts: list[JumpHost] = Field(default_factory=list, description=(
        "Jump hosts (bastions) with their pinned host keys; devices and vantage points are reached through "
        "them by jump: NAME or by an ssh_config ProxyJump naming them."))
    vantage_points: list[VantagePoint] = Field(default_factory=list, description=(
        "Hosts inside the site that probes are sent from to prove the cut; none means no active proof."))
    canaries: list[Canary] = Field(default_factory=list, description=(
        "Outside addresses the probes aim at: blocked when isolated, answering when open."))
    captures: list[CapturePoint] = Field(default_factory=list, description=(
        "Upstream links watched by `egressctl verify SITE --watch SECONDS`."))

    _inside = field_validator("inside", mode="before")(
        lambda v: [parse_network(x) for x in v] if isinstance(v, list) else v
    )

    @model_validator(mode="after")
    def _unique(self) -> Site:
        for what, names in (
            ("management path", [m.name for m in self.management]),
            ("stage", [s.name for s in self.stages]),
            ("device", [d.name for d in self.devices]),
            ("vantage point", [v.name for v in self.vantage_points]),
            ("jump host", [j.name for j in self.jump_hosts]),
            ("canary", [c.name for c in self.canaries]),
            ("flow", [f.name for f in self.always_allowed] + [f.name for s in self.stages for f in s.allow]),
        ):
            seen: set[str] = set()
            for n in names:
                if n.lower() in seen:
                    raise ValueError(f"duplicate {what} name {n!r}")
                seen.add(n.lower())
        return self

    @model_validator(mode="after")
    def _attach_ssh(self) -> Site:
        return self.attach_ssh()

    def attach_ssh(self) -> Site:
        """Give every device and vantage point the site's SSH defaults (a driver only gets its Device).

        Done when the site is validated; call it again on a (deep) copy whose jump hosts were replaced.
        """
        ssh = SiteSsh(self.ssh_config, tuple(self.jump_hosts))
        for device in self.devices:
            device._site_ssh = ssh
        for vp in self.vantage_points:
            vp._site_ssh = ssh
        return self

    def device(self, name: str) -> Device:
        """Return the device called ``name`` (KeyError if absent)."""
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def stage_index(self, name: str) -> int:
        """Return the position of stage ``name`` (KeyError if absent)."""
        for i, s in enumerate(self.stages):
            if s.name == name:
                return i
        raise KeyError(name)

    @property
    def exits(self) -> list[str]:
        """Exit names in device order, each once."""
        return list(dict.fromkeys(d.exit for d in self.devices))


class Group(_Strict):
    """A named set of sites (a hospital group) that one command isolates or restores together.

    The site names are checked against the file's sites by the loader (``crossref.py``), with the line.
    """

    name: SafeName = Field(description="Group name, as in `egressctl isolate --group NAME`.")
    description: str = Field(default="", description="Which organisation the sites belong to; for people.")
    sites: list[SafeName] = Field(min_length=1, description=(
        "Names of sites of this file; each operation on the group acts on every one of them."))


class Inventory(_Strict):
    """A whole inventory file: one or more sites, and groups of them."""

    version: Literal[1] = Field(default=1, description="Inventory format version; 1 is the only one.")
    sites: list[Site] = Field(min_length=1, description="The sites this file describes.")
    lab: dict[str, Any] | None = Field(default=None, description=(
        "Emulated-lab topology, validated by the lab plugin (`egressctl lab up`) and ignored elsewhere."))
    groups: list[Group] = Field(default_factory=list, description=(
        "Site groups (an estate): `egressctl isolate --group NAME` acts on all their sites at once."))

    @model_validator(mode="after")
    def _unique_sites(self) -> Inventory:
        names = [s.name for s in self.sites]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate site name(s): {', '.join(sorted(dup))}")
        return self

    @model_validator(mode="after")
    def _unique_groups(self) -> Inventory:
        names = [g.name for g in self.groups]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate group name(s): {', '.join(sorted(dup))}")
        return self

    def group(self, name: str) -> Group:
        """Return the group called ``name`` or raise KeyError listing the known ones."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"no group {name!r}; known: {', '.join(g.name for g in self.groups) or 'none'}")

    def site(self, name: str) -> Site:
        """Return the site called ``name`` or raise KeyError listing the known ones."""
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(f"no site {name!r}; known: {', '.join(s.name for s in self.sites)}")
