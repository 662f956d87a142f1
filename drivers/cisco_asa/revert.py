"""The ASA revert job: undo an unconfirmed change from a second host, with no controller (pure text here).

The ASA has no dead-man switch (no commit, no timer; ``reload in`` would reboot the firewall and drop every
connection). So, with the device option ``revert_host: NAME`` (a jump host of the site, as for PAN-OS), the
driver arms a job there *before* the first line of the change: ``revert_in`` seconds later, unless the
confirm removed its ``armed`` file, it logs in to the ASA (management address, ``revert_port``, pinned key),
reaches privileged EXEC with ``login`` (the same local user and password), and types the undo lines the
driver computed from the read-back before the change (:func:`egressctl_drivers.cisco_asa.render.undo`) in
``configure terminal``; it reports ``fired-ok`` unless the ASA refused a line (a group that is already
gone, ``not found``, is no refusal). Nothing is rebooted, no connection is dropped, nothing is saved (the
startup configuration still holds the last confirmed state).

The host side (private directory, ``askpass``, detached start, disarm, state) is shared by every platform
(:mod:`egressctl_drivers.common.revertjob`, :mod:`egressctl_drivers.common.reverthost`); only the script
differs.
"""

from __future__ import annotations

import shlex

from egressctl_drivers.common import revertjob as J
from egressctl_drivers.common.reverthost import RevertHost

from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device

#: What the job checks in the transcript: the session reached the end without a refused line.
DONE = "egressctl-revert-done"


def job_script(device: Device, delay: int, port: int) -> str:
    """The job: wait, then (still armed) log in, ``login`` to privilege 15 and type the ``undo`` file."""
    host, user = str(device.mgmt_address), device.username
    feed = f"""  sleep 2; printf 'login\\n'
  sleep 1; printf '%s\\n' {shlex.quote(user)}
  sleep 1; cat "$d/secret"; printf '\\n'
  sleep 1; printf 'terminal pager 0\\nconfigure terminal\\n'
  while IFS= read -r line; do printf '%s\\n' "$line"; sleep 0.2; done < "$d/undo"
  printf 'end\\n'
  printf '!{DONE}\\n'; sleep 2; printf 'exit\\n'; sleep 1
"""
    verdict = f"""if grep 'ERROR:' "$d/out" | grep -qv 'not found' || ! grep -q '{DONE}' "$d/out"; then
  echo fired-failed > "$d/result"
else echo fired-ok > "$d/result"; fi
"""
    ssh = J.ssh_command(user, host, port)
    return J.job_script(device.name, delay, "type the undo lines", feed, verdict, ssh)


def files(device: Device, delay: int, secret: Secret, undo: list[str], stamp: str) -> list[tuple[str, str]]:
    """(name, content) of every file the job needs, in the order they are written (``armed`` last)."""
    return [*J.login_files(device, secret), ("undo", "".join(f"{ln}\n" for ln in undo)),
            ("job.sh", job_script(device, delay, J.job_port(device))), ("armed", stamp + "\n")]


class AsaRevertHost(RevertHost):
    """The shared revert host client (one SSH client, exec per call), arming the ASA's job."""

    def arm_undo(self, delay: int, secret: Secret, stamp: str, undo: list[str]) -> None:
        """Write the job's files and start it: it types ``undo`` in ``delay`` s unless disarmed."""
        self.arm_files(files(self.device, delay, secret, undo, stamp))
