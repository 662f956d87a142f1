"""Credential references and the secrets they resolve to.

An inventory never holds a secret, only a reference: ``env:VAR``, ``file:PATH`` (``{state}`` expands to
egressctl's state directory, ``~`` to the home directory), ``key:PATH`` (an SSH private key, no password)
or ``agent`` (the SSH agent). Resolved secrets are :class:`Secret` objects whose ``repr``/``str`` never show
the value, and every resolved value is remembered so :func:`redact` can scrub it from any text that is about
to reach a log, the journal or the screen.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from egressctl.inventory.models import Device

_REF_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]{0,63}|file:\S{1,4096}|key:\S{1,4096}|agent)$")
_known: set[str] = set()
_lock = threading.Lock()


def validate_reference(ref: str) -> str:
    """Check a credential reference's shape; a bare string is taken for a literal password and refused."""
    if not _REF_RE.fullmatch(ref):
        raise ValueError(
            "literal passwords are not allowed here; use env:VAR, file:PATH, key:PATH or agent"
        )
    return ref


def state_dir() -> Path:
    """Return egressctl's state directory (``EGRESSCTL_STATE_DIR`` or the XDG state home)."""
    env = os.environ.get("EGRESSCTL_STATE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "egressctl"


def expand_path(raw: str) -> Path:
    """Expand ``{state}`` and ``~`` in a path taken from an inventory."""
    return Path(raw.replace("{state}", str(state_dir()))).expanduser()


@dataclass(frozen=True)
class Secret:
    """A resolved credential. Printing it never shows the value."""

    password: str | None = field(default=None, repr=False)
    key_file: str | None = None
    use_agent: bool = False

    def __str__(self) -> str:
        return "Secret(***)"

    __repr__ = __str__


def remember(value: str) -> None:
    """Register a secret value so :func:`redact` scrubs it everywhere."""
    if value:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Replace every known secret value in ``text`` by ``***``."""
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for v in values:
        text = text.replace(v, "***")
    return text


def resolve(ref: str) -> Secret:
    """Resolve a credential reference at connect time.

    Raises:
        KeyError: the variable or file the reference names does not exist.
    """
    validate_reference(ref)
    if ref == "agent":
        return Secret(use_agent=True)
    scheme, _, rest = ref.partition(":")
    if scheme == "env":
        if rest not in os.environ:
            raise KeyError(f"credential {ref}: environment variable {rest} is not set")
        value = os.environ[rest]
    elif scheme == "file":
        path = expand_path(rest)
        if not path.is_file():
            raise KeyError(f"credential {ref}: file {path} does not exist")
        value = path.read_text().rstrip("\n")
    else:
        path = expand_path(rest)
        if not path.is_file():
            raise KeyError(f"credential {ref}: key file {path} does not exist")
        return Secret(key_file=str(path))
    remember(value)
    return Secret(password=value)


def secret_for(device: Device) -> Secret:
    """Resolve ``device``'s credential reference, at connect time (never earlier, never stored).

    The engine's planning reads, the executor's sessions and the test harnesses all connect through this,
    so a device's secret is resolved (and registered for redaction) the same way wherever it is used.

    Raises:
        KeyError: the variable or file the reference names does not exist.
    """
    return resolve(device.credential)
