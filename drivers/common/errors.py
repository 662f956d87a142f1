"""Translate netmiko, paramiko and socket failures into egressctl's error tree at the driver boundary.

netmiko folds most connection failures into ``NetmikoTimeoutException`` (a paramiko ``SSHException``) and
keeps the real cause only as the implicit exception context, so a host-key mismatch and a refused TCP
connection look alike at the top. This module walks the exception chain to tell them apart, because the
operator's next step differs completely (a key mismatch may be an attack; a refused port is a typo).
Every message is passed through :func:`egressctl.inventory.credentials.redact` before it leaves.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import paramiko
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

from egressctl.errors import (
    AuthError,
    CommandRejected,
    ConnectError,
    DeviceError,
    DeviceTimeout,
    HostKeyMismatch,
)
from egressctl.inventory.credentials import redact

_HOSTKEY_TEXT = re.compile(r"does not match|not found in known_hosts|BadHostKey", re.I)
_REJECTED = re.compile(r"Invalid input detected at command: (?P<cmd>.*), matched error: (?P<err>.*)", re.S)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield ``exc`` and every exception it was raised from or while handling (bounded)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen and len(seen) < 16:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return redact(text[:300])


def translate(device: str, exc: BaseException, action: str) -> DeviceError:
    """Return the egressctl error for a lower-level exception raised during ``action`` on ``device``."""
    chain = list(_chain(exc))
    if any(isinstance(e, paramiko.BadHostKeyException) for e in chain) or any(
        isinstance(e, paramiko.SSHException) and _HOSTKEY_TEXT.search(str(e)) for e in chain
    ):
        return HostKeyMismatch(device, f"SSH host key is not the pinned one ({action}): {_first_line(exc)}")
    if any(isinstance(e, NetmikoAuthenticationException | paramiko.AuthenticationException) for e in chain):
        return AuthError(device, f"authentication refused ({action})")
    if isinstance(exc, ConfigInvalidException):
        m = _REJECTED.search(str(exc))
        cmd, err = (m.group("cmd"), m.group("err")) if m else ("?", str(exc))
        return CommandRejected(device, f"line rejected: {redact(cmd)}", device_output=redact(err))
    if any(isinstance(e, ReadTimeout | socket.timeout | TimeoutError) for e in chain):
        return DeviceTimeout(device, f"no answer in time ({action}): {_first_line(exc)}")
    if isinstance(exc, NetmikoTimeoutException) and "Timed out" in str(exc):
        return DeviceTimeout(device, f"no answer in time ({action}): {_first_line(exc)}")
    return ConnectError(device, f"{action} failed: {type(exc).__name__}: {_first_line(exc)}")


@contextmanager
def map_netmiko_errors(device: str, action: str = "session") -> Iterator[None]:
    """Run a block, turning netmiko/paramiko/socket exceptions into egressctl ``DeviceError`` subclasses.

    ``DeviceError`` raised inside passes through untouched. The original exception stays chained
    (``raise ... from``) for debugging; its text is redacted in the new message.
    """
    try:
        yield
    except DeviceError:
        raise
    except (
        paramiko.SSHException,
        NetmikoTimeoutException,
        NetmikoAuthenticationException,
        ReadException,
        ConfigInvalidException,
        OSError,
        EOFError,
    ) as exc:
        raise translate(device, exc, action) from exc
