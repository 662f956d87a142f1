"""Value types of the inventory: safe names, prefixes, addresses and port ranges.

Every string that can end up inside a vendor command (names, interfaces, zones, options) is constrained
to a safe pattern here, at the boundary, so no driver has to defend against injection on its own. Parsers
raise ``ValueError`` with the operator's own value in the message; the loader shows it as written.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# Names that become object, rule, ACL, zone or policy names on devices.
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
# Interface, zone and VDOM names (e.g. GigabitEthernet0/1, ge-0/0/1.0, ethernet1/2, port1, trust).
IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9/._:-]{0,63}$")
# Usernames as accepted by every supported vendor.
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,31}$")
# Host names or addresses for SSH.
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$")
RESERVED_TARGETS = frozenset({"normal", "isolated", "full"})


def _check(pattern: re.Pattern[str], what: str, rule: str) -> AfterValidator:
    """A validator refusing values outside ``pattern``, explained to the operator as ``rule``."""

    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a safe {what} (use {rule})")
        return value

    return AfterValidator(validate)


SafeName = Annotated[str, _check(NAME_RE, "name", "a letter, then up to 31 letters, digits, - or _")]
IfName = Annotated[str, _check(IFNAME_RE, "interface or zone name",
                               "a letter, then up to 63 letters, digits or any of / . _ : -")]
UserName = Annotated[str, _check(USER_RE, "user name",
                                 "a letter or _, then up to 31 letters, digits, . _ or -")]
HostName = Annotated[str, _check(HOST_RE, "host name or address",
                                 "a letter or digit, then up to 252 letters, digits, . : or -")]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Protocol = Literal["any", "tcp", "udp", "icmp"]


def parse_address(value: object) -> Address:
    """Parse one IP address from text only.

    A bare YAML number would otherwise be taken for an address (``167772161`` is 10.0.0.1), and pydantic's
    own union errors name its internal validators instead of the value.
    """
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an IP address such as 10.0.0.1 or 2001:db8::1")
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a valid IP address (e.g. 10.0.0.1 or 2001:db8::1)") from None


IpAddress = Annotated[Address, BeforeValidator(parse_address)]
#: A TCP or UDP port number (a canary's listening ports).
PortNumber = Annotated[int, Field(ge=1, le=65535)]


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
