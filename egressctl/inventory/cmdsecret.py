"""``cmd:`` credential references: a secret read from a command's standard output.

This is how a password manager, a vault or a keyring CLI plugs in (``cmd:pass show chn/fgt``, ``cmd:vault
kv get -field=password secret/chn/fgt``, ``cmd:op read op://chn/fgt/password``, ``cmd:secret-tool lookup
service egressctl host fgt``) without egressctl linking any of them. The command line is split with
:func:`shlex.split` and run without a shell, so nothing in it is interpreted twice; ``{state}`` and a
leading ``~`` expand in every word as in ``file:``. It must print the secret on its first line and exit 0
within :data:`TIMEOUT` seconds. Its standard error is discarded and its output never appears in a message:
a failure names the reference and what went wrong (not found, status, time-out, nothing printed) only.

A command runs once per reference and process: its answer is kept in memory (like every resolved secret,
which is also remembered for redaction) so a run that opens several sessions does not ask a password
manager, or the operator at its prompt, again for every device and every fresh management check.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
from pathlib import Path

#: Seconds a ``cmd:`` command may take before it is killed (with everything it started).
TIMEOUT = 10.0
_cache: dict[str, str] = {}
_lock = threading.Lock()


def split(command: str) -> list[str]:
    """The argv of a ``cmd:`` reference's command line.

    Raises:
        ValueError: unbalanced quotes, or no command at all.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"cmd: command line cannot be split ({exc})") from None
    if not argv:
        raise ValueError("cmd: needs a command, e.g. cmd:pass show site/firewall")
    return argv


def _expand(word: str, state: Path) -> str:
    word = word.replace("{state}", str(state))
    return str(Path(word).expanduser()) if word.startswith("~") else word


def _run(ref: str, argv: list[str], timeout: float) -> str:
    """Run ``argv`` and return the first line of its output, stripped (KeyError on any failure)."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise KeyError(f"credential {ref}: cannot run {argv[0]} ({why})") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Its own session: the whole group goes, so a helper it started cannot keep the pipe open.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise KeyError(f"credential {ref}: the command did not finish within {timeout:g} s") from None
    if proc.returncode != 0:
        raise KeyError(f"credential {ref}: the command exited with status {proc.returncode}")
    lines = out.decode("utf-8", errors="replace").splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise KeyError(f"credential {ref}: the command printed no secret on its first line")
    return value


def run(ref: str, command: str, state: Path, timeout: float | None = None) -> str:
    """The secret ``command`` prints (once per ``ref`` and process; later calls reuse the answer).

    ``timeout`` defaults to :data:`TIMEOUT`, read at call time.

    Raises:
        KeyError: the command cannot be split or run, fails, times out or prints nothing.
    """
    with _lock:
        if ref in _cache:
            return _cache[ref]
        try:
            argv = [_expand(w, state) for w in split(command)]
        except ValueError as exc:
            raise KeyError(f"credential {ref}: {exc}") from None
        value = _run(ref, argv, TIMEOUT if timeout is None else timeout)
        _cache[ref] = value
        return value


def forget() -> None:
    """Drop every kept answer (tests; a long-lived process whose vault rotated a password)."""
    with _lock:
        _cache.clear()
