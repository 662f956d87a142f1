"""Typed site inventory (pydantic v2).

Value types (safe names, prefixes, addresses, ports) live in ``values.py``; the models here compose them.
Secrets are never values in the inventory: a device names a credential *reference* that is resolved at
connect time (see ``credentials.py``). Checks that need the whole site or the driver registry (exits,
canaries, world-wide allows, platforms) are the loader's (``crossref.py``), so any code can validate a
``Site`` without importing drivers.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from egressctl.inventory.credentials import validate_reference
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
    "Inventory",
    "ManagementPath",
    "Network",
    "PortRange",
    "Protocol",
    "Site",
    "Stage",
    "VantagePoint",
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Flow(_Strict):
    """Destinations with a protocol and (for tcp/udp) destination ports; empty ports mean any port.

    ``allow_world`` must be set on a flow whose destinations amount to the whole internet (the loader
    refuses such a flow otherwise), so opening everything is always a deliberate, reviewable line.
    """

    name: SafeName
    description: str = ""
    destinations: list[Network] = Field(min_length=1)
    protocol: Protocol = "any"
    ports: list[PortRange] = Field(default_factory=list)
    allow_world: bool = Field(default=False, description="this flow deliberately opens the whole internet")

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

    name: SafeName
    description: str = ""
    sources: list[Network] = Field(min_length=1)
    destinations: list[Network] = Field(default_factory=list)
    protocol: Literal["tcp", "udp"] = "tcp"
    ports: list[PortRange] = Field(default_factory=lambda: [PortRange(first=22, last=22)])

    _src = field_validator("sources", "destinations", mode="before")(
        lambda v: [parse_network(x) for x in v] if isinstance(v, list) else v
    )
    _ports = field_validator("ports", mode="before")(lambda v: parse_ports(v) if v is not None else [])


class Stage(_Strict):
    """One restore stage; its allows add to every earlier stage's."""

    name: SafeName
    description: str = ""
    allow: list[Flow] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v.lower() in RESERVED_TARGETS:
            raise ValueError(f"{v!r} is reserved for a target state; choose another stage name")
        return v


class Device(_Strict):
    """One firewall or router that egressctl drives.

    ``platform`` is only checked for shape here; whether a driver is registered for it is the loader's
    check (``crossref.py``), so validating data never imports the driver registry or scans plugins.
    """

    name: SafeName
    platform: SafeName
    host: HostName
    port: int = Field(default=22, ge=1, le=65535)
    username: UserName
    credential: str = Field(description="env:VAR, file:PATH, key:PATH or agent")
    host_key: str = Field(description="pinned host key: 'ssh-ed25519 AAAA...' or known_hosts:PATH")
    inside: list[IfName] = Field(min_length=1, description="interfaces or zones facing the site")
    outside: list[IfName] = Field(min_length=1, description="interfaces or zones facing a provider")
    exit: SafeName = Field(description="which internet exit this device sits on")
    mgmt_address: IpAddress = Field(description="the address the management path reaches this device on")
    options: dict[SafeName, int | IfName] = Field(default_factory=dict)

    @field_validator("credential")
    @classmethod
    def _credential_ref(cls, v: str) -> str:
        return validate_reference(v)

    @field_validator("host_key")
    @classmethod
    def _host_key(cls, v: str) -> str:
        if v.startswith("known_hosts:") or re.fullmatch(
            r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]{16,}", v.strip()
        ):
            return v.strip()
        raise ValueError("expected an OpenSSH public key ('ssh-ed25519 AAAA...') or known_hosts:PATH")


class VantagePoint(_Strict):
    """Where active probes run: a lab namespace, or a site host reached over SSH running `egressctl probe`."""

    name: SafeName
    exit: SafeName
    netns: SafeName | None = None
    ssh_host: HostName | None = None
    ssh_user: UserName | None = None
    credential: str | None = None
    addresses: list[IpAddress] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> VantagePoint:
        if (self.netns is None) == (self.ssh_host is None):
            raise ValueError("a vantage point needs exactly one of netns or ssh_host")
        return self


class Canary(_Strict):
    """An outside address used to prove a cut: it answers when reachable.

    The loader refuses a canary inside the site or inside an allowed prefix (it could not prove the cut
    there) unless ``in_allowed_prefix`` says it is deliberately a known answering host of an allowed flow.
    """

    name: SafeName
    address: IpAddress
    in_allowed_prefix: bool = Field(
        default=False, description="deliberately inside an allowed prefix (a known answering host of it)"
    )
    tcp: list[int] = Field(default_factory=lambda: [25, 80, 443])
    udp: list[int] = Field(default_factory=lambda: [53, 443])
    icmp: bool = True


class CapturePoint(_Strict):
    """A tap or mirror of one upstream link, for the live leak watch."""

    exit: SafeName
    interface: IfName
    netns: SafeName | None = None


class Site(_Strict):
    """A site: what is inside, what must never be cut, and how it is restored."""

    name: SafeName
    description: str = ""
    inside: list[Network] = Field(min_length=1)
    management: list[ManagementPath] = Field(min_length=1)
    always_allowed: list[Flow] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=list)
    devices: list[Device] = Field(min_length=1)
    vantage_points: list[VantagePoint] = Field(default_factory=list)
    canaries: list[Canary] = Field(default_factory=list)
    captures: list[CapturePoint] = Field(default_factory=list)

    _inside = field_validator("inside", mode="before")(
        lambda v: [parse_network(x) for x in v] if isinstance(v, list) else v
    )

    @model_validator(mode="after")
    def _unique(self) -> Site:
        for what, names in (
            ("stage", [s.name for s in self.stages]),
            ("device", [d.name for d in self.devices]),
            ("vantage point", [v.name for v in self.vantage_points]),
            ("canary", [c.name for c in self.canaries]),
            ("flow", [f.name for f in self.always_allowed] + [f.name for s in self.stages for f in s.allow]),
        ):
            seen: set[str] = set()
            for n in names:
                if n.lower() in seen:
                    raise ValueError(f"duplicate {what} name {n!r}")
                seen.add(n.lower())
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


class Inventory(_Strict):
    """A whole inventory file: one or more sites."""

    version: Literal[1] = 1
    sites: list[Site] = Field(min_length=1)
    lab: dict[str, Any] | None = Field(
        default=None, description="emulated-lab topology (validated by the lab plugin, ignored elsewhere)"
    )

    @model_validator(mode="after")
    def _unique_sites(self) -> Inventory:
        names = [s.name for s in self.sites]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate site name(s): {', '.join(sorted(dup))}")
        return self

    def site(self, name: str) -> Site:
        """Return the site called ``name`` or raise KeyError listing the known ones."""
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(f"no site {name!r}; known: {', '.join(s.name for s in self.sites)}")
