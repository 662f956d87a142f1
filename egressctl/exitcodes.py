"""egressctl's one exit-code table: the engine, the CLI and ``--help`` all read it from here.

Scripts and CI jobs act on these numbers (retry, page someone, fail the pipeline), so each code means
exactly one thing and never depends on where it was decided. The table is also what the README and
``egressctl --help`` print (:func:`help_text`, :func:`markdown_table`), so the documentation cannot drift
from the code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of every egressctl command."""

    OK = 0
    ROLLED_BACK = 1
    USAGE = 2
    VERIFY_FAILED = 3
    LOCKED = 4
    PARTIAL = 5
    PLAN_INCOMPLETE = 6
    CHECK_FAILED = 7
    INTERRUPTED = 130


MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.ROLLED_BACK: "operation failed and every device was rolled back",
    ExitCode.USAGE: "usage or input error: option, inventory, file, state dir, credential (nothing changed)",
    ExitCode.VERIFY_FAILED: "verification did not prove the state (a leak, an allowed path blocked, "
                            "unverified packets)",
    ExitCode.LOCKED: "site locked by another operation",
    ExitCode.PARTIAL: "needs attention: a device not changed or rolled back, or sessions a cut could not end",
    ExitCode.PLAN_INCOMPLETE: "plan or --dry-run incomplete: some devices could not be read",
    ExitCode.CHECK_FAILED: "check failed: device unreachable, prerequisite missing, drift, vantage or "
                           "capture point down",
    ExitCode.INTERRUPTED: "interrupted",
}


def help_text() -> str:
    """The table as ``--help`` shows it (``  4    site locked ...``)."""
    return "Exit codes:\n" + "\n".join(f"  {code.value:<4} {MEANING[code]}" for code in ExitCode)


def markdown_table() -> str:
    """The table as the README shows it."""
    rows = [f"| {code.value} | {MEANING[code]} |" for code in ExitCode]
    return "\n".join(["| code | meaning |", "|-----:|---------|", *rows])
