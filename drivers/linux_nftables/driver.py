"""``LinuxNftablesDriver``: a real Linux firewall over SSH (netmiko ``linux``), root through ``sudo -s``.

Everything egressctl owns is one table, replaced atomically by ``nft -f``. Linux has no native dead-man
switch, so :meth:`commit` arms one on the device itself before applying: the table as it is now (or its
absence) is saved to a rollback file and a detached job (``setsid``) restores it after ``revert_in``
seconds unless :meth:`confirm` kills the job first. The job lives on the device, so it fires even when
the controller dies or loses its management path, which is the whole point.

The kernel forgets every table at a reboot: a confirmed table is saved where the box loads it at boot
(:mod:`.persist`), an unconfirmed one never, so a reboot while the job waits drops it as the job would.
"""

from __future__ import annotations

import base64
import gzip
import logging
import math
import re
import shlex
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.linux_nftables import constants as c
from egressctl_drivers.linux_nftables import persist as p
from egressctl_drivers.linux_nftables import render as r
from egressctl_drivers.linux_nftables import sessions as lsessions
from egressctl_drivers.linux_nftables.parse import ParseError, parse_state
from egressctl_drivers.linux_nftables.preflight import EFFECT
from egressctl_drivers.linux_nftables.preflight import preflight as _preflight

from egressctl.driver import (
    Capability,
    DeviceState,
    NetDescription,
    SafetyNet,
    SessionHandling,
    SessionReport,
)
from egressctl.errors import CommandRejected, CommitError, ConfirmError, DeviceError, RollbackError
from egressctl.inventory.models import Network
from egressctl.policy import Policy

_log = logging.getLogger(__name__)
_RC = re.compile(r"EGRESSCTL-RC=(\d+)")
_TABLE = f"{c.FAMILY} {c.TABLE}"


