"""The lab's Linux boxes without root: core-b, the bastion and the SSH vantage host in user-namespace mode.

Documented faithful fallback for user-namespace mode. Inside an unprivileged user namespace a real sshd
cannot switch to user ``admin`` (only one uid is mapped), so an asyncssh server
(:mod:`egressctl_lab.shellbox_server`) authenticates ``admin`` with the lab password itself and starts a
real ``bash`` on a real PTY (or ``bash -c`` for an exec request) in the box's network and UTS namespaces:
the prompt, line editing, echo, ``nft``, ``ssh``, ``setsid`` and ``sleep`` are the real ones. What is
emulated, and only that: everything runs as the namespace's uid 0, so the prompt is fixed to
``admin@HOST:~$ ``, ``whoami`` says ``admin`` and ``sudo`` is a script first on the PATH that stands for the
root-mode box's sudoers: it asks ``[sudo] password for admin: `` (three tries, no echo; ``sudo -n`` and a
session without a terminal are refused as sudo refuses them), checks the lab password and opens a root
shell (``root@HOST:~# ``) for ``sudo -s``/``-i``, or runs the command; on an SSH vantage host exactly
``PYTHON -m egressctl probe --json --plan -`` runs without a password (``--probe-python``), as the root-mode
sudoers line allows. netmiko's ``linux`` class drives core-b exactly as it drives the root-mode sshd.

core-b (``--boot``) has its own ``/etc`` (an overlay, :func:`egressctl_lab.linuxbox.private_etc`), so its
``nftables.conf`` is written there. A bastion (``--jump-host``) also takes key logins from
``~/.ssh/authorized_keys`` and opens ``direct-tcpip`` channels from its namespace; its revert jobs
(``setsid sh job.sh &`` over an exec request) outlive the session and the controller, as under sshd. The
host keys are the root-mode ones (:mod:`egressctl_lab.hostkeys`, by ``--device``).

Usage (inside ``unshare --uts``, and ``--mount`` with ``--boot``): ``python -m egressctl_lab.shellbox
--root DIR --hostname core-b --device core-b --user admin --secret-file F [--boot] [--jump-host]
[--probe-python PY] [--ready-fd FD]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shlex
import socket
import sys
from pathlib import Path

from egressctl_lab import hostkeys, linuxbox
from egressctl_lab.shellbox_server import Box, serve

USER_RC = r"""PS1='{user}@\h:\w$ '
HISTFILE=
bind 'set enable-bracketed-paste off' 2>/dev/null
cd "$HOME"
"""
ROOT_RC = r"""PS1='root@\h:\w# '
HISTFILE=
bind 'set enable-bracketed-paste off' 2>/dev/null
"""
#: The root-mode box's sudoers, emulated (see the module docstring). ``{nopasswd}`` is the probe's command.
SUDO = r"""#!/bin/bash
# egressctl lab: sudo of this box (egressctl_lab.shellbox), standing for its root-mode sudoers:
# {user} ALL=(ALL:ALL) ALL, and on a vantage host NOPASSWD for exactly the probe command.
noprompt=
while [ $# -gt 0 ]; do
  case "$1" in
    -n) noprompt=1; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
run() {{
  case "$1" in
    ""|-s|-i) HOME={root_home} SHELLBOX_ROOT=1 bash --rcfile {root_rc} -i; exit ;;
    *) SHELLBOX_ROOT=1 exec "$@" ;;
  esac
}}
nopasswd={nopasswd}
if [ -n "$SHELLBOX_ROOT" ] || {{ [ -n "$nopasswd" ] && [ "$*" = "$nopasswd" ]; }}; then run "$@"; fi
if [ -n "$noprompt" ]; then echo "sudo: a password is required" >&2; exit 1; fi
if [ ! -t 0 ]; then
  echo "sudo: a terminal is required to read the password; either use the -S option to read from" \
    "standard input or configure an askpass helper" >&2
  exit 1
