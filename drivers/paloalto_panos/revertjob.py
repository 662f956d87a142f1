"""The PAN-OS revert job: a POSIX shell script that undoes a commit from a second host (pure text here).

A standalone PAN-OS firewall has no dead-man switch of its own, and one living in the controller dies with
it. So, with the device option ``revert_host: NAME`` (a jump host of the site: the NOC bastion, a vantage
host; anything with ``sh``, ``sleep``, ``setsid`` and an OpenSSH client), the driver arms this job there
*before* it commits: ``revert_in`` seconds later, unless the confirm has removed its ``armed`` file, it logs
in to the firewall (its management address, port ``revert_port``, default 22, pinned key) and loads the
snapshot the driver saved on the firewall before the change (``load config from egressctl-snapshot.xml``)
then commits it. It runs detached (``setsid``, no terminal), so neither the controller nor its SSH
session to the host has to live.

Everything lives in one private directory per firewall (``$HOME/.egressctl/revert/<device>``, ``0700``):
``job.sh``, ``armed`` (the op id and owner of the change it guards: what a second controller reads),
``known_hosts`` (the firewall's pin), ``askpass`` + ``secret`` (the firewall's password, ``0600``, read by
``ssh`` through ``SSH_ASKPASS``, never on a command line; deleted by the confirm or after the job ran),
``pid``, ``out`` (the session's transcript, secret-free) and ``result`` (``fired-ok``/``fired-failed``).
"""

from __future__ import annotations

import shlex

from egressctl_drivers.paloalto_panos import constants as C

ROOT = "$HOME/.egressctl/revert"
#: The firewall's own answers the job waits for (PAN-OS CLI).
COMMITTED = "Configuration committed successfully"


def job_dir(device: str) -> str:
    """The job's directory on the revert host (shell text: ``$HOME`` expands there)."""
    return f"{ROOT}/{device}"


def job_script(device: str, delay: int, host: str, port: int, user: str) -> str:
    """The job: wait, then (still armed) load the snapshot and commit over a fresh SSH session."""
    ssh = " ".join([
        "ssh -tt -F /dev/null", '-o UserKnownHostsFile="$d/known_hosts"', "-o GlobalKnownHostsFile=/dev/null",
        "-o StrictHostKeyChecking=yes", "-o PubkeyAuthentication=no",
        "-o PreferredAuthentications=keyboard-interactive,password", "-o NumberOfPasswordPrompts=1",
        "-o ConnectTimeout=20", f"-p {port}", shlex.quote(f"{user}@{host}"),
    ])
    return f"""#!/bin/sh
# egressctl revert job for {device}: in {delay} s, unless disarmed, load {C.SNAPSHOT_FILE} and commit.
umask 077
d=$(cd "$(dirname "$0")" && pwd)
sleep {delay}
[ -f "$d/armed" ] || exit 0
feed() {{
  sleep 3; printf 'configure\\n'
  sleep 3; printf '{C.CMD_LOAD}\\n'
  sleep 3; printf 'commit\\n'
  i=0
  while [ $i -lt {int(C.COMMIT_TIMEOUT)} ] && ! grep -q -e '{COMMITTED}' -e 'ommit failed' "$d/out"; do
    sleep 1; i=$((i + 1))
  done
  printf 'exit\\n'; sleep 1; printf 'exit\\n'; sleep 1
}}
feed | SSH_ASKPASS="$d/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=egressctl {ssh} > "$d/out" 2>&1
if grep -q '{COMMITTED}' "$d/out"; then echo fired-ok > "$d/result"; else echo fired-failed > "$d/result"; fi
rm -f "$d/armed" "$d/secret" "$d/askpass" "$d/pid"
"""


ASKPASS = '#!/bin/sh\ncat "$(dirname "$0")/secret"\n'


def arm_command(device: str) -> str:
    """Start the job detached (its own session, no terminal) and record its process group."""
    d = job_dir(device)
    return (f'umask 077; d="{d}"; chmod 700 "$d/job.sh" "$d/askpass" || exit 1; rm -f "$d/result" "$d/out"; '
            f'setsid sh "$d/job.sh" </dev/null >/dev/null 2>&1 & echo $! > "$d/pid"; echo armed')


def write_command(device: str, name: str) -> str:
    """Write stdin to one file of the job's directory, private (the directory is created ``0700``)."""
    d = job_dir(device)
    return f'umask 077 && mkdir -p "{d}" && cat > "{d}/{name}"'


def disarm_command(device: str) -> str:
    """Stop the job if it still waits and remove what it would use; prints what it found."""
    d = job_dir(device)
    return (f'd="{d}"; if [ -f "$d/armed" ]; then echo was-armed; fi; '
            f'[ -f "$d/result" ] && cat "$d/result"; rm -f "$d/armed" "$d/secret" "$d/askpass"; '
            f'[ -f "$d/pid" ] && kill -TERM -- -"$(cat "$d/pid")" 2>/dev/null; rm -f "$d/pid"; true')


def state_command(device: str) -> str:
    """``armed <stamp>`` while the job waits, else the last result (or nothing)."""
    d = job_dir(device)
    return (f'd="{d}"; if [ -f "$d/armed" ]; then printf "armed "; cat "$d/armed"; '
            f'elif [ -f "$d/result" ]; then cat "$d/result"; fi; true')
