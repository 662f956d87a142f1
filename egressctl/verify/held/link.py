"""A line channel to one running held-session agent: commands in, JSON events out.

The agent runs where the vantage point is, exactly like the probe engine: a lab vantage point through
``exec_prefix(netns)`` + ``python -m egressctl.verify.probe --hold``, a site host over SSH running
``egressctl probe --hold`` (:func:`open_remote`). Unlike a probe run, the conversation is interactive
(the controller says when the change is done, then asks for the report), so a thread reads the agent's
events into a queue as they come and :meth:`Link.next_event` waits on it with a deadline.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from egressctl.errors import VerificationError
from egressctl.inventory.credentials import redact
from egressctl.inventory.models import VantagePoint

ExecPrefix = Callable[[str], list[str]]
AGENT_ARGS = ["-m", "egressctl.verify.probe", "--hold"]
HOLD_ARGS = "probe --hold"


class Link:
    """A running agent (see the module docstring); ``end`` is why its output ended, once it has."""

    def __init__(self, write: Callable[[str], None], lines: Iterable[str], stop: Callable[[], None],
                 why_ended: Callable[[], str]) -> None:
        self._write, self._stop, self._why = write, stop, why_ended
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.end: str | None = None
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()

    def _read(self, lines: Iterable[str]) -> None:
        try:
            for line in lines:
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(doc, dict):
                    self._events.put(doc)
        except (OSError, ValueError):
            pass  # a closed pipe or channel ends the stream like EOF
        self._events.put(None)

    def send(self, line: str) -> None:
        """Write one command line; never raises (a dead agent's output ends, and says why, in time)."""
        with contextlib.suppress(OSError, ValueError):
            self._write(line.rstrip("\n") + "\n")

    def next_event(self, kind: str, until: float) -> dict[str, Any] | None:
        """The next event of ``kind`` before monotonic ``until`` (None: timed out or the agent ended)."""
        while self.end is None and (left := until - time.monotonic()) > 0:
            try:
                event = self._events.get(timeout=left)
            except queue.Empty:
                return None
            if event is None:
                self.end = redact(self._why()) or "agent ended"
                return None
            if event.get("event") == "error":
                self.end = redact(str(event.get("error")))
                return None
            if event.get("event") == kind:
                return event
        return None

    def close(self) -> None:
        """End the agent (closing its stdin is enough; killed if it lingers)."""
        self._stop()


def open_local(argv_prefix: list[str]) -> Link:
    """The agent as a child process (in a namespace through ``argv_prefix``)."""
    proc = subprocess.Popen([*argv_prefix, sys.executable, *AGENT_ARGS], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin, stderr = proc.stdin, proc.stderr

    def write(line: str) -> None:
        stdin.write(line)
        stdin.flush()

    def stop() -> None:
        try:
            stdin.close()
            proc.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5)

    def why() -> str:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "agent closed its output but did not exit"
        return f"agent exited {code}: {stderr.read().strip()[-300:]}" if code else "agent ended"

    return Link(write, proc.stdout, stop, why)


def open_remote(vp: VantagePoint, timeout: float = 10.0) -> Link:
    """The agent on a site host over SSH (the probe's own login path), as ``egressctl probe --hold``.

    Raises:
        VerificationError: the vantage point cannot be reached or logged in to.
    """
    from egressctl.verify.probe import ssh as probe_ssh

    client, tunnel = probe_ssh._connect(vp, probe_ssh._secret(vp), timeout)
    try:
        chan = client.get_transport().open_session()
        chan.exec_command(f"{vp.egressctl_command or 'egressctl'} {HOLD_ARGS}")
    except Exception as exc:
        client.close()
        tunnel.close()
        raise VerificationError(f"vantage point {vp.name}: {redact(str(exc))}") from None
    stdin, stdout = chan.makefile_stdin("wb"), chan.makefile("r")

    def write(line: str) -> None:
        stdin.write(line.encode())
        stdin.flush()

    def stop() -> None:
        chan.close()
        client.close()
        tunnel.close()

    def why() -> str:
        status = chan.recv_exit_status() if chan.exit_status_ready() else None
        err = chan.recv_stderr(4096).decode(errors="replace").strip() if chan.recv_stderr_ready() else ""
        return f"agent exited {status}: {err[-300:]}" if status else "agent ended"

    return Link(write, (line.decode(errors="replace") if isinstance(line, bytes) else line
                        for line in stdout), stop, why)