fi
tries=0
while [ $tries -lt 3 ]; do
  IFS= read -r -s -p "[sudo] password for {user}: " pw; printf '\n'
  if [ "$(printf '%s' "$pw" | sha256sum)" = "{digest}  -" ]; then unset pw; run "$@"; fi
  tries=$((tries + 1))
  [ $tries -lt 3 ] && echo "Sorry, try again."
done
echo "sudo: 3 incorrect password attempts"
exit 1
"""
WHOAMI = '#!/bin/sh\nif [ -n "$SHELLBOX_ROOT" ]; then echo root; else echo {user}; fi\n'
PROBE_COMMAND = "{python} -m egressctl probe --json --plan -"


def write_box_files(root: Path, user: str, password: str,
                    probe_python: str | None = None) -> tuple[Path, Path]:
    """Write the rc files, homes and ``bin/`` (sudo, whoami) under ``root``; returns (admin rc, admin home).

    ``probe_python`` makes ``sudo`` run that interpreter's probe command without a password.
    """
    home, root_home, bindir = root / "home" / user, root / "root", root / "bin"
    for d in (home, root_home, bindir):
        d.mkdir(parents=True, exist_ok=True)
    root_rc, user_rc = root / "root.rc", root / "user.rc"
    root_rc.write_text(ROOT_RC)
    user_rc.write_text(USER_RC.format(user=user))
    nopasswd = PROBE_COMMAND.format(python=probe_python) if probe_python else ""
    digest = hashlib.sha256(password.encode()).hexdigest()
    (bindir / "sudo").write_text(SUDO.format(
        user=user, digest=digest, root_home=shlex.quote(str(root_home)), root_rc=shlex.quote(str(root_rc)),
        nopasswd=shlex.quote(nopasswd)))
    (bindir / "whoami").write_text(WHOAMI.format(user=user))
    for f in (root_rc, user_rc):
        f.chmod(0o600)
    for f in (bindir / "sudo", bindir / "whoami"):
        f.chmod(0o700)
    return user_rc, home


def box_from_args(args: argparse.Namespace) -> Box:
    """The box's files written and its :class:`Box` (the user's PATH has the box's ``bin/`` first)."""
    password = Path(args.secret_file).read_text().strip()
    rc, home = write_box_files(args.root, args.user, password, args.probe_python)
    keys = None
    if args.jump_host:  # a bastion: key logins too (the file is the root-mode bastion's, empty at first)
        keys = home / ".ssh" / "authorized_keys"
        keys.parent.mkdir(mode=0o700, exist_ok=True)
        keys.touch(mode=0o600)
    path = f"{args.root / 'bin'}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    return Box(user=args.user, password=password, home=home, rc=rc, path=path, authorized_keys=keys,
               forwarding=args.jump_host)


def main(argv: list[str] | None = None) -> None:
    """Process entry point."""
    parser = argparse.ArgumentParser(prog="egressctl_lab.shellbox")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--device", required=True, help="whose lab host key the box shows")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--boot", action="store_true", help="a device box: its own /etc (an overlay)")
    parser.add_argument("--jump-host", action="store_true", help="key logins and direct-tcpip forwarding")
    parser.add_argument("--probe-python", default=None, help="sudo runs this interpreter's probe freely")
    args = parser.parse_args(argv)
    socket.sethostname(args.hostname)
    if args.boot:
        try:  # the box's /etc is its own (its nftables.conf is written there), never the host's
            linuxbox.private_etc(linuxbox.load_libc(), args.root)
        except OSError as exc:  # an unprivileged user cannot write the host's /etc anyway
            print(f"shellbox: no private /etc ({exc}); the host's is read-only to this user", file=sys.stderr)
    box = box_from_args(args)
    key = hostkeys.write_private(args.device, args.root / "hostkey").read_bytes()
    asyncio.run(serve(box, key, args.port, args.ready_fd))


if __name__ == "__main__":
    main()
