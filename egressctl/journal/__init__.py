"""The journal: a durable, hash-chained record of every operation, step, snapshot and verification."""

from egressctl.journal.audit import ChainCheck, JournalEntry
from egressctl.journal.lock import LockInfo, this_owner
from egressctl.journal.store import Journal, OperationRecord, StepRecord

__all__ = ["ChainCheck", "Journal", "JournalEntry", "LockInfo", "OperationRecord", "StepRecord", "this_owner"]
