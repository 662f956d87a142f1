"""Typed site inventory (pydantic v2).

Every string that can end up inside a vendor command (names, interfaces, zones, options) is constrained
to a safe pattern here, at the boundary, so no driver has to defend against injection on its own.
Secrets are never values in the inventory: a device names a credential *reference* that is resolved at
connect time (see ``credentials.py``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# Names that become object, rule, ACL, zone or policy names on devices.
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
# Interface, zone and VDOM names (e.g. GigabitEthernet0/1, ge-0/0/1.0, ethernet1/2, port1, trust).
IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9/._:-]{0,63}$")
# Usernames as accepted by every supported vendor.
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,31}$")
# Host names or addresses for SSH.
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$")
RESERVED_TARGETS = frozenset({"normal", "isolated", "full"})
PLATFORMS_HINT = "a registered platform key such as linux_nftables, cisco_ios, juniper_junos"


def _check(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a safe {what} (expected {pattern.pattern})")
        return value

    return AfterValidator(validate)


SafeName = Annotated[str, _check(NAME_RE, "name")]
IfName = Annotated[str, _check(IFNAME_RE, "interface or zone name")]
UserName = Annotated[str, _check(USER_RE, "user name")]
HostName = Annotated[str, _check(HOST_RE, "host name or address")]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Protocol = Literal["any", "tcp", "udp", "icmp"]


def parse_network(value: object) -> Network:
    """Parse a prefix strictly: host bits set are an error, since they usually hide a typo."""
    if not isinstance(value, str):
        raise ValueError("expected a prefix such as 10.0.0.0/8 or 2001:db8::/32")
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid prefix ({exc})") from None


class PortRange(BaseModel):
    """An inclusive port range; a single port has ``first == last``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    first: int = Field(ge=1, le=65535)
    last: int = Field(ge=1, le=65535)

    @model_validator(mode="after")
    def _ordered(self) -> PortRange:
        if self.first > self.last:
            raise ValueError(f"port range {self.first}-{self.last} is reversed")
        return self

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def _port(n: int) -> int:
    """One port number, refused with a single clear message when out of range."""
    if not 1 <= n <= 65535:
        raise ValueError(f"port {n} is out of range (1-65535)")
    return n


def parse_ports(value: object) -> list[PortRange]:
    """Accept ``443``, ``"8000-8080"`` or a list of those."""
    items = value if isinstance(value, list) else [value]
    out: list[PortRange] = []
    for item in items:
        if isinstance(item, PortRange):
            out.append(item)
        elif isinstance(item, bool):
            raise ValueError("a port must be a number or a range like 8000-8080")
        elif isinstance(item, int):
            out.append(PortRange(first=_port(item), last=_port(item)))
        elif isinstance(item, str) and re.fullmatch(r"\d{1,5}(-\d{1,5})?", item.strip()):
            a, _, b = item.strip().partition("-")
            out.append(PortRange(first=_port(int(a)), last=_port(int(b or a))))
        else:
            raise ValueError(f"{item!r} is not a port or a range like 8000-8080")
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Flow(_Strict):
    """Destinations with a protocol and (for tcp/udp) destination ports; empty ports mean any port."""

    name: SafeName
    description: str = ""
    destinations: list[Network] = Field(min_length=1)
    protocol: Protocol = "any"
    ports: list[PortRange] = Field(default_factory=list)

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
    """One firewall or router that egressctl drives."""

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
    mgmt_address: Address = Field(description="the address the management path reaches this device on")
    options: dict[SafeName, int | IfName] = Field(default_factory=dict)

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, v: str) -> str:
        from egressctl.registry import platforms

        known = platforms()
        if v not in known:
            raise ValueError(f"unknown platform {v!r}; expected one of: {', '.join(sorted(known))}")
        return v

    @field_validator("credential")
    @classmethod
    def _credential_ref(cls, v: str) -> str:
        from egressctl.inventory.credentials import validate_reference

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
    addresses: list[Address] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> VantagePoint:
        if (self.netns is None) == (self.ssh_host is None):
            raise ValueError("a vantage point needs exactly one of netns or ssh_host")
        return self


class Canary(_Strict):
    """An outside address used to prove a cut: it answers when reachable."""

    name: SafeName
    address: Address
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
