"""egressctl's one error tree.

Every failure a caller can act on is one of these, so front ends map them to exit codes in one place and
library users catch one root. Lower-level errors (netmiko, paramiko, sqlite, OS) are translated at the
boundary where they happen (``raise DeviceError(...) from exc``), never leaked raw.

    EgressError
    ├── InventoryError        bad inventory input; carries a list of InventoryProblem (file, line, field)
    ├── InputError            something named by the operator cannot be used (nothing was touched)
    │   ├── CredentialError   a credential reference does not resolve (unset variable, missing file)
    │   └── StateDirError     the state directory cannot be created, is not a directory, or is read-only
    │       └── JournalUnusable   the journal cannot be opened or written (disk full, read-only, locked)
    ├── PolicyError           a neutral policy cannot be computed (unknown stage, ...)
    ├── PlanError             a device cannot express the policy (capability gaps); nothing was touched
    ├── JournalError          the journal cannot be read or written (JournalUnusable is one too)
    │   └── SiteLocked        another operation holds the site's lock
    ├── VerificationError     a verification could not run (not: "it ran and found a leak")
    └── DeviceError           anything on one device; always carries .device
        ├── ConnectError
        │   ├── AuthError
        │   └── HostKeyMismatch
        ├── DeviceTimeout
        ├── CommandRejected   the device refused a line; .device_output holds its own error text
        ├── CommitError
        ├── ConfirmError
        └── RollbackError
"""

from __future__ import annotations

from dataclasses import dataclass


class EgressError(Exception):
    """Root of every error egressctl raises on purpose."""


@dataclass(frozen=True)
class InventoryProblem:
    """One problem in an inventory file, located precisely enough to fix it without searching."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class InventoryError(EgressError):
    """The inventory is invalid; ``problems`` lists every problem found, one per line when printed."""

    def __init__(self, problems: list[InventoryProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InputError(EgressError):
    """A file, directory or credential the operator named cannot be used; nothing was touched.

    Separate from :class:`InventoryError` (which locates problems inside the inventory file) because these
    are found outside it: a ``--pcap`` file that is not a capture, an unwritable ``--junit`` path, an
    environment variable that is not set. Scripts get the usage exit code (2) for all of them, never the
    "verification failed" or "needs attention" codes a real outcome would give.
    """


class CredentialError(InputError):
    """A device's or vantage point's credential reference cannot be resolved (before anything is sent)."""


class StateDirError(InputError):
    """The state directory (``--state-dir``, ``$EGRESSCTL_STATE_DIR``) cannot hold the journal."""


class PolicyError(EgressError):
    """A neutral policy cannot be computed for the requested target."""


class PlanError(EgressError):
    """The plan is refused before any device is touched; ``gaps`` names every inexpressible item."""

    def __init__(self, gaps: list[str]) -> None:
        self.gaps = gaps
        super().__init__("plan refused:\n" + "\n".join(f"  {g}" for g in gaps))


class JournalError(EgressError):
    """The journal cannot be opened, read or written."""


class SiteLocked(JournalError):
    """Another operation holds the site's lock."""

    def __init__(self, site: str, owner: str, expires: str) -> None:
        self.site = site
        self.owner = owner
        self.expires = expires
        super().__init__(f"site {site!r} is locked by {owner} until {expires} (use --force-unlock if stale)")


class JournalUnusable(StateDirError, JournalError):
    """The journal cannot be opened or written before an operation: nothing was sent to any device.

    A usage error (exit 2) like any unusable state directory, and a :class:`JournalError` too, so callers
    catching journal failures still see it.
    """


class VerificationError(EgressError):
    """A verification could not run at all (distinct from a verification that found leaks)."""


class DeviceError(EgressError):
    """A failure on one device. ``device`` names it; ``device_output`` keeps the device's own words."""

    def __init__(self, device: str, message: str, device_output: str | None = None) -> None:
        self.device = device
        self.device_output = device_output
        text = f"{device}: {message}"
        if device_output:
            text += f": {device_output.strip()}"
        super().__init__(text)


class ConnectError(DeviceError):
    """The device could not be reached or the SSH session could not be set up."""


class AuthError(ConnectError):
    """The device refused the credentials."""


class HostKeyMismatch(ConnectError):
    """The device's SSH host key is not the one pinned in the inventory."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class CommandRejected(DeviceError):
    """The device refused a configuration or command line with its own error text."""


class CommitError(DeviceError):
    """The device refused or failed the commit."""


class ConfirmError(DeviceError):
    """The pending (dead-man) commit could not be confirmed."""


class RollbackError(DeviceError):
    """The device could not be returned to its snapshot. Needs an operator."""