class LinuxNftablesDriver(NetmikoDriverBase):
    """Linux + nftables; see the module docstring for the safety net."""

    platform: ClassVar[str] = "linux_nftables"
    netmiko_device_type: ClassVar[str] = "linux"
    #: NATIVE_REVERT: the revert job runs on the box itself and fires without the controller (see above);
    #: sessions are conntrack entries, deleted with conntrack-tools.
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.SESSION_KILL,
                                                                  Capability.NATIVE_REVERT}
    safety_net: ClassVar[SafetyNet] = SafetyNet.CONTROLLER_TIMER
    error_patterns: ClassVar[tuple[str, ...]] = c.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    workdir: str = ""
    _candidate: list[str] | None = None
    #: This session saved the table it confirmed (or rolled back to) for the next boot.
    _saved: bool = False

    # ------------------------------------------------------------------ shell
    def prepare(self) -> None:
        """Become root (``sudo -s`` answered with the password) and create the per-namespace workdir."""
        self.conn.enable()
        inode = self.run("stat -L -c %i /proc/self/ns/net").strip().splitlines()[-1].strip()
        if not inode.isdigit():
            raise DeviceError(self.device.name, "cannot identify the network namespace", device_output=inode)
        self.workdir = f"{c.WORKDIR_BASE}/ns{inode}"
        self.run(f"mkdir -p -m 0700 {self.workdir}")

    def run(self, command: str, *, error: type[DeviceError] = CommandRejected) -> str:
        """Run a shell command as root; a non-zero exit status raises ``error`` with the command's output."""
        out = self.send(f"{command}; echo EGRESSCTL-RC=$?", check=False)
        m = _RC.search(out)
        body = _RC.sub("", out).strip()
        if m is None or m.group(1) != "0":
            what = f"command failed: {command[:80]}"
            raise error(self.device.name, what, device_output=body or "(no output)")
        return body

    def path(self, name: str) -> str:
        """Absolute path of a working file on the device."""
        return f"{self.workdir}/{name}"

    def write_file(self, name: str, text: str) -> None:
        """Send ``text`` through the shell: gzip (rulesets are repetitive), base64, chunks below the width."""
        data = base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()
        tmp = self.path(name + ".b64")
        self.run(f": > {tmp}")
        for i in range(0, len(data), c.CHUNK):
            self.run(f"printf %s {shlex.quote(data[i:i + c.CHUNK])} >> {tmp}")
        self.run(f"base64 -d {tmp} | gzip -dc > {self.path(name)} && rm -f {tmp}")

    # -------------------------------------------------------------- contract
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """The ``nft -f`` file taking the device from ``current`` to ``policy`` ([] when already there)."""
        return r.render(self.device, policy, current)

    def read_state(self) -> DeviceState:
        """Parse the owned table (text listing for the marker, JSON for the rules) and the timer state."""
        raw = self.run(
            f"if nft list table {_TABLE} >/dev/null 2>&1; then nft list table {_TABLE}; "
            f"nft -j list table {_TABLE}; else echo {c.ABSENT}; fi"
        )
        try:
            return parse_state(raw, pending=self.has_pending_commit())
        except (ParseError, ValueError, KeyError) as exc:
            raise DeviceError(self.device.name, f"cannot parse the egressctl table: {exc}") from exc

    def snapshot(self) -> str:
        """The whole ruleset of the device, as ``nft list ruleset`` prints it."""
        return self.run("nft list ruleset")

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Write the candidate file to the device and have nft check it (``nft -c``) without applying."""
        self._candidate = self.render(policy, current)
        if not self._candidate:
            return
        self.write_file(c.CANDIDATE, "\n".join(self._candidate) + "\n")
        self.run(f"nft -c -f {self.path(c.CANDIDATE)}")

    def diff(self) -> str:
        """``diff -u`` between the owned table as it is and the candidate table."""
        if not self._candidate:
            return ""
        running, wanted = self.path(c.RUNNING), self.path(c.CANDIDATE + ".table")
        self.run(f"(nft list table {_TABLE} 2>/dev/null || true) > {running}")
        self.run(f"sed '1,2d' {self.path(c.CANDIDATE)} > {wanted}")
        return self.send(f"diff -u {running} {wanted} | tail -n +3", check=False)

    def commit(self, revert_in: int) -> None:
        """Save the rollback file, arm the revert job, then apply the candidate in one transaction."""
        if not self._candidate:
            return
        if self.has_pending_commit():
            raise CommitError(self.device.name, "a commit is already waiting for confirmation")
        rb = self.path(c.ROLLBACK)
        self.run(f"{{ printf 'table {_TABLE}\\ndelete table {_TABLE}\\n'; "
                 f"nft list table {_TABLE} 2>/dev/null || true; }} > {rb}", error=CommitError)
        self._arm(max(1, math.ceil(revert_in)))
        try:
            self.run(f"nft -f {self.path(c.CANDIDATE)}", error=CommitError)
        except CommitError:
            self._disarm()
            raise

    def _arm(self, seconds: int) -> None:
        pid, rb = self.path(c.PIDFILE), self.path(c.ROLLBACK)
        job = f"echo $$ > {pid}; sleep {seconds}; nft -f {rb}; rm -f {pid}"
        detached = f"setsid -f sh -c {shlex.quote(job)} </dev/null >/dev/null 2>&1"
        self.run(f"rm -f {pid}; {detached}", error=CommitError)
        wait = f"for i in $(seq 50); do [ -s {pid} ] && break; sleep 0.1; done; [ -s {pid} ]"
        self.run(wait, error=CommitError)

    def _disarm(self) -> bool:
        """Kill the revert job; True when it was still waiting (so the change had not been reverted)."""
        pid = self.path(c.PIDFILE)
        out = self.run(
            f"if [ -s {pid} ] && kill -0 $(cat {pid}) 2>/dev/null; then kill -TERM -- -$(cat {pid}); "
            f"rm -f {pid}; echo {c.PENDING}; else rm -f {pid}; echo {c.IDLE}; fi"
        )
        return c.PENDING in out

    def confirm(self) -> None:
        """Kill the revert job; ``ConfirmError`` when it already fired (the change was reverted)."""
        try:
            alive = self._disarm()
        except DeviceError as exc:
            raise ConfirmError(self.device.name, "cannot stop the revert job", exc.device_output) from exc
        if not alive:
            raise ConfirmError(
                self.device.name, "no pending commit: the revert job already ran or was never armed"
            )
        try:
            self.save()
        except DeviceError as exc:  # confirmed and live: never undone for this (see ensure_saved)
            _log.warning("%s: confirmed but not saved for the next boot: %s", self.device.name, exc)

    def save(self) -> bool:
        """Make the boot configuration load the table as it is now (:mod:`.persist`); True if it wrote.

        Raises:
            DeviceError: the files could not be written, or the boot configuration no longer loads.
        """
        wrote = p.run_script(self.run, self.write_file, self.workdir, "save") == p.WROTE
        self._saved = True
        return wrote

    def unsaved(self) -> bool:
        """True when what the box would load at boot differs from egressctl's table now (read-only)."""
        return p.run_script(self.run, self.write_file, self.workdir, "check") == p.DIFFERS

    def ensure_saved(self) -> str:
        """Save for the next boot once the box is at its target for good (see ``egressctl.persistence``).

        Never while the revert job waits. Returns a note when it wrote now; raises when it cannot.
        """
        if self._saved or self.has_pending_commit():
            return ""
        return p.SAVED_NOTE if self.save() else ""

    def net_description(self) -> NetDescription:
        """The revert job, and the save that follows the confirm (shown by ``plan`` and ``check``)."""
        return NetDescription(self.safety_net, f"{EFFECT}; {p.PLAN_NOTE}")

    def rollback(self) -> None:
        """Stop the revert job, restore the saved table now, and save that for the next boot.

        After a pending change the boot configuration already holds the table restored (nothing is
        written); after a confirmed one (an all-or-nothing restore taking a device back) it must be written
        again, or a reboot would bring the undone change back.
        """
        try:
            self._disarm()
            rb = self.path(c.ROLLBACK)
            self.run(f"test -s {rb} && nft -f {rb}", error=RollbackError)
        except RollbackError:
            raise
        except DeviceError as exc:
            raise RollbackError(self.device.name, "rollback failed", exc.device_output) from exc
        try:
            self.save()
        except DeviceError as exc:
            raise RollbackError(self.device.name, "rolled back, but the boot configuration could not be "
                                "written: a reboot would bring the change back", exc.device_output) from exc

    def discard(self) -> None:
        """Forget the candidate (nothing was applied)."""
        self._candidate = None
        if self.workdir and self._conn is not None:
            self.run(f"rm -f {self.path(c.CANDIDATE)}")

    def has_pending_commit(self) -> bool:
        """True while the revert job is waiting on the device."""
        pid = self.path(c.PIDFILE)
        out = self.run(f"if [ -s {pid} ] && kill -0 $(cat {pid}) 2>/dev/null; then echo {c.PENDING}; "
                       f"else echo {c.IDLE}; fi")
        return c.PENDING in out

    # -------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """Kept where the box tracks connections, stateless where it does not (see :mod:`.sessions`)."""
        return lsessions.handling(self.run)

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """Delete the conntrack entries from ``inside`` that ``policy`` denies (see :mod:`.sessions`)."""
        return lsessions.clear(self.run, self.device, policy, inside)
