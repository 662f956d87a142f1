"""Faults on a running lab, injected from outside the controller: what a fault campaign does to a site.

Every fault here acts where it would on a real site, never inside egressctl:

* :func:`restart_device` reboots a device: its process is killed as by a power cut and started again. An
  emulated device comes back with its *saved* configuration when the lab runs its emulators under
  :mod:`egressctl_lab.faultemu` (``EGRESSCTL_LAB_EMU_CMD``), with its factory configuration under the plain
  emulator. core-b, the real Linux box, loses what Linux loses in a reboot: every process it ran (sshd and
  any job left behind) and its whole nftables ruleset; then it boots as a Debian host does, loading
  ``/etc/nftables.conf`` from its own /etc (an overlay kept across reboots: :mod:`egressctl_lab.linuxbox`).
* :func:`reset_management` resets the operators' TCP connections to a device's management address
  (``ss -K`` in the operators' namespace: the kernel aborts them and sends a RST to the device).
* :func:`drop_management` drops a share of the packets between the operators' station and a device's
  management address (an nft table in the operators' namespace, ``numgen random``), and
  :class:`DelayRelay` adds latency to the controller's SSH sessions. This kernel has no ``sch_netem``
  (``tc qdisc add ... netem`` answers "Specified qdisc kind is unknown"), so latency is added by a relay on
  the controller's side of the management path and loss by nftables in the namespace: TCP sees real losses
  and real delays.
* :func:`arm_emulator_fault` makes an emulated device reject its next configuration line or fail its next
  commit, with its own error text (needs :mod:`egressctl_lab.faultemu`).
* :class:`FullDisk` mounts a small tmpfs (for a journal) and fills it up on demand.

Root mode only (named namespaces and mounts of the real root).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egressctl_lab import services
from egressctl_lab.errors import LabError
from egressctl_lab.faultemu import FAULT_KINDS, fault_path
from egressctl_lab.netbuild import netns_exec
from egressctl_lab.state import alive, read_lab_json, recorded_pids

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device

if TYPE_CHECKING:
    from egressctl_lab.lab import Lab

READY_SECONDS = 30.0
#: nft table names must be identifiers: one table per device in the operators' namespace.
_TABLE = "egressctl_fault_{}"


@dataclass(frozen=True)
class Target:
    """One device of a running lab, with what a fault needs to reach it."""

    device: Device
    prefix: str
    operator_ns: str
    device_ns: str
    time_scale: float


def target(lab: Lab, name: str) -> Target:
    """The running lab's device ``name``.

    Raises:
        LabError: no lab is up, it runs in user-namespace mode, or it has no such device.
    """
    doc = read_lab_json(lab.paths) or {}
    if not lab.status().up:
        raise LabError(f"no lab is up (state directory {lab.paths.state}); run `egressctl lab up`")
    if doc.get("mode") != "root":
        raise LabError("device faults need a lab in root mode (named namespaces)")
    devices = {d.name: d for d in load_inventory(lab.inventory_path).site(lab.site.name).devices}
    if name not in devices:
        raise LabError(f"no device {name!r}; devices: {', '.join(devices)}")
    prefix = str(doc["prefix"])
    node = lab.topology.device_node(name)
    return Target(devices[name], prefix, prefix + lab.topology.operator, prefix + node.name,
                  float(doc.get("time_scale", lab.time_scale)))


def _in_ns(ns: str, argv: list[str], *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*netns_exec(ns), *argv], input=stdin, capture_output=True, text=True, timeout=30,
                          check=False)


# --- reboot ---------------------------------------------------------------------------------------------
def _power_cut(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL a process group (a power cut gives no chance to clean up) and wait until it is gone."""
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)


