"""Starting the lab's long-running processes: canaries, emulators, core-b's shell, sshds, the forwarder.

The sshds are the real ones of the bastion and of the SSH vantage host (``start_ssh_servers``) as root; in
a user namespace, where sshd cannot run, those nodes get the documented shellbox fallback instead.

Each process is started in its own session (so it leads a process group that ``lab down`` can kill as a
whole), with its output in ``run/logs/NAME.log`` and its pid recorded in ``run/pids/NAME.pid`` before it
has a chance to fail. Readiness is a line on a pipe (``--ready-fd``), or for the real sshd its pid file.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from egressctl_lab import hostkeys, linuxbox
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.errors import LabError
from egressctl_lab.netbuild import netns_exec
from egressctl_lab.state import LabPaths, record_pid, write_private
from egressctl_lab.topology import Node, Topology

from egressctl.inventory.models import Device

NETMIKO_TYPES = {
    "linux_nftables": "linux",
    "cisco_ios": "cisco_ios",
    "juniper_junos": "juniper_junos",
    "fortinet": "fortinet",
    "paloalto_panos": "paloalto_panos",
}
READY_SECONDS = 45.0
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 (every address *of the device's own namespace*, like a real box)


def emulator_command() -> list[str]:
    """How to start an emulator; ``EGRESSCTL_LAB_EMU_CMD`` overrides it (test seam for a stand-in)."""
    override = os.environ.get("EGRESSCTL_LAB_EMU_CMD")
    return shlex.split(override) if override else [sys.executable, "-m", "egressctl_lab.emu"]


@dataclass
class Started:
    """A process the keeper started and how to tell it is ready."""

    name: str
    proc: subprocess.Popen[bytes]
    ready_fd: int | None = None
    pid_file: Path | None = None
    log: Path = field(default_factory=Path)


def spawn(paths: LabPaths, name: str, argv: list[str], *, pass_fds: tuple[int, ...] = (),
          ready: bool = True) -> Started:
    """Start ``argv`` as a new session; with ``ready`` it gets ``--ready-fd N`` appended."""
    logs = paths.run / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    r = w = None
    if ready:
        r, w = os.pipe()
        argv = [*argv, "--ready-fd", str(w)]
    # Emulated devices stand in for remote boxes: on a shared machine they yield the CPU to the operator's
    # controller and TUI instead of competing with them (EGRESSCTL_LAB_NICE=0 turns this off).
    niceness = os.environ.get("EGRESSCTL_LAB_NICE", "5")
    if niceness.isdigit() and int(niceness) > 0 and shutil.which("nice"):
        argv = ["nice", "-n", niceness, *argv]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            pass_fds=(*pass_fds, *((w,) if w is not None else ())),
        )
    record_pid(paths, name, proc.pid)
    if w is not None:
        os.close(w)
    return Started(name, proc, ready_fd=r, log=log)


def start_canaries(paths: LabPaths, topo: Topology, prefix: str, tcp: list[int], udp: list[int]) -> Started:
    """The canary server in the services node."""
    node = topo.node(topo.services.node)
    argv = [*netns_exec(prefix + node.name), sys.executable, "-m", "egressctl_lab.canary",
            "--tcp", ",".join(map(str, tcp)), "--udp", ",".join(map(str, udp))]
    for iface in node.interfaces:
        if iface.kind != "veth":
            argv += [x for a in iface.addresses for x in ("--address", str(a.ip))]
    return spawn(paths, "canary", argv)


def start_emulator(paths: LabPaths, node: Node, device: Device, prefix: str, password: str,
                   time_scale: float) -> Started:
    """One vendor emulator in its device namespace, listening on port 22 of every address."""
    spec = DeviceSpec(name=device.name, hostname=device.name, username=device.username, password=password,
                      interfaces=node.vendor_map(), zones=node.zones, options=dict(node.device_options))
    ddir = paths.run / "devices"
    spec_file = write_private(ddir / f"{device.name}.json", json.dumps(asdict(spec)))
    key = hostkeys.write_private(device.name, ddir / f"{device.name}.key")
    argv = [*netns_exec(prefix + node.name), *emulator_command(), "--platform", device.platform,
            "--spec-file", str(spec_file), "--listen", ANY_ADDRESS, "--port", "22",
            "--host-key-file", str(key), "--time-scale", str(time_scale)]
    return spawn(paths, device.name, argv)


def start_linux(paths: LabPaths, node: Node, device: Device, prefix: str, password: str,
                userns: bool) -> Started:
    """core-b: the real sshd as root, the documented asyncssh+bash fallback in a user namespace."""
    root = paths.run / device.name
    root.mkdir(parents=True, exist_ok=True, mode=0o755)
    base = [*netns_exec(prefix + node.name), "unshare", "--uts"]
    if userns:  # its own mount namespace: the box's /etc is an overlay (linuxbox.private_etc)
        argv = [*base, "--mount", "--propagation", "private", "--", sys.executable, "-m",
                "egressctl_lab.shellbox", "--root", str(root), "--hostname", device.name,
                "--device", device.name, "--user", device.username, "--secret-file", str(paths.secret),
                "--boot"]
        return spawn(paths, device.name, argv)
    linuxbox.prepare(root, device=device.name, hostname=device.name, username=device.username,
                     password=password)
    argv = [*base, "--mount", "--propagation", "private", "--", sys.executable, "-m",
            "egressctl_lab.linuxbox", "--root", str(root), "--hostname", device.name, "--boot"]
    started = spawn(paths, device.name, argv, ready=False)
    started.pid_file = root / "sshd.pid"
    return started


def start_ssh_servers(paths: LabPaths, topo: Topology, prefix: str, password: str,
                      userns: bool) -> list[Started]:
    """The SSH server of every node that has one (see ``topology.SshServer``), named ``sshd-NODE``.

    As root each is a real sshd run as core-b's is (``linuxbox``), with the lab password for its user; in
    a user namespace, where sshd cannot switch users, the ``shellbox`` fallback gives the same logins,
    shells, exec requests, forwarding and detached jobs (:func:`start_shellbox_server`). A bastion's host
    key is the lab key of its jump host's name, a vantage host's that of its node's name. Both reach this
    interpreter: a vantage host runs the probe with it, and a bastion can run a job of its own (say a
    revert job that must outlive the controller) as a site's bastion would.
    """
    started = []
    for node in topo.nodes:
        if node.sshd is None:
            continue
        root = paths.run / f"sshd-{node.name}"
        root.mkdir(parents=True, exist_ok=True, mode=0o755)
        if userns:
            started.append(start_shellbox_server(paths, node, prefix, root))
            continue
        linuxbox.prepare(root, device=node.sshd.jump_host or node.name, hostname=node.name,
                         username=node.sshd.user, password=password, bastion=node.sshd.jump_host is not None,
                         probe_python=sys.executable if node.sshd.probe else None)
        argv = [*netns_exec(prefix + node.name), "unshare", "--uts", "--mount", "--propagation", "private",
                "--", sys.executable, "-m", "egressctl_lab.linuxbox", "--root", str(root),
                "--hostname", node.name, "--share-interpreter"]
        server = spawn(paths, f"sshd-{node.name}", argv, ready=False)
        server.pid_file = root / "sshd.pid"
        started.append(server)
    return started


def start_shellbox_server(paths: LabPaths, node: Node, prefix: str, root: Path) -> Started:
    """A node's SSH server in a user namespace: ``shellbox`` (asyncssh, real bash) with sshd's options."""
    assert node.sshd is not None
    argv = [*netns_exec(prefix + node.name), "unshare", "--uts", "--", sys.executable, "-m",
            "egressctl_lab.shellbox", "--root", str(root), "--hostname", node.name,
            "--device", node.sshd.jump_host or node.name, "--user", node.sshd.user,
            "--secret-file", str(paths.secret)]
    if node.sshd.jump_host is not None:
        argv.append("--jump-host")
    if node.sshd.probe:
        argv += ["--probe-python", sys.executable]
    return spawn(paths, f"sshd-{node.name}", argv)


def start_forwarder(
    paths: LabPaths, topo: Topology, prefix: str, mapping: list[tuple[int, str, int]]
) -> Started:
    """The loopback-to-management relay, running in the operators' node."""
    argv = [*netns_exec(prefix + topo.operator), sys.executable, "-m", "egressctl_lab.forwarder"]
    for fd, addr, port in mapping:
        argv += ["--map", f"{fd}={addr}:{port}"]
    return spawn(paths, "forwarder", argv, pass_fds=tuple(fd for fd, _, _ in mapping))


