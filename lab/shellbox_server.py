"""The SSH side of the lab's rootless boxes: asyncssh serving one user real bash sessions, as sshd would.

Used by :mod:`egressctl_lab.shellbox` (core-b, the bastion and the SSH vantage host in user-namespace mode,
where OpenSSH's sshd cannot run: it cannot switch to the box's user when only one uid is mapped). What a
client sees is what the root-mode sshd (:mod:`egressctl_lab.linuxbox`) gives it, from real processes:

* password login for the box's user (and, on a jump host, key login from ``~/.ssh/authorized_keys``, read
  at each login so a key appended while the box runs counts); each login is logged in sshd's words
  (``Accepted password for admin from 10.98.0.1 port 40112 ssh2``);
* a shell or a command on a real PTY (``bash`` in a session of its own; SIGHUP to it when the client goes);
* an exec request without a PTY: ``bash -c COMMAND`` in a session of its own, stdin, stdout and stderr
  streamed both ways (the probe's plan in, a held-sessions agent's lines out), the exit status returned.
  As with sshd, a client that goes away closes the pipes and kills nothing: a job it started detached
  (the revert job's ``setsid sh job.sh &``) outlives the session and the controller;
* on a jump host, ``direct-tcpip`` channels opened from the box's own namespace (``PermitOpen any``):
  netmiko's and paramiko's ``sock=`` through a jump host.

What is emulated, and only that: every process runs as the namespace's uid 0, not as the user (the rc
files and :mod:`egressctl_lab.shellbox`'s ``sudo`` say so where it shows). Remote forwarding, agent and
X11 forwarding, sftp and environment requests are refused (the lab's clients use none of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hmac
import os
import signal
import struct
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from egressctl_lab.shellbox_pipes import PipeReader, PipeWriter

MAX_SESSIONS = 16
CHUNK = 65536


@dataclass(frozen=True)
class Box:
    """What one box serves: its user and password, the user's home and rc file, its PATH, its options."""

    user: str
    password: str
    home: Path
    rc: Path
    path: str
    authorized_keys: Path | None = None
    forwarding: bool = False


def log(text: str) -> None:
    """One line to the box's log (stderr: ``run/logs/NAME.log``), as sshd -e writes its own."""
    print(text, file=sys.stderr, flush=True)


