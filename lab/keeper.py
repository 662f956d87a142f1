"""The keeper: the one process that owns a running lab.

``Lab.up`` starts it in a session of its own, as root directly or, for an ordinary user, under
``unshare -Urnm`` (it then owns the user, mount and network namespaces in which the lab's namespaces are
created, with ``/run`` replaced by a private tmpfs so ``ip netns`` works without privileges). It builds the
topology, starts every service, reports ``{"ok": true}`` (or the error) as one JSON line on the ready pipe,
then waits. On SIGTERM/SIGINT, or when every service has died, it stops the services and deletes the
namespaces; in a user namespace they vanish with it. The listening sockets of the controller's forwarder
arrive already bound in the caller's namespace and are passed straight on.

Usage: ``python -m egressctl_lab.keeper --plan FILE --ready-fd FD``
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import json
import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

from egressctl_lab import netbuild, services
from egressctl_lab.errors import LabError
from egressctl_lab.state import kill_groups, paths
from egressctl_lab.topology import Topology, load_topology

from egressctl.inventory.loader import load_inventory


class _Stop(Exception):
    """Raised in the main thread by the signal handler so every ``finally`` runs."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


MS_BIND, MS_REC = 4096, 16384


def _private_run() -> None:
    """In a user namespace: a private tmpfs on /run, so /run/netns is ours to create.

    Everything else the host has under /run is bound back at its own path (through a descriptor opened
    before the tmpfs hides it): a state directory, an inventory or an interpreter there (say under
    /run/user/UID) stays where the lab's files name it.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    host = os.open("/run", os.O_PATH | os.O_DIRECTORY)
    try:
        entries = [(e.name, e.is_dir(follow_symlinks=False), os.readlink(e.path) if e.is_symlink() else None)
                   for e in os.scandir("/run") if e.name != "netns"]
        if libc.mount(b"tmpfs", b"/run", b"tmpfs", 0, b"mode=0755") != 0:
            raise LabError(f"cannot mount a private /run in the user namespace (errno {ctypes.get_errno()})")
        Path("/run/netns").mkdir(mode=0o755)
        for name, is_dir, link in entries:
            _bind_back(libc, host, name, is_dir, link)
    finally:
        os.close(host)


def _bind_back(libc: ctypes.CDLL, host: int, name: str, is_dir: bool, link: str | None) -> None:
    """Recreate the host's ``/run/NAME`` on the private /run (best effort: an odd one must not stop a lab)."""
    target = Path("/run", name)
    if link is not None:
        target.symlink_to(link)
        return
    if is_dir:
        target.mkdir()
    else:
        target.touch()
    libc.mount(f"/proc/self/fd/{host}/{name}".encode(), str(target).encode(), None, MS_BIND | MS_REC, None)


def _ports(topo: Topology, site_canaries: list[Any]) -> tuple[list[int], list[int]]:
    tcp = set(topo.services.tcp) | {p for c in site_canaries for p in c.tcp}
    udp = set(topo.services.udp) | {p for c in site_canaries for p in c.udp}
    return sorted(tcp), sorted(udp)


def start_all(plan: dict[str, Any], started: list[services.Started]) -> None:
    """Start canaries, devices and the forwarder into ``started``; wait until all are ready."""
    lp = paths(Path(plan["state"]))
    inventory = load_inventory(Path(plan["inventory"]))
    topo, site = load_topology(inventory)
    prefix, userns = plan["prefix"], plan["mode"] == "userns"
    password = lp.secret.read_text().strip()
    tcp, udp = _ports(topo, list(site.canaries))
    started.append(services.start_canaries(lp, topo, prefix, tcp, udp))
    for dev in site.devices:
        node = topo.device_node(dev.name)
        if dev.platform == "linux_nftables":
            started.append(services.start_linux(lp, node, dev, prefix, password, userns))
        else:
            started.append(services.start_emulator(lp, node, dev, prefix, password, plan["time_scale"]))
    started += services.start_ssh_servers(lp, topo, prefix, password, userns)
    mapping = [(int(m["fd"]), m["address"], int(m["port"])) for m in plan["listeners"]]
    started.append(services.start_forwarder(lp, topo, prefix, mapping))
    for fd, _, _ in mapping:
        os.close(fd)
    services.wait_ready(started)


def _supervise(started: list[services.Started]) -> None:
    """Wait for a signal; return when every service has exited on its own."""
    while any(s.proc.poll() is None for s in started):
        time.sleep(0.5)


def run(plan: dict[str, Any], ready_fd: int) -> int:
    """Build, start, report, supervise, tear down."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    names: list[str] = []
    started: list[services.Started] = []
    report: dict[str, Any] = {"ok": False}
    try:
        if plan["mode"] == "userns":
            _private_run()
        topo, _ = load_topology(load_inventory(Path(plan["inventory"])))
        names = [plan["prefix"] + n.name for n in topo.nodes]
        t0 = time.monotonic()
        netbuild.build(topo, plan["prefix"])
        t1 = time.monotonic()
        start_all(plan, started)
        report = {"ok": True, "pid": os.getpid(), "build_s": round(t1 - t0, 3),
                  "services_s": round(time.monotonic() - t1, 3)}
        os.write(ready_fd, (json.dumps(report) + "\n").encode())
        os.close(ready_fd)
        ready_fd = -1
        _supervise(started)
        return 0
    except _Stop:
        return 0
    except Exception as exc:
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        kill_groups([s.proc.pid for s in started])
        for s in started:
            with contextlib.suppress(Exception):
                s.proc.wait(timeout=1)
        netbuild.teardown(names)
        if ready_fd >= 0:
            with contextlib.suppress(OSError):
                os.write(ready_fd, (json.dumps(report) + "\n").encode())
                os.close(ready_fd)


def main(argv: list[str] | None = None) -> None:
    """Process entry point."""
    parser = argparse.ArgumentParser(prog="egressctl_lab.keeper")
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--ready-fd", type=int, required=True)
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    raise SystemExit(run(plan, args.ready_fd))


if __name__ == "__main__":
    main()