def _tail(log: Path, lines: int = 8) -> str:
    try:
        return "\n    ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def wait_ready(started: list[Started], timeout: float = READY_SECONDS) -> None:
    """Wait until every process said ready (or wrote its pid file).

    Raises:
        LabError: one exited or stayed silent; the message carries the end of its log.
    """
    deadline = time.monotonic() + timeout
    pending = {s.name: s for s in started}
    buffers: dict[str, bytes] = {}
    while pending:
        for s in list(pending.values()):
            if s.proc.poll() is not None:
                raise LabError(f"{s.name} exited with status {s.proc.returncode}:\n    {_tail(s.log)}")
            if s.pid_file is not None and s.pid_file.is_file() and s.pid_file.read_text().strip():
                del pending[s.name]
        fds = {s.ready_fd: s for s in pending.values() if s.ready_fd is not None}
        if time.monotonic() > deadline:
            raise LabError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
        readable, _, _ = select.select(list(fds), [], [], 0.05)
        for fd in readable:
            s = fds[fd]
            chunk = os.read(fd, 256)
            buffers[s.name] = buffers.get(s.name, b"") + chunk
            if b"ready" in buffers[s.name]:
                os.close(fd)
                s.ready_fd = None
                del pending[s.name]
            elif not chunk:
                os.close(fd)
                s.ready_fd = None
                with contextlib.suppress(subprocess.TimeoutExpired):
                    s.proc.wait(timeout=2)
                raise LabError(f"{s.name} stopped before it was ready:\n    {_tail(s.log)}")
