"""The driver contract every vendor driver implements, and the capabilities it declares.

Modelled on NAPALM's config lifecycle (load candidate, diff, commit with ``revert_in``, confirm, rollback,
``has_pending_commit``) plus two additions: a pure :meth:`Driver.render` step (no I/O, golden-testable)
and declared :class:`Capability` values that the planner checks *before* any device is touched, so a
policy a device cannot express is refused rather than silently weakened.

Lifecycle the executor drives for one device::

    open() -> read_state() -> snapshot() -> load_candidate(policy, state) -> diff()
           -> commit(revert_in=N)          # dead-man switch armed
           -> read_state()                  # read back and compare, on this session
           -> (fresh session) check          # management path still works
           -> confirm()                     # or rollback() on any doubt
           -> clear_sessions(policy, inside)  # a cut also ends flows already open (isolate only)
           -> close()

A cut that only stops *new* connections is not a cut: an intruder's command-and-control session is already
open. Drivers say how their platform treats established sessions on a policy change
(:class:`SessionHandling`) and, with :attr:`Capability.SESSION_KILL`, end the ones the new policy denies.

Two controllers (two laptops, two journals) must not change one device at once, so each change carries a
:class:`Stamp` (operation id and owner) that drivers write into their marker and read back into
:class:`DeviceState`. The executor publishes it, with the site, in :data:`OPERATION` for the duration of a
device's work: ``render`` stays a function of (policy, state) for every caller that sets nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device, Network, Site
from egressctl.policy import Policy, Rule


class Capability(StrEnum):
    """What a driver can express. The planner refuses rules needing a capability a driver lacks."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"
    PORT_RANGES = "port-ranges"
    SOURCE_PORTS = "source-ports"
    SOURCE_PREFIXES = "source-prefixes"
    SESSION_KILL = "session-kill"
    """Can end established sessions the new policy denies (vendor clear commands, conntrack deletion)."""
    NATIVE_REVERT = "native-revert"
    """The device reverts an unconfirmed change by itself, even when the controller is gone."""


class SessionHandling(StrEnum):
    """What a device does with already-established sessions when a policy change denies them."""

    STATELESS = "stateless"
    """Every packet is filtered (an interface ACL): nothing survives a deny, nothing needs clearing."""
    RECHECKED = "rechecked"
    """The device re-evaluates established sessions on a policy change (FortiOS, PAN-OS defaults)."""
    KEPT = "kept"
    """Established sessions survive the change until they are cleared (Junos SRX, conntrack default)."""


@dataclass(frozen=True)
class SessionReport:
    """What ending denied sessions did on one device, journaled as the ``sessions`` step."""

    handling: SessionHandling
    matched: int
    """Established sessions from the site's inside prefixes that the new policy denies."""
    cleared: int
    """Sessions the device reported cleared (its own count where it gives one)."""
    detail: str = ""
    """The device's words, shortened, for the journal and the operator."""


class SafetyNet(StrEnum):
    """How a driver's dead-man switch works; shown by ``plan``."""

    NATIVE_CONFIRM = "native commit-confirm"
    """The device reverts by itself unless confirmed (Junos ``commit confirmed``, IOS revert timer...)."""
    CONTROLLER_TIMER = "controller-armed timer on the device"
    """egressctl arms a revert job on the device itself (e.g. a scheduled ``nft -f`` of the snapshot)."""
    GUARDED_SNAPSHOT = "snapshot + guarded commit"
    """No native revert: the candidate is proved before commit and rolled back from a snapshot on failure."""
    ONBOX_SCRIPT = "on-box revert script"
    """A script scheduled on the device itself undoes the change when it fires (no reboot)."""
    REBOOT_REVERT = "revert by reboot"
    """The device goes back to its saved configuration when the timer fires, by rebooting (FortiOS)."""
    REMOTE_JOB = "revert job on another host"
    """A job on a second host (bastion, vantage point) logs in to the device and restores the snapshot."""


@dataclass(frozen=True)
class NetDescription:
    """Which safety net a device uses for a change and what happens when it fires (shown by ``plan``)."""

    net: SafetyNet
    on_fire: str


@dataclass(frozen=True)
class Stamp:
    """Who is changing a device: an operation id and its owner (``user@host``), written with the marker."""

    op_id: str
    owner: str


#: ``DeviceState.op_id`` of a pending change no egressctl operation made (an administrator's uncommitted
#: PAN-OS candidate): its ``owner`` says what was found. No journal knows this id, so every controller
#: refuses to act on it (exit 4) unless told to take over, and then only discards it.
FOREIGN_CHANGE = "not-egressctl"


@dataclass(frozen=True)
class OperationContext:
    """What the executor tells drivers beyond the Protocol's arguments, for one device's work."""

    site: Site | None = None
    stamp: Stamp | None = None


