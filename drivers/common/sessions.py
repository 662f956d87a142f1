"""Ending the established sessions a cut denies: the one decision every driver shares.

A cut that only stops *new* connections leaves an intruder's command-and-control session open. Each
platform lists its sessions with its own show command and clears them with its own selective clear (vendor
data in each platform's ``constants.py``, parsing and commands in its ``sessions.py``); which sessions to
end is decided here, once, so every platform ends exactly the same ones:

* live sessions only (a TCP session in TIME_WAIT carries nothing any more),
* that cross the device from an inside interface or zone to an outside one (what egressctl's rules govern;
  a session to the device itself or between two inside networks is none of the cut's business),
* whose source is one of the site's inside prefixes,
* and that the new policy denies (:meth:`egressctl.policy.Policy.permits`, first match), so management
  sessions and the always-allowed flows (the national CERT's VPN) are never touched.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from egressctl.driver import SessionHandling, SessionReport
from egressctl.inventory.models import Address, Network
from egressctl.policy import Policy

#: The journal keeps the device's words short.
DETAIL_MAX = 400


@dataclass(frozen=True)
class Session:
    """One session as a device lists it, in its original (client -> server) direction."""

    ref: str
    """What the vendor's selective clear names it by (a session id), or ``""`` when it clears by tuple."""
    protocol: str
    src: Address
    dst: Address
    sport: int | None = None
    dport: int | None = None
    live: bool = True
    """False for a closing or closed session (TIME_WAIT, CLOSE): nothing is left to end."""
    egress: bool = True
    """True when it crosses this device from an inside interface or zone to an outside one."""

    @property
    def family(self) -> int:
        """4 or 6."""
        return self.src.version

    def tuple_key(self) -> tuple[str, str, str, int | None, int | None]:
        """The 5-tuple, so the same session listed twice (two overlapping filters) counts once."""
        return (self.protocol, str(self.src), str(self.dst), self.sport, self.dport)

    def describe(self) -> str:
        """``tcp 10.10.1.11:40000 -> 192.0.2.80:8080`` (for the report)."""
        sp = f":{self.sport}" if self.sport is not None else ""
        dp = f":{self.dport}" if self.dport is not None else ""
        return f"{self.protocol} {self.src}{sp} -> {self.dst}{dp}"


def make(ref: str, protocol: str, src: str, dst: str, sport: str | None, dport: str | None, *,
         live: bool = True, egress: bool = True) -> Session:
    """A :class:`Session` from a table's words; ports are kept for TCP and UDP only (ICMP prints ids)."""
    ported = protocol in ("tcp", "udp")
    return Session(ref, protocol, address(src), address(dst), port(sport) if ported else None,
                   port(dport) if ported else None, live, egress)


def address(text: str) -> Address:
    """An address as a session table prints it (IPv4-mapped IPv6 and zone suffixes tolerated)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def port(text: str | None) -> int | None:
    """A port number, or None when the table has none for this protocol."""
    return int(text) if text and text.isdigit() else None


def within(addr: Address, nets: Sequence[Network]) -> bool:
    """True when ``addr`` lies in one of ``nets`` (of its own family)."""
    return any(n.version == addr.version and addr in n for n in nets)


def to_end(policy: Policy, inside: Sequence[Network], sessions: Iterable[Session]) -> list[Session]:
    """The sessions a cut to ``policy`` must end, each once (see the module docstring for the rule)."""
    seen: set[tuple[str, str, str, int | None, int | None]] = set()
    out: list[Session] = []
    for s in sessions:
        key = s.tuple_key()
        if key in seen or not (s.live and s.egress and within(s.src, inside)):
            continue
        seen.add(key)
        if not policy.permits(s.src, s.dst, s.protocol, s.sport, s.dport):
            out.append(s)
    return out


def by_family(nets: Sequence[Network]) -> dict[int, list[Network]]:
    """Inside prefixes per IP family (vendors list IPv4 and IPv6 sessions with separate commands)."""
    out: dict[int, list[Network]] = {}
    for n in nets:
        out.setdefault(n.version, []).append(n)
    return out


class Stopwatch:
    """Wall time of one clear, for the report (the journal shows how long the device took)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def seconds(self) -> float:
        """Seconds since creation."""
        return time.monotonic() - self.start


def report(handling: SessionHandling, ended: Sequence[Session], cleared: int, watch: Stopwatch,
           note: str = "") -> SessionReport:
    """A :class:`SessionReport` whose detail names the sessions (shortened) and the time taken."""
    names = ", ".join(s.describe() for s in ended[:4])
    names += f" (+{len(ended) - 4} more)" if len(ended) > 4 else ""
    parts = [f"{cleared} of {len(ended)} denied sessions cleared in {watch.seconds():.2f} s"]
    parts += [names] if names else []
    parts += [note] if note else []
    detail = "; ".join(parts)
    return SessionReport(handling, len(ended), cleared, detail[:DETAIL_MAX])


def stateless(why: str) -> SessionReport:
    """The report of a platform that keeps no session state: every packet is filtered, nothing to end."""
    return SessionReport(SessionHandling.STATELESS, 0, 0, why[:DETAIL_MAX])
