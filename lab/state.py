"""Where a lab keeps its state, and the pid bookkeeping that makes ``lab down`` thorough.

Layout under ``{state}/lab/``: ``secret`` (the one lab password, 0600, kept across runs), ``lab.json``
(what is up: mode, keeper pid, nodes, devices), ``inventory.yaml`` (the effective inventory when it
differs from the input) and ``run/`` (0700: spec files, host keys, logs, and one pid file per process the
lab started). Pid files record the process start time as well, so a sweep after a crash never kills an
unrelated process that happens to reuse a pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl_lab.errors import LabError

from egressctl.inventory.credentials import state_dir as default_state_dir


@dataclass(frozen=True)
class LabPaths:
    """Every path a lab instance uses, derived from one state directory."""

    state: Path

    @property
    def root(self) -> Path:
        """``{state}/lab``."""
        return self.state / "lab"

    @property
    def secret(self) -> Path:
        """The lab password file."""
        return self.root / "secret"

    @property
    def lab_json(self) -> Path:
        """The document describing the lab that is up."""
        return self.root / "lab.json"

    @property
    def inventory(self) -> Path:
        """The effective inventory (written only when it differs from the input)."""
        return self.root / "inventory.yaml"

    @property
    def run(self) -> Path:
        """Per-run files: specs, keys, logs, pid files."""
        return self.root / "run"

    @property
    def pids(self) -> Path:
        """One ``NAME.pid`` file per process the lab started."""
        return self.run / "pids"


def paths(state: Path | None = None) -> LabPaths:
    """The lab paths for ``state`` (default: egressctl's state directory)."""
    return LabPaths(Path(state) if state is not None else default_state_dir())


def ensure_secret(p: LabPaths) -> str:
    """Return the lab password, creating it (random, 0600) on first use.

    Raises:
        LabError: the state directory cannot be created (a user without a writable home, such as
            ``nobody``, has no usable default: the message says how to choose one).
    """
    try:
        p.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise LabError(f"cannot create the lab's state directory {p.root} ({exc.strerror}); choose one with "
                       "--state-dir or EGRESSCTL_STATE_DIR") from None
    if p.secret.is_file():
        value = p.secret.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(18)
    fd = os.open(p.secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to a new 0600 file (specs carry the lab password)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


def read_lab_json(p: LabPaths) -> dict[str, Any] | None:
    """The lab document, or None when no lab was recorded."""
    try:
        data = json.loads(p.lab_json.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_lab_json(p: LabPaths, doc: dict[str, Any]) -> None:
    """Atomically replace the lab document."""
    tmp = p.lab_json.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tmp.replace(p.lab_json)


def keeper_alive(doc: dict[str, Any]) -> bool:
    """Whether the keeper a lab document names is still that process (pid and start time match)."""
    pid = doc.get("keeper_pid")
    return isinstance(pid, int) and alive(pid) and start_time(pid) == doc.get("keeper_start")


def start_time(pid: int) -> int | None:
    """Kernel start time (clock ticks since boot) of ``pid``, or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def record_pid(p: LabPaths, name: str, pid: int) -> None:
    """Remember that the lab started ``pid`` (a process group leader) under ``name``."""
    p.pids.mkdir(parents=True, exist_ok=True, mode=0o700)
    (p.pids / f"{name}.pid").write_text(f"{pid} {start_time(pid) or 0}\n")


def recorded_pids(p: LabPaths) -> dict[str, int]:
    """Recorded processes that are still the same process (pid and start time match)."""
    alive: dict[str, int] = {}
    for f in sorted(p.pids.glob("*.pid")) if p.pids.is_dir() else []:
        try:
            pid_s, start_s = f.read_text().split()
            pid, start = int(pid_s), int(start_s)
        except ValueError:
            continue
        if start_time(pid) == start:
            alive[f.stem] = pid
    return alive


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return state != "Z"


def _signal(pid: int, sig: int) -> None:
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(pid, sig)


def kill_groups(pids: list[int], *, grace: float = 3.0) -> None:
    """SIGTERM the process groups led by ``pids`` together, SIGKILL what is left after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 1.0)):
        for pid in pids:
            _signal(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            pids = [p for p in pids if alive(p)]
            if not pids:
                return
            time.sleep(0.02)


def kill_group(pid: int, *, grace: float = 3.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after ``grace`` seconds."""
    kill_groups([pid], grace=grace)
