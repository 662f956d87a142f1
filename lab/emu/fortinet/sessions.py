"""FortiOS ``diagnose sys session`` / ``session6``: the session filter, ``list`` and ``clear``.

From the Fortinet KB "Technical Tip: Using filters to clear sessions on a FortiGate": the filter belongs
to the CLI session and starts empty; ``filter src FROM [TO]`` (also ``dst``, ``sport``, ``dport``),
``proto N``, ``sintf`` / ``dintf NAME`` narrow it, ``filter clear`` empties it and a bare ``filter`` shows
it; ``list`` prints the matching sessions, ``clear`` ends them, and with an empty filter that is every
session of the unit. Entries follow the documented ``session info:`` layout; lines whose exact wording is
only documented by example are marked [M] in :mod:`.constants`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from egressctl_lab.emu.fortinet import constants as C
from egressctl_lab.emu.fortinet.recheck import lookup
from egressctl_lab.emu.fortinet.values import parse_error, value_error
from egressctl_lab.emu.sessions import Crossing, crossings, delete_all

if TYPE_CHECKING:
    from egressctl_lab.emu.fortinet.cli import FortiSession

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
FAMILY_OF = {"session": 4, "session6": 6}
#: ``proto_state`` of a TCP session per conntrack state (FortiOS: 1 established, 2 syn-sent, 3 syn/syn-ack,
#: 4 fin-wait, 5 time-wait, 6 close, 7 close-wait, 8 last-ack, 9 listen); UDP: 0 no reply yet, 1 replied.
TCP_STATES = {"ESTABLISHED": "01", "SYN_SENT": "02", "SYN_RECV": "03", "FIN_WAIT": "04", "TIME_WAIT": "05",
              "CLOSE": "06", "CLOSE_WAIT": "07", "LAST_ACK": "08", "LISTEN": "09"}
NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132}
TIMEOUTS = {"tcp": 3600, "udp": 180}


@dataclass
class SessionFilter:
    """One CLI session's filter for one family (``None`` = any)."""

    src: tuple[Address, Address] | None = None
    dst: tuple[Address, Address] | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    proto: int | None = None
    sintf: str | None = None
    dintf: str | None = None

    def accepts(self, c: Crossing, vendor: dict[str, str]) -> bool:
        """Whether session ``c`` passes every set criterion (interfaces by vendor name)."""
        f = c.flow
        checks = [
            _within(self.src, f.src),
            _within(self.dst, f.dst),
            self.sport is None or (f.sport is not None and self.sport[0] <= f.sport <= self.sport[1]),
            self.dport is None or (f.dport is not None and self.dport[0] <= f.dport <= self.dport[1]),
            self.proto is None or NUMBERS.get(f.proto, -1) == self.proto,
            self.sintf is None or vendor.get(c.iif or "") == self.sintf,
            self.dintf is None or vendor.get(c.oif or "") == self.dintf,
        ]
        return all(checks)

    def render(self) -> list[str]:
        """The bare ``filter`` command's display."""
        def span(v: tuple[object, object] | None) -> str:
            return "any" if v is None else f"{v[0]}-{v[1]}"

        shown = {"vd": "any", "sintf": self.sintf or "any", "dintf": self.dintf or "any",
                 "proto": "any" if self.proto is None else str(self.proto), "proto-state": "any",
                 "source ip": span(self.src), "NAT'd source ip": "any", "dest ip": span(self.dst),
                 "source port": span(self.sport), "NAT'd source port": "any", "dest port": span(self.dport),
                 "policy id": "any", "expire": "any", "duration": "any", "state1": "any", "state2": "any"}
        return ["session filter:", *(f"        {k}: {v}" for k, v in shown.items())]


def _within(span: tuple[Address, Address] | None, text: str) -> bool:
    """Inside an inclusive address range (the filter is per family, so integers compare)."""
    return span is None or int(span[0]) <= int(ipaddress.ip_address(text)) <= int(span[1])


@dataclass
class Filters:
    """The filters of one CLI session (IPv4 and IPv6 are separate, like their commands)."""

    by_family: dict[int, SessionFilter] = field(
        default_factory=lambda: {4: SessionFilter(), 6: SessionFilter()})


