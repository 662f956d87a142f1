"""Credential references and the secrets they resolve to.

An inventory never holds a secret, only a reference: ``env:VAR``, ``file:PATH`` (``{state}`` expands to
egressctl's state directory, ``~`` to the home directory), ``cmd:COMMAND`` (the first line a command prints:
a password manager, vault or keyring CLI; see ``cmdsecret.py``), ``key:PATH`` (an SSH private key) or
``agent`` (the SSH agent). An enable secret and a key passphrase are references too, of the kinds that hold a
value (``env:``, ``file:``, ``cmd:``). Resolved secrets are :class:`Secret` objects whose ``repr``/``str``
never show a value, and every resolved value is remembered so :func:`redact` can scrub it from any text
that is about to reach a log, the journal or the screen.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from egressctl.inventory import cmdsecret

if TYPE_CHECKING:
    from egressctl.inventory.access import JumpHost
    from egressctl.inventory.models import Device, VantagePoint

_VALUE_RE = r"env:[A-Za-z_][A-Za-z0-9_]{0,63}|file:\S{1,4096}|cmd:\S.{0,4095}"
_REF_RE = re.compile(rf"^({_VALUE_RE}|key:\S{{1,4096}}|agent)$")
_VALUE_REF_RE = re.compile(rf"^({_VALUE_RE})$")
_known: set[str] = set()
_lock = threading.Lock()


def _check_command(ref: str) -> str:
    if ref.startswith("cmd:"):
        cmdsecret.split(ref.removeprefix("cmd:"))
    return ref


def validate_reference(ref: str) -> str:
    """Check a credential reference's shape; a bare string is taken for a literal password and refused."""
    if not _REF_RE.fullmatch(ref):
        raise ValueError(
            "literal passwords are not allowed here; use env:VAR, file:PATH, cmd:COMMAND, key:PATH or agent"
        )
    return _check_command(ref)


def validate_value_reference(ref: str) -> str:
    """Check a reference that must yield a value (enable secret, key passphrase): env:, file: or cmd:."""
    if not _VALUE_REF_RE.fullmatch(ref):
        raise ValueError("literal secrets are not allowed here; use env:VAR, file:PATH or cmd:COMMAND")
    return _check_command(ref)


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
    """A resolved credential. Printing it never shows a value.

    ``enable`` is the separate enable (or sudo) secret when the inventory names one; ``passphrase``
    decrypts ``key_file`` or the ssh_config IdentityFile.
    """

    password: str | None = field(default=None, repr=False)
    key_file: str | None = None
    use_agent: bool = False
    enable: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    @property
    def enable_secret(self) -> str:
        """The secret answering ``enable``/``sudo``: the enable secret if given, else the login password."""
        return self.enable if self.enable is not None else (self.password or "")

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


def resolve_value(ref: str) -> str:
    """The value an ``env:``, ``file:`` or ``cmd:`` reference names (remembered for redaction).

    Raises:
        KeyError: the variable or file does not exist, or the command fails.
    """
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
    elif scheme == "cmd":
        value = cmdsecret.run(ref, rest, state_dir())
    else:
        raise KeyError(f"credential {ref}: not a reference to a value (env:, file: or cmd:)")
    remember(value)
    return value


def resolve(ref: str) -> Secret:
    """Resolve a credential reference at connect time.

    Raises:
        KeyError: the variable or file the reference names does not exist, or its command fails.
    """
    validate_reference(ref)
    if ref == "agent":
        return Secret(use_agent=True)
    if ref.startswith("key:"):
        path = expand_path(ref.removeprefix("key:"))
        if not path.is_file():
            raise KeyError(f"credential {ref}: key file {path} does not exist")
        return Secret(key_file=str(path))
    return Secret(password=resolve_value(ref))


def _with_extras(secret: Secret, enable: str | None, passphrase: str | None) -> Secret:
    return replace(secret, enable=resolve_value(enable) if enable else None,
                   passphrase=resolve_value(passphrase) if passphrase else None)


def secret_for(device: Device) -> Secret:
    """Resolve ``device``'s credential, enable secret and key passphrase, at connect time (never stored).

    The engine's planning reads, the executor's sessions and the test harnesses all connect through this,
    so a device's secrets are resolved (and registered for redaction) the same way wherever it is used.

    Raises:
        KeyError: a variable or file a reference names does not exist, or a command fails.
    """
    return _with_extras(resolve(device.credential), device.enable_secret, device.key_passphrase)


def secret_for_jump(jump: JumpHost) -> Secret:
    """A jump host's secrets; without a credential, the SSH agent (and ssh_config's IdentityFile).

    Raises:
        KeyError: a variable or file a reference names does not exist, or a command fails.
    """
    base = resolve(jump.credential) if jump.credential else Secret(use_agent=True)
    return _with_extras(base, None, jump.key_passphrase)


def secret_for_vantage(vp: VantagePoint) -> Secret | None:
    """A vantage point's secrets, or None when it names no credential (default keys and agent).

    Raises:
        KeyError: a variable or file a reference names does not exist, or a command fails.
    """
    if vp.credential is None:
        return Secret(passphrase=resolve_value(vp.key_passphrase)) if vp.key_passphrase else None
    return _with_extras(resolve(vp.credential), None, vp.key_passphrase)


def references(device: Device) -> Iterator[tuple[str, str]]:
    """Every ``(field, reference)`` a session to ``device`` may resolve, its jump hosts' included."""
    yield "credential", device.credential
    for name in ("enable_secret", "key_passphrase"):
        ref = getattr(device, name)
        if ref:
            yield name, ref
    yield from _jump_references(device.site_ssh.jump_hosts)


def vantage_references(vp: VantagePoint) -> Iterator[tuple[str, str]]:
    """Every ``(field, reference)`` an SSH login to vantage point ``vp`` may resolve."""
    for name in ("credential", "key_passphrase"):
        ref = getattr(vp, name)
        if ref:
            yield name, ref
    yield from _jump_references(vp.site_ssh.jump_hosts)


def _jump_references(jumps: tuple[JumpHost, ...]) -> Iterator[tuple[str, str]]:
    for jump in jumps:
        for name in ("credential", "key_passphrase"):
            ref = getattr(jump, name)
            if ref:
                yield f"jump host {jump.name} {name}", ref
