"""core-b without root: an asyncssh server that gives each session a real bash on a PTY in the namespace.

Documented faithful fallback for user-namespace mode. Inside an unprivileged user namespace a real sshd
cannot switch to user ``admin`` (only one uid is mapped), so this server authenticates ``admin`` with the
lab password itself and starts a real ``bash`` on a real PTY in core-b's network and UTS namespaces: the
prompt, line editing, echo and ``nft`` are the real ones. What is emulated, and only that: the shell runs
as the namespace's uid 0, so the prompt is fixed to ``admin@core-b:~$ `` and ``sudo`` is a bash function
that asks ``[sudo] password for admin: `` (three tries, no echo), checks the lab password and opens a root
shell (``root@core-b:~# ``) for ``sudo -s``/``-i``, or runs the command. netmiko's ``linux`` class drives it
exactly as it drives the root-mode sshd.

Usage (inside ``unshare --uts``): ``python -m egressctl_lab.shellbox --root DIR --hostname core-b
--device core-b --user admin --secret-file F [--ready-fd FD]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import os
import signal
import socket
import struct
import sys
import termios
from pathlib import Path

import asyncssh
from egressctl_lab import hostkeys, linuxbox

MAX_SESSIONS = 16
USER_RC = r"""PS1='{user}@\h:\w$ '
HISTFILE=
bind 'set enable-bracketed-paste off' 2>/dev/null
cd "$HOME"
whoami() {{ echo {user}; }}
sudo() {{
  local pw tries=0
  while [ $tries -lt 3 ]; do
    IFS= read -r -s -p "[sudo] password for {user}: " pw; printf '\n'
    if [ "$(printf '%s' "$pw" | sha256sum)" = "{digest}  -" ]; then
      unset pw
      case "$1" in
        ""|-s|-i) HOME={root_home} bash --rcfile {root_rc} -i ;;
        *) "$@" ;;
      esac
      return
    fi
    tries=$((tries + 1))
    [ $tries -lt 3 ] && echo "Sorry, try again."
  done
  echo "sudo: 3 incorrect password attempts"
  return 1
}}
"""
ROOT_RC = r"""PS1='root@\h:\w# '
HISTFILE=
bind 'set enable-bracketed-paste off' 2>/dev/null
"""


def write_rc_files(root: Path, user: str, password: str) -> tuple[Path, Path]:
    """Write the admin and root rc files and homes under ``root``; returns (admin rc, admin home)."""
    home, root_home = root / "home" / user, root / "root"
    for d in (home, root_home):
        d.mkdir(parents=True, exist_ok=True)
    root_rc = root / "root.rc"
    root_rc.write_text(ROOT_RC)
    digest = hashlib.sha256(password.encode()).hexdigest()
    user_rc = root / "user.rc"
    user_rc.write_text(USER_RC.format(user=user, digest=digest, root_home=root_home, root_rc=root_rc))
    for f in (root_rc, user_rc):
        f.chmod(0o600)
    return user_rc, home


class _Auth(asyncssh.SSHServer):
    def __init__(self, user: str, password: str) -> None:
        self._user, self._password = user, password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._user and hmac.compare_digest(password.encode(), self._password.encode())


class _Shells:
    """Starts one bash per SSH session and pumps bytes between the channel and the PTY."""

    def __init__(self, rc: Path, home: Path, user: str) -> None:
        self.rc, self.home, self.user = rc, home, user
        self.slots = asyncio.Semaphore(MAX_SESSIONS)

    def _env(self, term: str) -> dict[str, str]:
        path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        return {"HOME": str(self.home), "USER": self.user, "LOGNAME": self.user, "TERM": term or "vt100",
                "PATH": path, "SHELL": "/bin/bash", "LANG": "C.UTF-8"}

    async def handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        if self.slots.locked():
            process.exit(1)
            return
        async with self.slots:
            if process.command and not process.get_terminal_type():
                await self._exec(process)
            else:
                await self._shell(process)

    async def _exec(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        proc = await asyncio.create_subprocess_exec(
            "bash", "--rcfile", str(self.rc), "-c", process.command or "", cwd=self.home,
            env=self._env(""), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        process.stdout.write(out)
        process.stderr.write(err)
        process.exit(proc.returncode or 0)

    async def _shell(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        width, height, *_ = process.get_terminal_size()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height or 24, width or 80, 0, 0))
        proc = await asyncio.create_subprocess_exec(
            "setsid", "-c", "bash", "--rcfile", str(self.rc), "-i", cwd=self.home,
            env=self._env(process.get_terminal_type() or "vt100"), stdin=slave, stdout=slave, stderr=slave,
        )
        os.close(slave)
        closed = asyncio.Event()

        def readable() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if data:
                process.stdout.write(data)
            else:
                loop.remove_reader(master)
                closed.set()

        loop.add_reader(master, readable)
        pump = asyncio.ensure_future(self._feed(process, master))
        waiter = asyncio.ensure_future(proc.wait())
        try:
            await asyncio.wait([pump, waiter], return_when=asyncio.FIRST_COMPLETED)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), timeout=0.5 if waiter.done() else 0.01)
        finally:
            # Also when asyncssh cancels this task because the client vanished: never leave a shell behind.
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGHUP)
                    os.killpg(proc.pid, signal.SIGCONT)
            loop.remove_reader(master)
            pump.cancel()
            os.close(master)
        await waiter
        process.exit(proc.returncode or 0)

    @staticmethod
    async def _feed(process: asyncssh.SSHServerProcess[bytes], master: int) -> None:
        with contextlib.suppress(asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, OSError):
            while data := await process.stdin.read(4096):
                os.write(master, data)


async def serve(args: argparse.Namespace) -> None:
    """Serve SSH on port 22 of every address until SIGTERM."""
    password = Path(args.secret_file).read_text().strip()
    rc, home = write_rc_files(args.root, args.user, password)
    shells = _Shells(rc, home, args.user)
    key = asyncssh.import_private_key(hostkeys.write_private(args.device, args.root / "hostkey").read_bytes())
    server = await asyncssh.create_server(
        lambda: _Auth(args.user, password), "", args.port, server_host_keys=[key],
        process_factory=shells.handle, encoding=None, line_editor=False, reuse_address=True,
        gss_host=None,  # else asyncssh calls getfqdn(): a DNS query that times out inside the lab
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.ready_fd is not None:
        os.write(args.ready_fd, b"ready\n")
        os.close(args.ready_fd)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> None:
    """Process entry point."""
    parser = argparse.ArgumentParser(prog="egressctl_lab.shellbox")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--ready-fd", type=int, default=None)
    args = parser.parse_args(argv)
    socket.sethostname(args.hostname)
    try:  # the box's /etc is its own (its nftables.conf is written there), never the host's
        linuxbox.private_etc(linuxbox.load_libc(), args.root)
    except OSError as exc:  # an unprivileged user cannot write the host's /etc anyway
        print(f"shellbox: no private /etc ({exc}); the host's is read-only to this user", file=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