def diagnose(cli: FortiSession, args: list[str]) -> list[str]:
    """``diagnose sys session|session6 filter|list|clear ...``."""
    if len(args) < 3 or args[0] != "sys" or args[1] not in FAMILY_OF:
        raise parse_error(args[-1] if args else "diagnose")
    family, verb, rest = FAMILY_OF[args[1]], args[2], args[3:]
    current = cli.session_filters.by_family[family]
    if verb == "filter":
        return _set_filter(cli, family, current, rest)
    if rest or verb not in ("list", "clear"):
        raise parse_error(rest[0] if rest else verb)
    chosen = [c for c in crossings(cli.device.dataplane.sessions)
              if c.flow.family == family and current.accepts(c, _vendor(cli))]
    if verb == "clear":
        delete_all(cli.device.dataplane.sessions, [c.flow for c in chosen])
        return []
    lines: list[str] = []
    for c in chosen:
        lines += [*_entry(cli, c), ""]
    return [*lines, C.TOTAL_SESSIONS.format(n=len(chosen))]


def _vendor(cli: FortiSession) -> dict[str, str]:
    return {kernel: vendor for vendor, kernel in cli.device.spec.interfaces.items()}


def _set_filter(cli: FortiSession, family: int, current: SessionFilter, rest: list[str]) -> list[str]:
    if not rest:
        return current.render()
    what, values = rest[0], rest[1:]
    if what == "clear" and not values:
        cli.session_filters.by_family[family] = SessionFilter()
        return []
    if what in ("src", "dst") and len(values) in (1, 2):
        setattr(current, what, _address_span(values, family))
    elif what in ("sport", "dport") and len(values) in (1, 2) and all(v.isdigit() for v in values):
        lo, hi = int(values[0]), int(values[-1])
        if not 0 <= lo <= hi <= 65535:
            raise value_error(values[-1])
        setattr(current, what, (lo, hi))
    elif what == "proto" and len(values) == 1 and values[0].isdigit() and int(values[0]) <= 255:
        current.proto = int(values[0])
    elif what in ("sintf", "dintf") and len(values) == 1:
        setattr(current, what, values[0])
    elif what in {f.name for f in fields(SessionFilter)} or what in ("vd", "policy", "negate"):
        raise value_error(values[-1] if values else what)
    else:
        raise parse_error(what)
    return []


def _address_span(values: list[str], family: int) -> tuple[Address, Address]:
    try:
        lo, hi = ipaddress.ip_address(values[0]), ipaddress.ip_address(values[-1])
    except ValueError as exc:
        raise value_error(values[-1]) from exc
    if lo.version != family or hi.version != family or int(lo) > int(hi):
        raise value_error(values[-1])
    return lo, hi


def _entry(cli: FortiSession, c: Crossing) -> list[str]:
    """One ``session info:`` block."""
    device, f = cli.device, c.flow
    local = not c.forwarded
    policy = C.LOCAL_POLICY_ID
    if not local:
        assert c.iif is not None and c.oif is not None
        found = lookup(device.config, device.spec.interfaces, f, c.iif, c.oif)[0]
        policy = device.bound.get(f) or found or "0"
    serial = device.session_ids.of(f, device.clock.now())
    state = TCP_STATES.get(f.state, "00") if f.proto == "tcp" else ("01" if f.replied else "00")
    timeout = TIMEOUTS.get(f.proto, 60)
    order = list(device.spec.interfaces.values())
    i, o = (order.index(x) + 3 if x in order else 0 for x in (c.iif, c.oif))
    zero = "::" if f.family == 6 else "0.0.0.0"  # noqa: S104 - FortiOS prints the unused NAT address
    org = f"{f.src}:{f.sport or 0}->{f.dst}:{f.dport or 0}"
    reply = f"{f.dst}:{f.dport or 0}->{f.src}:{f.sport or 0}"
    return C.SESSION_ENTRY.format(
        head="session6 info" if f.family == 6 else "session info", proto=NUMBERS.get(f.proto, 0), state=state,
        duration=device.session_ids.age(serial, device.clock.now()), expire=min(f.timeout, timeout),
        timeout=timeout, flags="local may_dirty" if local else "may_dirty",
        path="org pre->in, reply out->post" if local else "org pre->post, reply pre->post",
        i=i, o=o, org=org, reply=reply, zero=zero, policy=policy, serial=serial,
    ).splitlines()
