"""The journal: a durable, hash-chained record of every operation, step, snapshot and verification.

The names below are imported from their modules on first use (PEP 562), not when the package is:
``verify --pcap`` reads a site's state through :mod:`egressctl.journal.db` alone, and the rest (the audit
chain, locks, the store with its event types) is a fifth of that command's start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egressctl.journal.audit import ChainCheck, JournalEntry
    from egressctl.journal.lock import LockInfo, this_owner
    from egressctl.journal.store import Journal, OperationRecord, StepRecord

__all__ = ["ChainCheck", "Journal", "JournalEntry", "LockInfo", "OperationRecord", "StepRecord", "this_owner"]

#: The submodule that defines each exported name.
_HOME = {
    **dict.fromkeys(("ChainCheck", "JournalEntry"), "audit"),
    **dict.fromkeys(("LockInfo", "this_owner"), "lock"),
    **dict.fromkeys(("Journal", "OperationRecord", "StepRecord"), "store"),
}

if not TYPE_CHECKING:  # type checkers see the imports above, and an unknown name stays an error for them

    def __getattr__(name: str) -> Any:
        """Import an exported name's submodule when the name is first read, and keep the name here."""
        home = _HOME.get(name)
        if home is None:  # also how ``from egressctl.journal import store`` finds a submodule
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value
        return value
