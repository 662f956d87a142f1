"""The host side of a revert job: shell text that arms, disarms and reads a job on a second host (pure).

A device with no dead-man switch of its own (standalone PAN-OS, the ASA) can be guarded by a job on a jump
host of its site (device option ``revert_host: NAME``; anything with ``sh``, ``sleep``, ``setsid`` and an
OpenSSH client): armed *before* the change, it logs in to the device ``revert_in`` seconds later, unless the
confirm has removed its ``armed`` file, and puts the previous state back, even with the controller gone.
What the job types is vendor behaviour (each platform's ``revertjob.py`` or ``revert.py``: its
``job_script``); everything else is the same for every platform and lives here.

Everything lives in one private directory per device (``$HOME/.egressctl/revert/<device>``, ``0700``):
``job.sh``, ``armed`` (the op id and owner of the change it guards: what a second controller reads),
``known_hosts`` (the device's pin), ``askpass`` + ``secret`` (the device's password, ``0600``, read by
``ssh`` through ``SSH_ASKPASS``, never on a command line; deleted by the confirm or after the job ran),
``pid``, ``out`` (the session's transcript, secret-free) and ``result`` (``fired-ok``/``fired-failed``).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from egressctl.inventory.credentials import Secret
    from egressctl.inventory.models import Device

ROOT = "$HOME/.egressctl/revert"
#: The device option naming the port the job logs in to (the management address's SSH port).
PORT_OPTION = "revert_port"
ASKPASS = '#!/bin/sh\ncat "$(dirname "$0")/secret"\n'


def job_dir(device: str) -> str:
    """The job's directory on the revert host (shell text: ``$HOME`` expands there)."""
    return f"{ROOT}/{device}"


def job_port(device: Device) -> int:
    """The port the job logs in to: the device option ``revert_port``, default 22."""
    return int(device.options.get(PORT_OPTION, 22))


def ssh_command(user: str, host: str, port: int) -> str:
    """The job's OpenSSH command line: the pinned key only, the password from ``askpass``, no config file."""
    return " ".join([
        "ssh -tt -F /dev/null", '-o UserKnownHostsFile="$d/known_hosts"', "-o GlobalKnownHostsFile=/dev/null",
        "-o StrictHostKeyChecking=yes", "-o PubkeyAuthentication=no",
        "-o PreferredAuthentications=keyboard-interactive,password", "-o NumberOfPasswordPrompts=1",
        "-o ConnectTimeout=20", f"-p {port}", shlex.quote(f"{user}@{host}"),
    ])


def job_script(device: str, delay: int, purpose: str, feed: str, verdict: str, ssh: str) -> str:
    """The job around a platform's session: wait, check it is still armed, run, judge, forget the secret.

    ``feed`` is the body of a shell function whose output is typed into the session (``ssh``, from
    :func:`ssh_command`), ``verdict`` the shell lines writing ``fired-ok`` or ``fired-failed`` to
    ``$d/result`` from the transcript ``$d/out``; both end with a newline. Whatever the verdict, the
    secret, ``askpass``, ``armed`` and ``pid`` are removed at the end: a job runs at most once.
    """
    return (f"#!/bin/sh\n# egressctl revert job for {device}: in {delay} s, unless disarmed, {purpose}.\n"
            'umask 077\nd=$(cd "$(dirname "$0")" && pwd)\n'
            f'sleep {delay}\n[ -f "$d/armed" ] || exit 0\nfeed() {{\n{feed}}}\n'
            'feed | SSH_ASKPASS="$d/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=egressctl '
            f'{ssh} > "$d/out" 2>&1\n'
            f'{verdict}rm -f "$d/armed" "$d/secret" "$d/askpass" "$d/pid"\n')


def login_files(device: Device, secret: Secret) -> list[tuple[str, str]]:
    """(name, content) of the files the job logs in with: ``secret``, ``askpass`` and ``known_hosts``.

    Written first, before the platform's own files and the job; ``armed`` is always written last.
    """
    port = job_port(device)
    addr = str(device.mgmt_address)
    where = addr if port == 22 else f"[{addr}]:{port}"
    keytype, key = device.host_key.split()[:2]
    return [("secret", secret.password or ""), ("askpass", ASKPASS),
            ("known_hosts", f"{where} {keytype} {key}\n")]


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
