"""An emulated device's session table: the kernel's connection-tracking entries in its namespace.

The data plane is real nftables with ``ct state established,related accept`` in front of the compiled
policy, so the kernel's conntrack table *is* the firewall's session table: what ``show session``-style
commands list, what ``clear``-style commands delete, and what a vendor's re-check on a policy change prunes
(a deleted entry's next packet is ``ct state new`` again and meets the new policy). This module reads and
deletes entries with conntrack-tools and finds the interfaces a flow uses from the namespace's routes
(conntrack records none); vendor wording and semantics stay in each personality.

:class:`MemoryTable` is the in-memory stand-in for unit tests and for data planes that must not touch the
kernel (a ``NullDataPlane``, or an ``nft`` wrapper pointing into another namespace).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

#: conntrack TCP states of a connection that is over; vendors age these out within about a second.
TCP_OVER = frozenset({"TIME_WAIT", "CLOSE"})
T = TypeVar("T")
FlowKey = tuple[int, tuple[int, str, str, str, int | None, int | None]]
FAMILIES = {4: "ipv4", 6: "ipv6"}


@dataclass(frozen=True)
class Flow:
    """One conntrack entry, original direction first (ICMP: ``sport`` is the id, ``dport`` the type)."""

    ct_id: int
    family: int
    proto: str
    src: str
    dst: str
    sport: int | None = None
    dport: int | None = None
    state: str = ""
    timeout: int = 0
    replied: bool = True

    @property
    def over(self) -> bool:
        """A TCP connection that has closed (nothing left to list or end)."""
        return self.proto == "tcp" and self.state in TCP_OVER

    def key(self) -> tuple[int, str, str, str, int | None, int | None]:
        """The original tuple."""
        return (self.family, self.proto, self.src, self.dst, self.sport, self.dport)


class SessionTable(Protocol):
    """What a personality needs from its namespace's connection tracking."""

    def flows(self) -> list[Flow]:
        """Every entry now."""
        ...

    def delete(self, flow: Flow) -> bool:
        """Delete the entry with ``flow``'s original tuple; True when one was deleted."""
        ...

    def interfaces(self, addresses: Iterable[str]) -> dict[str, str | None]:
        """Kernel interface toward each address; None for the device's own addresses."""
        ...


def parse_conntrack(text: str) -> list[Flow]:
    """Entries of ``conntrack -L -o extended,id`` output (the entry's own id is the last field)."""
    out: list[Flow] = []
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 6 or tokens[0] not in ("ipv4", "ipv6"):
            continue
        ct_id = tokens.pop()[3:] if tokens[-1].startswith("id=") else "0"
        fields: dict[str, str] = {}
        for token in tokens[5:]:
            key, eq, value = token.partition("=")
            if eq and key not in fields:
                fields[key] = value
        sport, dport = _ports(fields)
        out.append(Flow(
            ct_id=int(ct_id) if ct_id.isdigit() else 0, family=4 if tokens[0] == "ipv4" else 6,
            proto=tokens[2], src=fields.get("src", ""), dst=fields.get("dst", ""), sport=sport, dport=dport,
            state=tokens[5] if tokens[2] == "tcp" else "", replied="[UNREPLIED]" not in tokens,
            timeout=int(tokens[4]) if tokens[4].isdigit() else 0,
        ))
    return out


def _ports(fields: dict[str, str]) -> tuple[int | None, int | None]:
    """(sport, dport), or for ICMP (id, type), or (None, None)."""
    if "sport" in fields and "dport" in fields:
        return int(fields["sport"]), int(fields["dport"])
    if "type" in fields:
        return int(fields.get("id", "0")), int(fields["type"])
    return None, None


def parse_routes(text: str) -> dict[str, str | None]:
    """``{address: interface or None (local)}`` from ``ip -j -batch`` output (one JSON array a line)."""
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        try:
            answers = json.loads(line) if line.startswith("[") else []
        except ValueError:
            continue
        for a in answers:
            if isinstance(a, dict) and "dst" in a:
                out[str(a["dst"])] = None if a.get("type") == "local" else str(a.get("dev", ""))
    return out


