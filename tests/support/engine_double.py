"""A test double at the Driver Protocol seam (the one allowed fake), plus a small inventory builder.

``FakeDriver`` implements :class:`egressctl.driver.Driver` over ``FakeNet``, an in-memory set of devices
whose state survives sessions (as real devices' does). It models the parts the engine relies on: a
pending commit that must be confirmed, rollback of a pending or the last change, a management lockout
(a fresh session fails when the device holds a deny without a management permit), failures injected before
any method, and crashes (``SimulatedCrash``, a BaseException nothing in egressctl catches) injected before
or after a method acted (with ``halt_on_crash``, every later call crashes too, until the test clears
``crash``: the process is gone, its other threads do nothing more either). It never touches a network:
the real drivers are tested against the lab.

Its rendering depends on the state it renders from (an unknown state gets two more lines, one holding rules
one more), so a test can tell lines rendered against the state read on the device from those rendered
against none; and each device holds a count of established sessions, kept across a cut until
``clear_sessions`` ends them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from egressctl.driver import Capability, DeviceState, SafetyNet, SessionHandling, SessionReport
from egressctl.engine import Engine
from egressctl.errors import ConnectError, DeviceError
from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

PASSWORD = "Zq7-known-PASSWORD-4242"
HOSTKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHoR2vS8mK8Q0DAZU864neT/yRls23XrEDy7IrLAeu2"


class SimulatedCrash(BaseException):
    """Stands for the controller process dying at a given point."""


NORMAL = DeviceState("normal", "", ())


@dataclass
class Box:
    """One emulated device's persistent state."""

    state: DeviceState = NORMAL
    before_pending: DeviceState | None = None
    before_last: DeviceState | None = None
    sessions: int = 0
    """Established sessions from inside that a cut denies (they survive until cleared)."""


@dataclass
class FakeNet:
    """Every fake device, plus what was sent to them and the faults to inject."""

    delay: float = 0.0
    boxes: dict[str, Box] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)
    fail: dict[tuple[str, str], Exception] = field(default_factory=dict)
    fail_nth: dict[tuple[str, str], int] = field(default_factory=dict)  # fail only at the nth call
    crash: tuple[str, str, str, int] | None = None  # (device or "*", method, "before"|"after", nth call)
    crashed: tuple[str, str, str, int] | None = None  # the crash that fired
    halt_on_crash: bool = False  # after a crash every call crashes (a SIGKILLed controller's other threads)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    in_open: int = 0
    max_in_open: int = 0
    opens: Counter[str] = field(default_factory=Counter)
    passwords: list[str] = field(default_factory=list)
    active: int = 0
    loaded: dict[str, list[str]] = field(default_factory=dict)  # lines each device's last load rendered
    cleared: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # (device, target, inside)
    handling: SessionHandling = SessionHandling.KEPT
    driver: type[FakeDriver] | None = None  # the class factory() builds (FakeDriver when None)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def box(self, name: str) -> Box:
        with self.lock:
            return self.boxes.setdefault(name, Box())

    def factory(self, device: Device) -> FakeDriver:
        return (self.driver or FakeDriver)(device, self)

    def mutations(self) -> list[tuple[str, str]]:
        return [s for s in self.sent if s[1] in ("load", "commit", "confirm", "rollback", "discard")]


def _managed(state: DeviceState) -> bool:
    deny = any(r.action == "deny" for r in state.rules)
    return not deny or any(r.kind == "management" for r in state.rules)


