"""Turning a personality's compiled ruleset into real nftables rules in the device's namespace.

Each emulator process owns exactly one table, ``inet egressctl_emu``, in its namespace. A personality
compiles its *effective* configuration into the full text of that table (use :func:`table` to wrap the
chains); :meth:`NftDataPlane.apply` replaces the table atomically in one ``nft -f -`` transaction, so
traffic never sees a half-applied configuration. Failures are logged and never crash the SSH server:
a device whose data plane failed must still answer its CLI, as a real box would.
"""

from __future__ import annotations

import subprocess
import sys

from egressctl_lab.emu.sessions import ConntrackTable, MemoryTable, SessionTable

FAMILY = "inet"
TABLE = "egressctl_emu"
QUALIFIED = f"{FAMILY} {TABLE}"


def table(body: str) -> str:
    """Wrap chain definitions into the emulator's table (the text personalities return from ``ruleset``)."""
    return f"table {QUALIFIED} {{\n{body.rstrip()}\n}}\n"


def replace_script(ruleset: str) -> str:
    """The ``nft -f`` script that atomically replaces the table by ``ruleset``.

    ``table X`` first creates the table when it is missing, so the ``delete`` never fails; the three
    statements form one transaction.
    """
    return f"table {QUALIFIED}\ndelete table {QUALIFIED}\n{ruleset}"


def _log(message: str) -> None:
    print(f"egressctl-emu: {message}", file=sys.stderr, flush=True)


class NftDataPlane:
    """Enforces rulesets with the real ``nft`` binary in the current network namespace."""

    def __init__(self, nft: str = "nft", timeout: float = 10.0, sessions: SessionTable | None = None) -> None:
        self._nft = nft
        self._timeout = timeout
        # The session table is conntrack of *this* namespace, which is the device's only when nft runs here
        # too; behind an nft wrapper (another namespace) the caller must say where the sessions are.
        self.sessions: SessionTable = sessions or (ConntrackTable() if nft == "nft" else MemoryTable())
        self.last: str | None = None
        self.failures = 0

    def apply(self, nft_ruleset: str) -> None:
        """Atomically replace table ``inet egressctl_emu``; log (never raise) on failure."""
        error = self._run(["-f", "-"], replace_script(nft_ruleset))
        if error is None:
            self.last = nft_ruleset
        else:
            self.failures += 1
            _log(f"nft apply failed: {error}")

    def remove(self) -> None:
        """Delete the emulator's table (on exit); a missing table is not an error."""
        self._run(["-f", "-"], f"table {QUALIFIED}\ndelete table {QUALIFIED}\n")

    def _run(self, args: list[str], script: str) -> str | None:
        try:
            done = subprocess.run(
                [self._nft, *args], input=script, capture_output=True, text=True,
                timeout=self._timeout, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if done.returncode == 0 else done.stderr.strip()[:2000]


class NullDataPlane:
    """No data plane: records the rulesets it is given instead of enforcing them.

    Used for CLI-level tests without namespaces (``serve_in_thread(..., dataplane=None)``) and unit tests.
    """

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.sessions: MemoryTable = MemoryTable()

    @property
    def last(self) -> str | None:
        """The most recent ruleset, or None."""
        return self.applied[-1] if self.applied else None

    def apply(self, nft_ruleset: str) -> None:
        """Remember ``nft_ruleset``."""
        self.applied.append(nft_ruleset)

    def remove(self) -> None:
        """Nothing to remove."""


def check(ruleset: str, nft: str = "nft") -> str | None:
    """Validate ``ruleset`` with ``nft -c`` (no change to the kernel); returns the error text or None."""
    try:
        done = subprocess.run(
            [nft, "-c", "-f", "-"], input=replace_script(ruleset), capture_output=True, text=True,
            timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if done.returncode == 0 else done.stderr.strip()