class ConntrackTable:
    """The real table, read and changed with ``conntrack`` and ``ip`` (behind ``prefix``, e.g. netns exec)."""

    def __init__(self, prefix: Sequence[str] = (), timeout: float = 5.0) -> None:
        self._prefix = list(prefix)
        self._timeout = timeout

    def _run(self, argv: list[str], stdin: str = "") -> str:
        try:
            done = subprocess.run([*self._prefix, *argv], input=stdin, capture_output=True, text=True,
                                  timeout=self._timeout, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout

    def flows(self) -> list[Flow]:
        """Every entry of both families."""
        out: list[Flow] = []
        for name in FAMILIES.values():
            out += parse_conntrack(self._run(["conntrack", "-L", "-o", "extended,id", "-f", name]))
        return out

    @staticmethod
    def _delete_argv(flow: Flow) -> list[str]:
        argv = ["-D", "-f", FAMILIES[flow.family], "-p", flow.proto, "-s", flow.src, "-d", flow.dst]
        if flow.proto in ("tcp", "udp", "sctp", "dccp", "udplite") and flow.sport is not None:
            argv += ["--sport", str(flow.sport), "--dport", str(flow.dport)]
        elif flow.proto in ("icmp", "icmpv6") and flow.sport is not None:
            argv += [f"--{flow.proto}-id", str(flow.sport), f"--{flow.proto}-type", str(flow.dport)]
        return argv

    def delete(self, flow: Flow) -> bool:
        """``conntrack -D`` with the whole original tuple."""
        return bool(self._run(["conntrack", *self._delete_argv(flow)]).strip())

    def delete_many(self, flows: Sequence[Flow]) -> int:
        """Delete every flow through one ``conntrack -R -`` (conntrack-tools >= 1.4.6).

        One process for the lot, as a device ends a filter's sessions at once (a process per entry made a
        100-session clear take seconds); entry by entry when the batch deletes nothing.
        """
        script = "".join(" ".join(self._delete_argv(f)) + "\n" for f in flows)
        out = self._run(["conntrack", "-R", "-"], script)
        gone = sum(1 for line in out.splitlines() if "src=" in line)
        return gone if gone else sum(self.delete(f) for f in flows)

    def interfaces(self, addresses: Iterable[str]) -> dict[str, str | None]:
        """One ``ip -j -force -batch -`` of ``route get`` lookups."""
        wanted = sorted(set(addresses))
        if not wanted:
            return {}
        script = "".join(f"route get {a}\n" for a in wanted)
        return parse_routes(self._run(["ip", "-j", "-force", "-batch", "-"], script))


@dataclass
class MemoryTable:
    """An in-memory session table (unit tests; data planes that must not touch the kernel)."""

    entries: list[Flow] = field(default_factory=list)
    routes: dict[str, str | None] = field(default_factory=dict)

    def flows(self) -> list[Flow]:
        """The entries held."""
        return list(self.entries)

    def delete(self, flow: Flow) -> bool:
        """Remove the entries with ``flow``'s original tuple."""
        before = len(self.entries)
        self.entries = [f for f in self.entries if f.key() != flow.key()]
        return len(self.entries) < before

    def interfaces(self, addresses: Iterable[str]) -> dict[str, str | None]:
        """From :attr:`routes` (an address it does not know is treated as the device's own)."""
        return {a: self.routes.get(a) for a in addresses}


@dataclass(frozen=True)
class Crossing:
    """A live flow with the kernel interfaces it enters and leaves by (None: the device itself)."""

    flow: Flow
    iif: str | None
    oif: str | None

    @property
    def forwarded(self) -> bool:
        """True when the flow crosses the device (policies govern only these)."""
        return self.iif is not None and self.oif is not None


def crossings(table: SessionTable) -> list[Crossing]:
    """Every live flow with its interfaces, in one route lookup."""
    flows = [f for f in table.flows() if not f.over]
    where = table.interfaces(a for f in flows for a in (f.src, f.dst))
    return [Crossing(f, where.get(f.src), where.get(f.dst)) for f in flows]


def delete_all(table: SessionTable, flows: Sequence[Flow]) -> int:
    """Delete ``flows`` together (one conntrack process on the real table); returns how many went."""
    if isinstance(table, ConntrackTable) and len(flows) > 1:
        return table.delete_many(flows)
    return sum(table.delete(f) for f in flows)


def prune(table: SessionTable, own: Sequence[str], keep: Callable[[Crossing], bool],
          found: list[Crossing] | None = None) -> int:
    """Delete every forwarded flow between the device's own interfaces (``own``) that ``keep`` refuses.

    A flow through an interface the device does not own is never touched, so a personality pointed at the
    wrong namespace cannot delete someone else's entries. ``found`` saves a second listing when the caller
    already has one. Returns how many entries went.
    """
    gone = 0
    for c in crossings(table) if found is None else found:
        if c.forwarded and c.iif in own and c.oif in own and not keep(c):
            gone += table.delete(c.flow)
    return gone


def flow_key(flow: Flow) -> FlowKey:
    """Identity of one entry (the kernel may reuse an id for another tuple later)."""
    return (flow.ct_id, flow.key())


class Bindings(Generic[T]):
    """What accepted each session (a policy), remembered from the first policy change that saw it.

    Vendors tie a session to the policy that allowed its first packet; conntrack records no such thing, so
    at each change the sessions not yet bound are bound to a lookup in the configuration they were opened
    under (the one in force until this change), and forgotten once their entry is gone.
    """

    def __init__(self) -> None:
        self._by: dict[FlowKey, T] = {}

    def refresh(self, found: list[Crossing], bind: Callable[[Crossing], T]) -> None:
        """Bind the forwarded sessions in ``found`` not bound yet; forget those no longer there."""
        present: set[FlowKey] = set()
        for x in found:
            if x.forwarded:
                key = flow_key(x.flow)
                present.add(key)
                if key not in self._by:
                    self._by[key] = bind(x)
        for key in [k for k in self._by if k not in present]:
            del self._by[key]

    def get(self, flow: Flow) -> T | None:
        """What ``flow`` is bound to, if known."""
        return self._by.get(flow_key(flow))

    def set(self, flow: Flow, value: T) -> None:
        """Re-bind ``flow`` (a re-evaluation that kept it found another policy)."""
        self._by[flow_key(flow)] = value


class SessionIds:
    """Small, stable session ids (and first-seen times) for vendors that number their sessions."""

    def __init__(self, first: int) -> None:
        self._next = first
        self._ids: dict[FlowKey, int] = {}
        self._seen: dict[int, float] = {}

    def of(self, flow: Flow, now: float) -> int:
        """The id of ``flow`` (assigned on first sight)."""
        key = flow_key(flow)
        if key not in self._ids:
            self._ids[key] = self._next
            self._seen[self._next] = now
            self._next += 1
        return self._ids[key]

    def age(self, session_id: int, now: float) -> int:
        """Whole seconds since the session was first seen."""
        return max(0, int(now - self._seen.get(session_id, now)))
