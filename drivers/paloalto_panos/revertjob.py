"""The PAN-OS revert job: the script that undoes a commit from a second host (pure text here).

A standalone PAN-OS firewall has no dead-man switch of its own, and one living in the controller dies with
it. So, with the device option ``revert_host: NAME`` (a jump host of the site), the driver arms this job
there *before* it commits: ``revert_in`` seconds later, unless the confirm has removed its ``armed`` file,
it logs in to the firewall (its management address, port ``revert_port``, default 22, pinned key) and loads
the snapshot the driver saved on the firewall before the change (``load config from
egressctl-snapshot.xml``) then commits it. It runs detached (``setsid``, no terminal), so neither the
controller nor its SSH session to the host has to live. The host side (private directory, ``askpass``,
detached start, disarm, state) is shared by every platform: :mod:`egressctl_drivers.common.revertjob`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_drivers.common import revertjob as J
from egressctl_drivers.paloalto_panos import constants as C

if TYPE_CHECKING:
    from egressctl.inventory.credentials import Secret
    from egressctl.inventory.models import Device

#: The firewall's own answers the job waits for (PAN-OS CLI).
COMMITTED = "Configuration committed successfully"


def job_script(device: str, delay: int, host: str, port: int, user: str) -> str:
    """The job: wait, then (still armed) load the snapshot and commit over a fresh SSH session."""
    feed = f"""  sleep 3; printf 'configure\\n'
  sleep 3; printf '{C.CMD_LOAD}\\n'
  sleep 3; printf 'commit\\n'
  i=0
  while [ $i -lt {int(C.COMMIT_TIMEOUT)} ] && ! grep -q -e '{COMMITTED}' -e 'ommit failed' "$d/out"; do
    sleep 1; i=$((i + 1))
  done
  printf 'exit\\n'; sleep 1; printf 'exit\\n'; sleep 1
"""
    verdict = (f"if grep -q '{COMMITTED}' \"$d/out\"; then echo fired-ok > \"$d/result\"; "
               "else echo fired-failed > \"$d/result\"; fi\n")
    return J.job_script(device, delay, f"load {C.SNAPSHOT_FILE} and commit", feed, verdict,
                        J.ssh_command(user, host, port))


def files(device: Device, delay: int, secret: Secret, stamp: str) -> list[tuple[str, str]]:
    """(name, content) of every file the job needs, in the order they are written (``armed`` last)."""
    port, addr = J.job_port(device), str(device.mgmt_address)
    script = job_script(device.name, delay, addr, port, device.username)
    return [*J.login_files(device, secret), ("job.sh", script), ("armed", stamp + "\n")]