def _authorized(path: Path, key: asyncssh.SSHKey) -> bool:
    """Whether ``key`` is one of the keys in ``path`` (options are not read: the lab writes none)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            with contextlib.suppress(asyncssh.KeyImportError, ValueError):
                if asyncssh.import_public_key(line.strip()).public_data == key.public_data:
                    return True
    return False


class _Server(asyncssh.SSHServer):
    """Logins and forwarding requests of one connection."""

    def __init__(self, box: Box) -> None:
        self._box, self._peer, self._method = box, "unknown port 0", "none"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername") or ("unknown", 0)
        self._peer = f"{peer[0]} port {peer[1]}"

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        good = self._box.password.encode()
        ok = username == self._box.user and hmac.compare_digest(password.encode(), good)
        if ok:
            self._method = "password"
        else:
            log(f"Failed password for {username} from {self._peer} ssh2")
        return ok

    def public_key_auth_supported(self) -> bool:
        return self._box.authorized_keys is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        keys = self._box.authorized_keys
        ok = username == self._box.user and keys is not None and _authorized(keys, key)
        if ok:
            self._method = "publickey"
        return ok

    def auth_completed(self) -> None:
        log(f"Accepted {self._method} for {self._box.user} from {self._peer} ssh2")

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        """``direct-tcpip``: asyncssh connects from this namespace, only on a jump host."""
        if self._box.forwarding:
            log(f"direct-tcpip to {dest_host} port {dest_port} for {self._box.user}")
        return self._box.forwarding

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False


def exit_code(returncode: int) -> int:
    """A shell's view of a child's end: its status, or 128 + the signal that killed it."""
    return returncode if returncode >= 0 else 128 - returncode


class _Sessions:
    """Starts each session's process and moves bytes between it and the channel."""

    def __init__(self, box: Box) -> None:
        self.box = box
        self.slots = asyncio.Semaphore(MAX_SESSIONS)

    def env(self, term: str | None) -> dict[str, str]:
        """The environment sshd gives a session of the box's user."""
        env = {"HOME": str(self.box.home), "USER": self.box.user, "LOGNAME": self.box.user,
               "PATH": self.box.path, "SHELL": "/bin/bash", "LANG": "C.UTF-8"}
        if term:
            env["TERM"] = term
        return env

    async def handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """One session: a PTY (shell or command) or a plain exec (command, or a shell reading stdin)."""
        if self.slots.locked():
            process.exit(1)
            return
        async with self.slots:
            term, command = process.get_terminal_type(), process.command
            if term:
                argv = ["bash", "-c", command] if command else ["bash", "--rcfile", str(self.box.rc), "-i"]
                await self._on_pty(process, argv, term)
            else:
                await self._exec(process, ["bash", "-c", command] if command else ["bash"])

    async def _exec(self, process: asyncssh.SSHServerProcess[bytes], argv: list[str]) -> None:
        loop = asyncio.get_running_loop()
        pipes = [os.pipe() for _ in range(3)]
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=self.box.home, env=self.env(None), stdin=pipes[0][0], stdout=pipes[1][1],
            stderr=pipes[2][1], start_new_session=True,
        )
        for fd in (pipes[0][0], pipes[1][1], pipes[2][1]):
            os.close(fd)
        feeder = PipeWriter(loop, pipes[0][1])
        readers = [PipeReader(loop, pipes[i][0]) for i in (1, 2)]
        tasks = [asyncio.ensure_future(_pump_in(process, feeder)),
                 asyncio.ensure_future(readers[0].pump(process.stdout)),
                 asyncio.ensure_future(readers[1].pump(process.stderr))]
        try:
            await asyncio.gather(tasks[1], tasks[2])
            code = exit_code(await proc.wait())
        finally:  # also when the client vanished: close our ends, kill nothing (as sshd)
            for t in tasks:
                t.cancel()
            feeder.close()
            for r in readers:
                r.close()
        process.exit(code)

    async def _on_pty(self, process: asyncssh.SSHServerProcess[bytes], argv: list[str], term: str) -> None:
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        width, height, *_ = process.get_terminal_size()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height or 24, width or 80, 0, 0))
        proc = await asyncio.create_subprocess_exec(
            "setsid", "-c", *argv, cwd=self.box.home, env=self.env(term), stdin=slave, stdout=slave,
            stderr=slave,
        )
        os.close(slave)
        closed = asyncio.Event()

        def readable() -> None:
            try:
                data = os.read(master, CHUNK)
            except OSError:
                data = b""
            if data:
                process.stdout.write(data)
            else:
                loop.remove_reader(master)
                closed.set()

        loop.add_reader(master, readable)
        pump = asyncio.ensure_future(_pty_in(process, master))
        waiter = asyncio.ensure_future(proc.wait())
        try:
            await asyncio.wait([pump, waiter], return_when=asyncio.FIRST_COMPLETED)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), timeout=0.5 if waiter.done() else 0.01)
        finally:
            # Also when asyncssh cancels this task because the client vanished: the terminal hangs up.
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGHUP)
                    os.killpg(proc.pid, signal.SIGCONT)
            loop.remove_reader(master)
            pump.cancel()
            os.close(master)
        process.exit(exit_code(await waiter))


async def _pty_in(process: asyncssh.SSHServerProcess[bytes], master: int) -> None:
    with contextlib.suppress(asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, OSError):
        while data := await process.stdin.read(4096):
            os.write(master, data)


async def _pump_in(process: asyncssh.SSHServerProcess[bytes], feeder: PipeWriter) -> None:
    """The channel's data to the command's stdin; the channel's EOF closes it."""
    with contextlib.suppress(OSError, asyncssh.Error):
        while data := await process.stdin.read(CHUNK):
            await feeder.write(data)
    feeder.close()


async def serve(box: Box, host_key: bytes, port: int, ready_fd: int | None) -> None:
    """Serve SSH on ``port`` of every address of the namespace until SIGTERM or SIGINT."""
    key = asyncssh.import_private_key(host_key)
    sessions = _Sessions(box)
    server = await asyncssh.create_server(
        lambda: _Server(box), "", port, server_host_keys=[key], process_factory=sessions.handle,
        encoding=None, line_editor=False, reuse_address=True, allow_scp=False, agent_forwarding=False,
        x11_forwarding=False, gss_host=None,  # else asyncssh calls getfqdn(): a DNS query that times out here
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    await stop.wait()
    server.close()
