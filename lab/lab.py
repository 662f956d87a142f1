"""``Lab``: build, describe and tear down one emulated site; ``node_exec_prefix`` to run commands in it.

``up`` binds the controller's loopback listeners (one per device, in the caller's network namespace),
then starts the keeper (see ``keeper.py``) with those sockets and waits for its report. As root the
keeper uses named network namespaces; as an ordinary user it runs under ``unshare -Urnm`` and everything
lives in its user namespace, reached with ``nsenter``. ``down`` asks the keeper to stop, then sweeps
whatever a crash may have left (recorded process groups, and as root the namespaces themselves), so a
lab never outlives its ``down`` even after a failure or an interrupt.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from egressctl_lab import hostkeys, netbuild
from egressctl_lab.errors import LabError
from egressctl_lab.state import (
    LabPaths,
    ensure_secret,
    keeper_alive,
    kill_group,
    kill_groups,
    paths,
    read_lab_json,
    recorded_pids,
    start_time,
    write_lab_json,
    write_private,
)
from egressctl_lab.status import LabStatus, describe
from egressctl_lab.topology import load_topology

from egressctl.inventory.credentials import state_dir as default_state_dir
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site

DEFAULT_PREFIX = "eg-"
LOOPBACK = "127.0.0.1"  # the controller reaches every device through the forwarder's loopback listeners
UP_SECONDS = 90.0


def lab_mode() -> str:
    """``root`` when running as root (unless ``EGRESSCTL_LAB_MODE=userns``), else ``userns``."""
    forced = os.environ.get("EGRESSCTL_LAB_MODE", "")
    if forced in ("root", "userns"):
        return forced
    return "root" if os.geteuid() == 0 else "userns"


class Lab:
    """One lab instance: an inventory, a namespace prefix, loopback ports and a state directory."""

    def __init__(self, inventory_path: Path, *, prefix: str | None = None, port_base: int | None = None,
                 time_scale: float = 0.25, state_dir: Path | None = None) -> None:
        # Absolute but not resolved: the repository's inventory/lab.yaml is a link to the packaged lab site,
        # and the lab reports the path the operator gave.
        self.source = Path(os.path.abspath(inventory_path))
        self.prefix = prefix or os.environ.get("EGRESSCTL_LAB_PREFIX") or DEFAULT_PREFIX
        self.port_base = port_base
        self.time_scale = time_scale
        self.paths: LabPaths = paths(state_dir)
        self.mode = lab_mode()
        try:
            self.topology, self.site = load_topology(load_inventory(self.source))
        except ValueError as exc:
            raise LabError(f"{self.source}: {exc}") from None
        self._effective_site = self._site_for_instance()

    # -- effective inventory ------------------------------------------------------------------------
    def _changed(self) -> bool:
        return (
            self.port_base is not None
            or self.paths.state.resolve() != default_state_dir().resolve()
            or any(d.host != LOOPBACK for d in self.site.devices)
            or any(j.host != LOOPBACK for j in self.site.jump_hosts)
        )

    def _site_for_instance(self) -> Site:
        updates = []
        for i, dev in enumerate(self.site.devices):
            port = self.port_base + i if self.port_base is not None else dev.port
            cred = dev.credential
            if self._changed():
                cred = cred.replace("{state}", str(self.paths.state))
            updates.append(dev.model_copy(update={"host": LOOPBACK, "port": port, "credential": cred}))
        jumps = []
        for j, jump in enumerate(self.site.jump_hosts):
            jport = self.port_base + len(updates) + j if self.port_base is not None else jump.port
            jcred = jump.credential
            if jcred and self._changed():
                jcred = jcred.replace("{state}", str(self.paths.state))
            jumps.append(jump.model_copy(update={"host": LOOPBACK, "port": jport, "credential": jcred}))
        # Every device and vantage point must see the instance's jump hosts, not the source's.
        return self.site.model_copy(update={"devices": updates, "jump_hosts": jumps}, deep=True).attach_ssh()

    @property
    def inventory_path(self) -> Path:
        """The effective inventory: the input, or a copy with this instance's ports and secret path."""
        return self.paths.inventory if self._changed() else self.source

    def _write_effective_inventory(self) -> None:
        if not self._changed():
            return
        data = yaml.safe_load(self.source.read_text())
        for site in data["sites"]:
            if site["name"] != self.site.name:
                continue
            for raw, dev in zip(site["devices"], self._effective_site.devices, strict=True):
                raw["host"], raw["port"], raw["credential"] = dev.host, dev.port, dev.credential
            for raw, jump in zip(site.get("jump_hosts", []), self._effective_site.jump_hosts, strict=True):
                raw["host"], raw["port"] = jump.host, jump.port
                if jump.credential:
                    raw["credential"] = jump.credential
        text = "# Effective lab inventory written by egressctl lab up (source: " + str(self.source) + ")\n"
        self.paths.inventory.write_text(text + yaml.safe_dump(data, sort_keys=False))

    # -- up / down ----------------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.up()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()

    def _check_keys(self) -> None:
        for dev in self.site.devices:
            if dev.host_key != hostkeys.public_line(dev.name):
                raise LabError(f"device {dev.name}: host_key in {self.source} is not the lab key "
                               f"(expected {hostkeys.public_line(dev.name)})")
        for jump in self.site.jump_hosts:
            if jump.host_key != hostkeys.public_line(jump.name):
                raise LabError(f"jump host {jump.name}: host_key in {self.source} is not the lab key "
                               f"(expected {hostkeys.public_line(jump.name)})")

    def _repair(self) -> None:
        """Tear down what a previous lab in this state directory or with this prefix left behind."""
        doc = read_lab_json(self.paths)
        if doc is not None and doc.get("prefix") != self.prefix and keeper_alive(doc):
            raise LabError(f"a lab with prefix {doc.get('prefix')!r} is already up in {self.paths.root}; "
                           "run `egressctl lab down` or use another state directory")
        if doc is not None or recorded_pids(self.paths):
            print(f"lab: tearing down the previous lab recorded in {self.paths.root} first", file=sys.stderr)
            self.down()
        if self.mode == "root":
            leftovers = netbuild.teardown(self.prefix + n.name for n in self.topology.nodes)
            if leftovers:
                print(f"lab: removed leftover namespaces {', '.join(leftovers)}", file=sys.stderr)

    def _listeners(self) -> list[tuple[str, int, str]]:
        """(name, loopback port, address relayed to from ops) of every device, then every jump host."""
        site = self._effective_site
        jumps = [(j.name, j.port or 22, self.topology.jump_node(j.name).first_ipv4())
                 for j in site.jump_hosts]
        return [*((d.name, d.port, str(d.mgmt_address)) for d in site.devices), *jumps]

    def _bind(self) -> list[tuple[socket.socket, str]]:
        socks: list[tuple[socket.socket, str]] = []
        try:
            for name, port, address in self._listeners():
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append((s, address))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((LOOPBACK, port))
                except OSError as exc:
                    raise LabError(f"cannot listen on 127.0.0.1:{port} for {name} ({exc.strerror}); "
                                   "is another lab up? choose another --port-base") from None
                s.listen(64)
        except BaseException:
            for s, _ in socks:
                s.close()
            raise
        return socks

    def up(self) -> LabStatus:
        """Build the lab and start every device; on any failure or interrupt, tear everything down.

        Raises:
            LabError: the lab could not be built (the message says which step and why).
        """
        self._check_keys()
        self._repair()
        ensure_secret(self.paths)
        self.paths.run.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._write_effective_inventory()
        socks = self._bind()
        try:
            keeper, report = self._start_keeper(socks)
        except BaseException:
            for s, _ in socks:
                s.close()
            self.down()
            raise
        for s, _ in socks:
            s.close()
        write_lab_json(self.paths, {
            "prefix": self.prefix, "mode": self.mode, "time_scale": self.time_scale,
            "keeper_pid": keeper, "keeper_start": start_time(keeper), "source": str(self.source),
            "port_base": self.port_base,
            "inventory": str(self.inventory_path), "nodes": [n.name for n in self.topology.nodes],
            "timings": {k: v for k, v in report.items() if k.endswith("_s")},
        })
        return self.status()

    def _start_keeper(self, socks: list[tuple[socket.socket, str]]) -> tuple[int, dict[str, Any]]:
        plan = {
            "mode": self.mode, "prefix": self.prefix, "state": str(self.paths.state),
            "inventory": str(self.source.resolve()), "time_scale": self.time_scale,
            "listeners": [{"fd": s.fileno(), "address": addr, "port": 22} for s, addr in socks],
        }
        plan_file = write_private(self.paths.run / "plan.json", json.dumps(plan))
        r, w = os.pipe()
        argv = [sys.executable, "-m", "egressctl_lab.keeper", "--plan", str(plan_file), "--ready-fd", str(w)]
        if self.mode == "userns":
            argv = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--", *argv]
        log = (self.paths.run / "keeper.log").open("ab")
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, pass_fds=(w, *(s.fileno() for s, _ in socks)))
        finally:
            os.close(w)
            log.close()
        write_lab_json(self.paths, {"prefix": self.prefix, "mode": self.mode, "keeper_pid": proc.pid,
                                    "keeper_start": start_time(proc.pid), "nodes": [],
                                    "source": str(self.source), "inventory": str(self.inventory_path)})
        line = _read_line(r, UP_SECONDS)
        report = json.loads(line) if line else {"ok": False, "error": "the keeper exited without a report"}
        if not report.get("ok"):
            tail = (self.paths.run / "keeper.log").read_text(errors="replace").splitlines()[-5:]
            why = report.get("error", "interrupted")
            raise LabError(f"lab up failed: {why}" + "".join(f"\n  {t}" for t in tail))
        return proc.pid, report

    def down(self) -> None:
        """Stop every process and remove every namespace this lab (or a crashed run of it) created."""
        doc = read_lab_json(self.paths)
        if doc is not None and keeper_alive(doc):
            kill_group(int(doc["keeper_pid"]), grace=20.0)
        kill_groups(list(recorded_pids(self.paths).values()), grace=2.0)
        if self.mode == "root":
            names = {self.prefix + n.name for n in self.topology.nodes}
            if doc is not None and doc.get("prefix"):
                names |= {str(doc["prefix"]) + str(n) for n in doc.get("nodes", [])}
            netbuild.teardown(sorted(names))
        with contextlib.suppress(FileNotFoundError):
            self.paths.lab_json.unlink()
        shutil.rmtree(self.paths.run, ignore_errors=True)
        if self._changed():
            with contextlib.suppress(FileNotFoundError):
                self.paths.inventory.unlink()

    # -- status / exec ------------------------------------------------------------------------------
    def status(self) -> LabStatus:
        """What is up now (``up`` False when this state directory has no running lab)."""
        doc = read_lab_json(self.paths) or {}
        up = bool(doc) and keeper_alive(doc) and bool(doc.get("nodes"))
        prefix = str(doc.get("prefix", self.prefix)) if up else self.prefix
        site = self._effective_site
        if up and doc.get("inventory") and Path(str(doc["inventory"])).is_file():
            site = load_inventory(Path(str(doc["inventory"]))).site(self.site.name)
        nodes, devices = describe(self.topology, site, prefix)
        return LabStatus(
            up=up, mode=str(doc.get("mode", self.mode)), prefix=prefix,
            time_scale=float(doc.get("time_scale", self.time_scale)),
            state_dir=str(self.paths.state), inventory=str(self.inventory_path),
            keeper_pid=int(doc["keeper_pid"]) if up else None, nodes=nodes, devices=devices,
            timings=dict(doc.get("timings", {})),
        )

    def restart(self, device: str) -> float:
        """Reboot ``device`` as a power cut would; returns the seconds until it answers again.

        See :func:`egressctl_lab.faults.restart_device` for what each kind of device comes back with.

        Raises:
            LabError: no lab is up (root mode), no such device, or it did not come back.
        """
        from egressctl_lab.faults import restart_device

        return restart_device(self, device)

    def exec(self, node: str, argv: list[str], **subprocess_kw: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` inside lab node ``node`` (``subprocess.run`` keywords pass through)."""
        return subprocess.run([*node_exec_prefix(node, self.paths.state), *argv], **subprocess_kw)


def _read_line(fd: int, timeout: float) -> str:
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in data and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data += chunk
    finally:
        os.close(fd)
    return data.decode(errors="replace").strip()


def node_exec_prefix(node: str, state_dir: Path | None = None) -> list[str]:
    """Argv prefix running a command inside lab node ``node`` (a node name, or its namespace name).

    Raises:
        LabError: no lab is up in ``state_dir`` (default: egressctl's state directory) or no such node.
    """
    doc = read_lab_json(paths(state_dir)) or {}
    if not doc or not keeper_alive(doc) or not doc.get("nodes"):
        raise LabError(f"no lab is up (state directory {paths(state_dir).state}); run `egressctl lab up`")
    prefix, nodes = str(doc["prefix"]), [str(n) for n in doc["nodes"]]
    name = node if node in nodes else node.removeprefix(prefix)
    if name not in nodes:
        raise LabError(f"no lab node {node!r}; nodes: {', '.join(nodes)}")
    inner = ["ip", "netns", "exec", prefix + name]
    if doc.get("mode") == "userns":
        return ["nsenter", f"--target={doc['keeper_pid']}", "--user", "--mount", "--", *inner]
    return inner
