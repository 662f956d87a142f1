"""The contract between the emulators' shared SSH core and each vendor personality.

A personality is a pure command processor, as in fake-switches: text in, text out, over a device state
object shared by every session of that device (so a second SSH session sees the same running config and
the same pending commit, as on a real box). The shared core (``server.py``) owns everything that is not
vendor knowledge: the SSH server, raw-mode echo, Enter handling, the clock with its time-scale knob, and
turning the ruleset a personality compiles into real nftables rules in the device's namespace.

Emulators are written from the vendors' documented CLIs. They never import egressctl's drivers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from egressctl_lab.emu.sessions import SessionTable


@dataclass
class Reply:
    r"""What a session answers to one line.

    ``text`` is written after the echoed Enter and immediately followed by the (new) prompt, in one write.
    Use ``\n`` line ends: the core turns them into ``\r\n``. ``chunks`` are written first, each after its
    delay in *real* seconds (e.g. PAN-OS commit progress). ``close`` ends the session after the write.
    ``echo_next=False`` makes the next line a secret (a password prompt): it is not echoed.
    """

    text: str = ""
    chunks: list[tuple[float, str]] = field(default_factory=list)
    close: bool = False
    echo_next: bool = True


class Clock(Protocol):
    """Time as the device sees it; ``scale`` < 1 makes device timers (commit confirmed) run faster."""

    scale: float

    def now(self) -> float:
        """Device time in seconds."""
        ...

    def call_later(self, device_seconds: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` after ``device_seconds`` of device time; returns a cancel function."""
        ...


class DataPlane(Protocol):
    """Enforces a compiled ruleset in the device's namespace; ``sessions`` is its connection tracking."""

    @property
    def sessions(self) -> SessionTable:
        """The connection-tracking table of the device's namespace (its session table)."""
        ...

    def apply(self, nft_ruleset: str) -> None:
        """Atomically replace the device's emulator table with ``nft_ruleset`` (text for ``nft -f``)."""
        ...


@dataclass(frozen=True)
class DeviceSpec:
    """How the lab describes one emulated device to its personality."""

    name: str
    hostname: str
    username: str
    password: str = field(repr=False)
    # vendor interface name -> kernel interface name in the namespace (e.g. "GigabitEthernet0/0" -> "gi0-0")
    interfaces: dict[str, str] = field(default_factory=dict)
    # vendor zone name -> vendor interface names (zone-based platforms)
    zones: dict[str, list[str]] = field(default_factory=dict)
    # free-form personality options (e.g. {"version": "7.2.5"})
    options: dict[str, str] = field(default_factory=dict)


class Session(Protocol):
    """One interactive CLI session on an emulated device."""

    def banner(self) -> str:
        """Text written when the shell opens, before the first prompt (may be empty)."""
        ...

    def prompt(self) -> str:
        """The prompt for the current mode (the last line, no newline after it)."""
        ...

    def handle(self, line: str) -> Reply:
        """Process one line (without its Enter) and answer."""
        ...


class EmulatedDevice(Protocol):
    """State shared by all sessions of one device: configs, pending commits, timers."""

    spec: DeviceSpec
    #: PAN-OS needs keyboard-interactive authentication; others use password auth.
    keyboard_interactive: bool

    def new_session(self, username: str) -> Session:
        """Open a CLI session for an authenticated user."""
        ...

    def ruleset(self) -> str:
        """The nftables ruleset (``nft -f`` text) enforcing the *effective* configuration now."""
        ...


#: A personality module exposes ``create(spec, clock, dataplane) -> EmulatedDevice``.
Factory = Callable[[DeviceSpec, Clock, DataPlane], EmulatedDevice]