def _cmdline(pid: int) -> list[str]:
    """A live process's argv without the ``--ready-fd N`` the lab appended ([] when it is gone)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []
    if "--ready-fd" in argv:
        i = argv.index("--ready-fd")
        del argv[i:i + 2]
    return argv


def _mount_ns_members(pid: int) -> list[int]:
    """Every process sharing ``pid``'s mount namespace (core-b's private one: sshd, shells, jobs)."""
    try:
        ns = os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return []
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{entry.name}/ns/mnt") == ns:
                    members.append(int(entry.name))
    return members


def restart_device(lab: Lab, name: str) -> float:
    """Reboot device ``name`` (see the module docstring); returns the seconds until it answers again.

    Raises:
        LabError: see :func:`target`, or the device did not come back.
    """
    t = target(lab, name)
    t0 = time.monotonic()
    pid = recorded_pids(lab.paths).get(name)
    node = lab.topology.device_node(name)
    password = lab.paths.secret.read_text().strip()
    if t.device.platform == "linux_nftables":
        started = _reboot_linux(lab, t, pid, password)
    else:
        argv = _cmdline(pid) if pid else []
        if pid:
            _power_cut(pid)
        if argv:
            started = services.spawn(lab.paths, name, [*netns_exec(t.device_ns), *argv])
        else:
            started = services.start_emulator(lab.paths, node, t.device, t.prefix, password, t.time_scale)
    services.wait_ready([started], READY_SECONDS)
    return time.monotonic() - t0


def _reboot_linux(lab: Lab, t: Target, pid: int | None, password: str) -> services.Started:
    """core-b: kill everything in its mount namespace, flush its ruleset, boot (its nftables.conf, sshd)."""
    if pid:
        for member in _mount_ns_members(pid):
            _power_cut(member)
    flushed = _in_ns(t.device_ns, ["nft", "flush", "ruleset"])
    if flushed.returncode != 0:
        raise LabError(f"{t.device.name}: nft flush ruleset failed: {flushed.stderr.strip()}")
    node = lab.topology.device_node(t.device.name)
    with contextlib.suppress(FileNotFoundError):
        (lab.paths.run / t.device.name / "sshd.pid").unlink()
    return services.start_linux(lab.paths, node, t.device, t.prefix, password, userns=False)


# --- the management path --------------------------------------------------------------------------------
def reset_management(lab: Lab, name: str) -> int:
    """Abort every TCP connection from the operators' station to ``name``'s SSH; returns how many."""
    t = target(lab, name)
    addr = str(t.device.mgmt_address)
    res = _in_ns(t.operator_ns, ["ss", "-K", "-t", "-n", "dst", addr, "dport", "=", ":22"])
    if res.returncode != 0:
        raise LabError(f"ss -K in {t.operator_ns} failed: {res.stderr.strip()}")
    return sum(1 for line in res.stdout.splitlines() if re.search(rf"\s{re.escape(addr)}:22\s*", line))


def drop_management(lab: Lab, name: str, percent: int) -> None:
    """Drop ``percent`` % of the packets either way between the operators' station and ``name``'s SSH."""
    if not 0 < percent <= 100:
        raise LabError(f"loss must be 1-100 %, not {percent}")
    t = target(lab, name)
    addr, table = str(t.device.mgmt_address), _TABLE.format(name.replace("-", "_"))
    fam = "ip6" if ":" in addr else "ip"
    share = "" if percent == 100 else f"numgen random mod 100 < {percent} "
    out, back = f"{fam} daddr {addr} tcp dport 22 {share}drop", f"{fam} saddr {addr} tcp sport 22 {share}drop"
    ruleset = (f"table inet {table} {{\n  chain out {{ type filter hook output priority 0; {out}; }}\n"
               f"  chain in {{ type filter hook input priority 0; {back}; }}\n}}\n")
    restore_management(lab, name)
    res = _in_ns(t.operator_ns, ["nft", "-f", "-"], stdin=ruleset)
    if res.returncode != 0:
        raise LabError(f"nft in {t.operator_ns} failed: {res.stderr.strip()}")


def restore_management(lab: Lab, name: str) -> None:
    """Remove the loss :func:`drop_management` added (nothing when there is none)."""
    t = target(lab, name)
    _in_ns(t.operator_ns, ["nft", "delete", "table", "inet", _TABLE.format(name.replace("-", "_"))])


@dataclass
class _Pump:
    """One direction of a relayed connection: chunks wait for their due time, in order."""

    writer: asyncio.StreamWriter
    queue: deque[tuple[float, bytes | None]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class DelayRelay:
    """A TCP relay adding a settable one-way delay to every byte, in each direction (latency, not loss).

    ``listen`` maps a local port to the address it relays to. It runs an event loop on a thread of the
    caller; :meth:`set_delay` changes a listener's delay at once for every connection, open or new (bytes
    already waiting keep their due time).
    """

    def __init__(self, routes: dict[int, tuple[str, int]], host: str = "127.0.0.1") -> None:
        self.routes, self.host = routes, host
        self.delay: dict[int, float] = dict.fromkeys(routes, 0.0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="delay-relay", daemon=True)
        self._servers: list[asyncio.Server] = []
        #: asyncio holds tasks weakly: a relayed connection's tasks live here until it ends.
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> DelayRelay:
        """Listen on every port (raises OSError when one is taken)."""
        self._thread.start()
        for port in self.routes:
            fut = asyncio.run_coroutine_threadsafe(self._serve(port), self._loop)
            self._servers.append(fut.result(10))
        return self

    def stop(self) -> None:
        """Close the listeners and every relayed connection; stop the thread."""
        async def shutdown() -> None:
            for server in self._servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def set_delay(self, port: int, seconds: float) -> None:
        """One-way delay of listener ``port`` from now on."""
        self.delay[port] = max(0.0, seconds)

    async def _serve(self, port: int) -> asyncio.Server:
        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            with contextlib.suppress(asyncio.CancelledError):  # stop() cancels: not an error to log
                await self._relay(port, r, w)

        return await asyncio.start_server(handler, self.host, port, reuse_address=True)

    async def _relay(self, port: int, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            dev_r, dev_w = await asyncio.wait_for(asyncio.open_connection(*self.routes[port]), 10)
        except (OSError, TimeoutError):
            client_w.close()
            return
        try:
            await asyncio.gather(self._pipe(port, client_r, dev_w), self._pipe(port, dev_r, client_w))
        finally:
            for w in (dev_w, client_w):
                w.close()

    async def _pipe(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pump = _Pump(writer)
        sender = asyncio.get_running_loop().create_task(self._send(pump))
        self._tasks.add(sender)
        sender.add_done_callback(self._tasks.discard)
        try:
            while True:
                try:
                    data = await reader.read(65536)
                except OSError:
                    data = b""
                pump.queue.append((time.monotonic() + self.delay[port], data or None))
                pump.wake.set()
                if not data:
                    break
            await sender
        finally:
            sender.cancel()

    @staticmethod
    async def _send(pump: _Pump) -> None:
        while True:
            while not pump.queue:
                pump.wake.clear()
                await pump.wake.wait()
            due, data = pump.queue.popleft()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            try:
                if data is None:
                    if pump.writer.can_write_eof():
                        pump.writer.write_eof()
                    return
                pump.writer.write(data)
                await pump.writer.drain()
            except OSError:
                return


# --- emulator faults ------------------------------------------------------------------------------------
def _fault_file(lab: Lab, name: str) -> Path:
    return fault_path(lab.paths.run / "devices" / f"{name}.json", name)


def arm_emulator_fault(lab: Lab, name: str, kind: str) -> None:
    """Make emulated device ``name`` reject its next configuration line or fail its next commit."""
    if kind not in FAULT_KINDS:
        raise LabError(f"unknown emulator fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
    t = target(lab, name)
    if t.device.platform == "linux_nftables":
        raise LabError(f"{name} is a real Linux box: it has no emulator to fault")
    path = _fault_file(lab, name)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"kind": kind, "armed": time.time()}))
    tmp.replace(path)


def disarm_emulator_fault(lab: Lab, name: str) -> bool:
    """Remove an armed fault; True when it was still armed (it never fired)."""
    try:
        _fault_file(lab, name).unlink()
    except FileNotFoundError:
        return False
    return True


# --- a full filesystem ----------------------------------------------------------------------------------
class FullDisk:
    """A tmpfs of ``size_mb`` at ``path`` (a journal's state directory); :meth:`fill` fills it to the brim."""

    def __init__(self, path: Path, size_mb: int = 64) -> None:
        self.path, self.size_mb = path, size_mb
        self.filler = path / ".filler"

    def mount(self) -> FullDisk:
        """Mount the tmpfs (the directory is created; it must be empty)."""
        self.path.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0700", "tmpfs",
                              str(self.path)], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise LabError(f"cannot mount a tmpfs on {self.path}: {res.stderr.strip()}")
        return self

    def unmount(self) -> None:
        """Unmount (lazily when something still holds a file open)."""
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)

    def fill(self) -> int:
        """Write a filler file until the filesystem has no free block left; returns its size in bytes."""
        size = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
                block = b"\0" * chunk
                while True:
                    try:
                        size += os.write(fd, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        return size

    def free(self) -> None:
        """Remove the filler: the filesystem has room again."""
        with contextlib.suppress(FileNotFoundError):
            self.filler.unlink()

    def usage(self) -> dict[str, Any]:
        """Bytes used and free (``statvfs``)."""
        st = os.statvfs(self.path)
        return {"used": (st.f_blocks - st.f_bfree) * st.f_frsize, "free": st.f_bavail * st.f_frsize}
