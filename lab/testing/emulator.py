"""Serve an emulated device in the test process, on loopback, with a fast device clock.

The emulator speaks the vendor CLI over real SSH (asyncssh, on a thread of the test process), so the
driver under test runs its real SSH stack (netmiko's own device classes) against it. Device timers (commit
confirmed, revert timers) run on the emulator's clock, which advances ``1 / time_scale`` device seconds per
real second: at ``time_scale=0.05`` a one-minute dead-man switch fires after 3 s. Waits on such a timer
should be computed from that scale (:meth:`Emulated.real_seconds`) or poll for the condition
(:func:`wait_until`), never sleep a fixed time chosen for one machine.

Any platform the lab emulates can be served: the built-in personalities and a plugin's own, registered
under the ``egressctl_lab.emulators`` entry-point group as ``create(spec, clock, dataplane)``. A plugin's
emulator must not import its driver: shared code would hide the very misunderstandings of the device the
tests exist to find.

Typical use in a driver plugin's ``conftest.py`` or test module::

    @pytest.fixture(scope="module")
    def emulated() -> Iterator[Emulated]:
        site = load_inventory(INVENTORY).site("example")
        with serve_emulated(site.device("edge-1"), time_scale=0.05) as emu:
            yield emu
"""

from __future__ import annotations

import contextlib
import importlib.util
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egressctl_lab import hostkeys
from egressctl_lab.emu.base import DataPlane, DeviceSpec

from egressctl.inventory.credentials import Secret, remember
from egressctl.inventory.models import Device

#: Device seconds run this much faster than real ones unless a suite asks otherwise (1 device min = 3 s).
DEFAULT_TIME_SCALE = 0.05

if TYPE_CHECKING:  # the server needs asyncssh (the lab extra): imported when something is served
    from egressctl_lab.emu.server import RunningEmulator


def available(platform: str) -> bool:
    """True when the emulator core (the ``lab`` extra) and an emulator of ``platform`` are importable."""
    if importlib.util.find_spec("asyncssh") is None:
        return False
    from egressctl_lab.emu.registry import personalities

    target = personalities().get(platform)
    return target is not None and importlib.util.find_spec(target.partition(":")[0]) is not None


@dataclass
class Emulated:
    """A running emulated device and the inventory entry (and secret) that reach it now."""

    device: Device
    secret: Secret
    handle: RunningEmulator

    @property
    def time_scale(self) -> float:
        """Real seconds per device second of this emulator's clock."""
        return float(self.handle.clock.scale)

    def real_seconds(self, device_seconds: float) -> float:
        """How long a device timer of ``device_seconds`` takes in real time on this emulator."""
        return device_seconds * self.time_scale

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``fn`` on the emulator's loop thread (where the device state lives) and return its result."""
        return self.handle.call(fn, timeout)


@contextlib.contextmanager
def serve_emulated(device: Device, *, port: int = 0, spec_kw: Mapping[str, Any] | None = None,
                   time_scale: float = DEFAULT_TIME_SCALE, tag: str = "kit") -> Iterator[Emulated]:
    """Serve ``device``'s platform on 127.0.0.1:``port`` (0: a free port) until the body ends.

    The device answers with the lab's deterministic host key for ``device.name`` and a fresh random
    password (``tag`` prefixes it and names the temporary key folder, so a leaked one says which suite made
    it); the yielded :class:`Emulated` carries a copy of ``device`` pointing at the emulator with that key
    pinned, so the inventory's own host, port and pin do not matter. ``spec_kw`` goes to
    :class:`~egressctl_lab.emu.base.DeviceSpec` (``interfaces``, ``zones``, ``options``). The password is
    registered for redaction, as a resolved credential would be.
    """
    from egressctl_lab.emu.server import serve_in_thread

    tmp = Path(tempfile.mkdtemp(prefix=f"{tag}-emu-"))
    password = f"{tag}-" + secrets.token_urlsafe(12)
    remember(password)
    spec = DeviceSpec(name=device.name, hostname=device.name, username=device.username, password=password,
                      **dict(spec_kw or {}))
    try:
        key = hostkeys.write_private(device.name, tmp / "host_key")
        handle = serve_in_thread(device.platform, spec, port=port, host_key_path=key, time_scale=time_scale)
        try:
            reach = device.model_copy(update={"host": "127.0.0.1", "port": handle.port,
                                              "host_key": hostkeys.public_line(device.name)})
            yield Emulated(reach, Secret(password=password), handle)
        finally:
            handle.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def threaded_emulator(platform: str, spec: DeviceSpec, port: int, key_dir: Path, *, key_name: str,
                      time_scale: float, dataplane: DataPlane | None = None) -> Iterator[RunningEmulator]:
    """Serve ``spec`` as ``platform`` on 127.0.0.1:``port`` in this process, stopped however the body ends.

    The lower-level sibling of :func:`serve_emulated` for tests that drive the CLI with netmiko directly:
    the caller chooses the spec (and its password) and the host key is the lab's pinned key for
    ``key_name`` (written into ``key_dir``), so every test that serves the same name presents the same
    key. ``dataplane`` (if any) stays the caller's to remove.
    """
    from egressctl_lab.emu.server import serve_in_thread

    key = hostkeys.write_private(key_name, key_dir / "key")
    running = serve_in_thread(platform, spec, port=port, host_key_path=key, time_scale=time_scale,
                              dataplane=dataplane)
    try:
        yield running
    finally:
        running.stop()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` every ``interval`` s until it holds (True) or ``timeout`` s pass (its last answer).

    Waits for a device timer belong here with a timeout derived from the emulator's clock plus a margin
    for a loaded machine: the test then takes as long as the timer, not as long as the worst case.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        time.sleep(interval)
    return True


def wait_for_timer(predicate: Callable[[], bool], *, armed_at: float, due_after: float, margin: float = 30.0,
                   interval: float = 0.2) -> bool:
    """Wait for the effect of a device timer armed at ``armed_at`` (``time.monotonic()``), due ``due_after``.

    ``due_after`` is real seconds: the timer's device seconds times the emulator's (or the lab's) time scale.
    Nothing can be seen before the timer is due, and a probe that fails often costs its own timeout (a
    dropped connection attempt), so this sleeps until the timer is due and only then polls ``predicate``
    every ``interval`` s, for at most ``margin`` s (a loaded machine fires timers late).
    """
    time.sleep(max(0.0, armed_at + due_after - time.monotonic()))
    return wait_until(predicate, margin, interval)
