"""One operator line for any error: what the journal, events and results say when something failed.

Kept beside :mod:`egressctl.errors` (which stays free of imports, at the bottom of the package) because it
needs :func:`~egressctl.inventory.credentials.redact`: an error text can quote a device's output or a
command line, and a secret must never reach the journal through it. The engine, the executor and every
front end use this one function, so an error reads the same wherever it is shown.
"""

from __future__ import annotations

from egressctl.errors import EgressError
from egressctl.inventory.credentials import redact

MAX_CHARS = 500


def describe(exc: BaseException) -> str:
    """One-line, redacted description of an error (no traceback, no secrets).

    egressctl's own errors are written for operators and are shown as they are; anything else is a
    library's or a bug's, so its type name is kept to tell the two apart.
    """
    text = str(exc) if isinstance(exc, EgressError) else f"{type(exc).__name__}: {exc}"
    return redact(" ".join(text.split()))[:MAX_CHARS]