NO_OPERATION = OperationContext()
OPERATION: ContextVar[OperationContext] = ContextVar("egressctl_operation", default=NO_OPERATION)
"""The operation a driver works for (empty outside an operation, e.g. a plain ``plan``)."""


@contextmanager
def operation_context(ctx: OperationContext) -> Iterator[None]:
    """Publish ``ctx`` in :data:`OPERATION` for the calling thread while the block runs."""
    token = OPERATION.set(ctx)
    try:
        yield
    finally:
        OPERATION.reset(token)


def current_stamp() -> Stamp | None:
    """The stamp of the operation running in this thread (None outside an operation)."""
    return OPERATION.get().stamp


@dataclass(frozen=True)
class DeviceState:
    """What egressctl owns on a device, parsed from the device itself (never remembered).

    ``target`` and ``fingerprint`` come from the marker the driver writes with its rules; ``rules`` are the
    owned rules parsed back into neutral form. No egressctl objects at all means ``target == "normal"``.
    ``op_id`` and ``owner`` are the stamp of the operation that wrote what the device holds (that of the
    change waiting for confirmation, when one is); empty when the marker has none.
    """

    target: str
    fingerprint: str
    rules: tuple[Rule, ...] = ()
    pending_commit: bool = False
    raw: str = field(default="", repr=False)
    op_id: str = ""
    owner: str = ""

    @property
    def is_normal(self) -> bool:
        """True when the device holds no egressctl configuration."""
        return self.target == "normal" and not self.rules


@runtime_checkable
class Driver(Protocol):
    """One device of one platform. Instances are single-use: one session, one operation."""

    platform: ClassVar[str]
    netmiko_device_type: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    safety_net: ClassVar[SafetyNet]

    device: Device

    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """Pure: the vendor lines that take the device from ``current`` to ``policy``. No I/O."""
        ...

    def open(self, secret: Secret) -> None:
        """Open the SSH session (host key checked against the inventory's pin)."""
        ...

    def close(self) -> None:
        """Close the session. Never raises."""
        ...

    def read_state(self) -> DeviceState:
        """Read egressctl's objects back from the device and parse them into neutral form."""
        ...

    def snapshot(self) -> str:
        """Return the device's running configuration (or ruleset) as text, for the journal."""
        ...

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Stage ``render(policy, current)`` on the device without it taking effect where possible."""
        ...

    def diff(self) -> str:
        """The difference between the device's running config and the candidate, in the vendor's words."""
        ...

    def commit(self, revert_in: int) -> None:
        """Make the candidate take effect; it reverts by itself after ``revert_in`` s unless confirmed."""
        ...

    def confirm(self) -> None:
        """Confirm the pending commit so it stays."""
        ...

    def rollback(self) -> None:
        """Undo the pending or last change now, returning to the snapshot taken before it."""
        ...

    def discard(self) -> None:
        """Throw away a loaded candidate that was never committed."""
        ...

    def has_pending_commit(self) -> bool:
        """True when a commit is waiting for confirmation (its dead-man switch is armed)."""
        ...

    def session_handling(self) -> SessionHandling:
        """Read how the device treats established sessions on a policy change (a read, no change).

        Where a vendor setting decides it (FortiOS ``firewall-session-dirty``, PAN-OS rematch, SRX
        ``policy-rematch``) the driver reads that setting; the plan shows the result.
        """
        ...

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """End the established sessions from ``inside`` prefixes that ``policy`` denies, after a confirm.

        Sessions the policy still allows (management, the national CERT's VPN, always-allowed flows) are
        never touched. Stateless platforms return a report with nothing cleared and say so.
        """
        ...


def missing_capabilities(capabilities: frozenset[Capability], policy: Policy) -> list[str]:
    """List every rule feature of ``policy`` that ``capabilities`` cannot express."""
    gaps: list[str] = []
    for r in policy.rules:
        need: set[Capability] = set()
        fams = r.families()
        if (
            6 in fams
            and (r.sources or r.destinations)
            and any(n.version == 6 for n in r.sources + r.destinations)
        ):
            need.add(Capability.IPV6)
        if 4 in fams:
            need.add(Capability.IPV4)
        if r.protocol in ("tcp", "udp", "icmp"):
            need.add(Capability(r.protocol))
        if any(p.first != p.last for p in r.src_ports + r.dst_ports):
            need.add(Capability.PORT_RANGES)
        if r.src_ports:
            need.add(Capability.SOURCE_PORTS)
        if r.sources:
            need.add(Capability.SOURCE_PREFIXES)
        for cap in sorted(need - capabilities):
            gaps.append(f"rule {r.name}: needs {cap.value}")
    return gaps
