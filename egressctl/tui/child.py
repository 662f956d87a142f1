"""Run the engine's own CLI in a child process and stream its JSON lines back to the TUI.

Operations, active verification and the leak watch all run this way. Why a child and not a thread: an
operation is Python CPU work (five SSH sessions, diffs, the probe matrix) and a thread shares the
interpreter lock with the screen. Measured on the lab with the operation in a thread
(tests/egressctl/tui/test_tui_lab.py): a cursor key was handled at once but its repaint waited p95 85-215 ms,
max 0.9 s. In a child the UI keeps the interpreter to itself, and the operation runs exactly as
``egressctl isolate --yes --json`` does: same journal, same site lock, same Ctrl-C semantics (stop before
the next commit, let the devices in flight confirm or roll back). The child has its own session, so a
closed terminal does not cut an operation in half: it finishes and journals, and ``egressctl status``
explains it. The watch child (and its capture agents, same process group) is stopped when the TUI quits.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from egressctl.inventory.credentials import redact

Doc = dict[str, Any]


class EngineProcess:
    """Builds ``egressctl`` command lines for one inventory/state directory and runs them."""

    def __init__(self, inventory: Path, state_dir: Path | None) -> None:
        self.inventory = inventory
        self.state_dir = state_dir
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def argv(self, *args: str) -> list[str]:
        """The command line (never a secret: the inventory holds credential references only)."""
        state = ["--state-dir", str(self.state_dir)] if self.state_dir else []
        # Where the kernel groups processes by session (autogroup, as on the lab machine) this nice value
        # only ranks the child against its own session, which setsid gives it: it does not put it behind
        # the screen. The screen is put ahead instead (egressctl.tui.priority), leaving the operation's
        # weight against the rest of the machine as it was.
        nice = ["nice", "-n", "5"] if shutil.which("nice") else []
        return [*nice, sys.executable, "-m", "egressctl.cli.main", "-i", str(self.inventory), *state, *args]

    def run(self, args: list[str], on_doc: Callable[[Doc], None]) -> tuple[int, str]:
        """Run ``egressctl ARGS``; every JSON line goes to ``on_doc``. Returns (exit code, stderr tail)."""
        proc = subprocess.Popen(
            self.argv(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        with self._lock:
            self._proc = proc
        err: list[str] = []
        reader = threading.Thread(target=lambda: err.extend(proc.stderr or []), daemon=True)
        reader.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(doc, dict):
                    on_doc(doc)
            code = proc.wait()
        finally:
            with self._lock:
                self._proc = None
        reader.join(timeout=5)
        return code, redact("".join(err).strip())[-600:]

    def running(self) -> bool:
        """True while a child started by :meth:`run` has not exited."""
        with self._lock:
            proc = self._proc
        return proc is not None and proc.poll() is None

    def stop(self) -> bool:
        """Terminate the running child and everything it started (its own process group)."""
        with self._lock:
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        return True

    def interrupt(self) -> bool:
        """Ctrl-C the running child (stop before the next commit). False when nothing runs."""
        with self._lock:
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGINT)
        return True
