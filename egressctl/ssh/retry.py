"""One retry, with a pause, for a connection that failed for a reason that may pass.

A dropped TCP connection, a reset during the key exchange or a time-out while a jump host or a device is
busy often succeeds a second later; retrying once saves an operator a whole re-run at 3 a.m. An
authentication failure or a host key that is not the pinned one never changes by waiting, and retrying
them would only send the credentials again or hammer a host that may be an impostor, so they fail at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from egressctl.errors import AuthError, ConnectError, DeviceTimeout, HostKeyMismatch
from egressctl.inventory.credentials import redact

T = TypeVar("T")
#: Seconds to wait before the one retry.
BACKOFF = 2.0
log = logging.getLogger("egressctl.ssh")


def is_transient(exc: BaseException) -> bool:
    """Whether a connect failure may pass: a connection or time-out error, never auth or host key."""
    return isinstance(exc, ConnectError | DeviceTimeout) and not isinstance(exc, AuthError | HostKeyMismatch)


def retry_once(attempt: Callable[[], T], *, backoff: float = BACKOFF,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``attempt``; after a transient failure wait ``backoff`` seconds and run it once more."""
    try:
        return attempt()
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("%s; retrying once in %g s", redact(str(exc)), backoff)
    sleep(backoff)
    return attempt()