class FakeDriver:
    """Test double implementing the Driver Protocol over :class:`FakeNet` (see module docstring)."""

    platform: ClassVar[str] = "linux_nftables"
    netmiko_device_type: ClassVar[str] = "linux"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)
    safety_net: ClassVar[SafetyNet] = SafetyNet.CONTROLLER_TIMER

    def __init__(self, device: Device, net: FakeNet, timeout: float = 30.0) -> None:
        self.device = device
        self.net = net
        self.candidate: Policy | None = None
        self.is_open = False

    def _hook(self, method: str, when: str) -> None:
        name, key = self.device.name, (self.device.name, method)
        if self.net.halt_on_crash and self.net.crash is not None and self.net.crashed == self.net.crash:
            raise SimulatedCrash("the controller is gone")  # a dead process does nothing more
        if when == "before":
            with self.net.lock:
                self.net.calls[key] += 1
        nth = self.net.calls[key]
        if when == "before" and key in self.net.fail and self.net.fail_nth.get(key, nth) == nth:
            raise self.net.fail[key]
        crash = self.net.crash
        if crash and crash[0] in (name, "*") and crash[1:] == (method, when, nth):
            self.net.crashed = crash
            raise SimulatedCrash(f"{name} {method} {when} #{nth}")

    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        if policy.is_normal:
            return ["delete table inet egressctl"]
        rules = [f"rule {r.name} {r.action} {r.protocol}" for r in policy.rules]
        if current is None:
            return ["add table inet egressctl", "flush table inet egressctl", *rules]
        return (["flush table inet egressctl"] if current.rules else []) + rules

    def open(self, secret: Secret) -> None:
        self._hook("open", "before")
        with self.net.lock:
            self.net.active += 1
            self.net.in_open += 1
            self.net.max_in_open = max(self.net.max_in_open, self.net.in_open)
            self.net.opens[self.device.name] += 1
            self.net.passwords.append(secret.password or "")
        time.sleep(self.net.delay)
        with self.net.lock:
            self.net.in_open -= 1
        if not _managed(self.net.box(self.device.name).state):
            with self.net.lock:
                self.net.active -= 1
            raise ConnectError(self.device.name, "connection timed out (management path cut)")
        if secret.password != PASSWORD:
            raise ConnectError(self.device.name, "authentication failed")
        self.is_open = True

    def close(self) -> None:
        if self.is_open:
            with self.net.lock:
                self.net.active -= 1
            self.is_open = False

    def read_state(self) -> DeviceState:
        self._hook("read_state", "before")
        st = self.net.box(self.device.name).state
        self._hook("read_state", "after")
        return st

    def snapshot(self) -> str:
        self._hook("snapshot", "before")
        st = self.net.box(self.device.name).state
        return f"hostname {self.device.name}\nusername admin secret {PASSWORD}\n# target {st.target}\n"

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        self._hook("load_candidate", "before")
        self.candidate = policy
        self.net.loaded[self.device.name] = self.render(policy, current)
        self.net.sent.append((self.device.name, "load"))
        self._hook("load_candidate", "after")

    def diff(self) -> str:
        self._hook("diff", "before")
        assert self.candidate is not None
        return "\n".join("+ " + ln for ln in self.render(self.candidate)) + f"\n# echo {PASSWORD}"

    def commit(self, revert_in: int) -> None:
        self._hook("commit", "before")
        assert self.candidate is not None
        box = self.net.box(self.device.name)
        if box.state.pending_commit:
            raise DeviceError(self.device.name, "a commit is already pending")
        box.before_pending = box.state
        cand = self.candidate
        box.state = DeviceState(cand.target, cand.fingerprint(), cand.rules, True)
        self.net.sent.append((self.device.name, "commit"))
        self._hook("commit", "after")

    def confirm(self) -> None:
        self._hook("confirm", "before")
        box = self.net.box(self.device.name)
        st = box.state
        box.state = DeviceState(st.target, st.fingerprint, st.rules, False)
        box.before_last, box.before_pending = box.before_pending, None
        self.net.sent.append((self.device.name, "confirm"))
        self._hook("confirm", "after")

    def rollback(self) -> None:
        self._hook("rollback", "before")
        box = self.net.box(self.device.name)
        if box.state.pending_commit:
            box.state = box.before_pending or NORMAL
            box.before_pending = None
        elif box.before_last is not None:
            box.state, box.before_last = box.before_last, None
        self.net.sent.append((self.device.name, "rollback"))

    def discard(self) -> None:
        self.candidate = None
        self.net.sent.append((self.device.name, "discard"))

    def has_pending_commit(self) -> bool:
        return self.net.box(self.device.name).state.pending_commit

    def session_handling(self) -> SessionHandling:
        self._hook("session_handling", "before")
        return self.net.handling

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        self._hook("clear_sessions", "before")
        box = self.net.box(self.device.name)
        matched, box.sessions = box.sessions, 0
        self.net.cleared.append((self.device.name, policy.target, tuple(str(n) for n in inside)))
        return SessionReport(self.net.handling, matched, matched, f"cleared {matched} on {self.device.name}")


class NoSessionKill(FakeDriver):
    """A platform that keeps established sessions and cannot end them."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability) - {Capability.SESSION_KILL}


def inventory_yaml(devices: int = 4, *, credential: str = "env:EGTEST_PASSWORD",
                   vantage: bool = False) -> str:
    """A site ``hq`` with ``devices`` devices alternating between exits ``primary`` and ``backup``."""
    devs = "".join(
        f"""
      - name: dev{i}
        platform: linux_nftables
        host: 127.0.0.1
        port: {24000 + i}
        username: admin
        credential: {credential}
        host_key: {HOSTKEY}
        inside: [lan0]
        outside: [wan0]
        exit: {"primary" if i % 2 else "backup"}
        mgmt_address: 10.99.0.{i}
""" for i in range(1, devices + 1))
    vp = """
    vantage_points:
      - name: ws1
        exit: primary
        netns: ws1
        addresses: [10.10.1.11]
""" if vantage else ""
    return f"""version: 1
sites:
  - name: hq
    inside: [10.10.0.0/16]
    management:
      - name: ops-ssh
        sources: [10.99.0.50/32]
    always_allowed:
      - name: dns-fwd
        destinations: [203.0.113.53/32]
        protocol: udp
        ports: [53]
    stages:
      - name: ministry
        allow:
          - name: ministry-vpn
            destinations: [203.0.113.20/32]
            protocol: udp
            ports: [500, 4500]
      - name: allowlist
        allow:
          - name: saas
            destinations: [198.18.20.0/24]
            protocol: tcp
            ports: [443]
    devices:{devs}{vp}"""


def write_inventory(tmp: Path, **kw: object) -> Path:
    path = tmp / "site.yaml"
    path.write_text(inventory_yaml(**kw))  # type: ignore[arg-type]
    return path


def engine_over(tmp: Path, net: FakeNet, devices: int = 4, vantage: bool = False, **kw: Any) -> Engine:
    """An engine on a fresh inventory of ``devices`` whose drivers are ``net``'s doubles (state in tmp)."""
    inv = write_inventory(tmp, devices=devices, vantage=vantage)
    return Engine(inv, state_dir=tmp / "state", driver_factory=net.factory, **kw)  # type: ignore[arg-type]


def targets(net: FakeNet) -> dict[str, str]:
    """Each double's target, ``*`` when a commit is pending: what a test compares after an operation."""
    return {k: b.state.target + ("*" if b.state.pending_commit else "") for k, b in sorted(net.boxes.items())}
