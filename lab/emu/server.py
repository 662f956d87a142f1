r"""The emulators' shared SSH core: everything about a device CLI that is not vendor knowledge.

netmiko drives a device through an interactive shell and relies on exact behaviour there (see
``/work/shared/reference/netmiko-device-contract.md``): every character echoed byte-for-byte, ``\r``,
``\n`` and ``\r\n`` each one Enter, NUL keepalives ignored, and "output + prompt" arriving in one write
so a prompt is never split across reads. This module does exactly that over asyncssh (``line_editor``
off, our own echo) and hands each complete line to a vendor personality (:mod:`egressctl_lab.emu.base`).
All sessions of one device share one :class:`~egressctl_lab.emu.base.EmulatedDevice` and run on one
event loop thread, so personalities never need locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
from egressctl_lab.emu import registry
from egressctl_lab.emu.base import DataPlane, DeviceSpec, EmulatedDevice, Reply, Session
from egressctl_lab.emu.clock import LoopClock
from egressctl_lab.emu.dataplane import NullDataPlane

T = TypeVar("T")

_ENTER_CR, _ENTER_LF, _NUL, _CTRL_C = 0x0D, 0x0A, 0x00, 0x03
_BACKSPACES = (0x08, 0x7F)


def log(message: str) -> None:
    """Write a diagnostic line to stderr (never secrets: callers redact)."""
    print(f"egressctl-emu: {message}", file=sys.stderr, flush=True)


def crlf(text: str) -> bytes:
    r"""Device output line ends: every ``\n`` (or ``\r\n``) becomes ``\r\n``."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def build_device(platform: str, spec: DeviceSpec, clock: LoopClock, dataplane: DataPlane) -> EmulatedDevice:
    """Create the personality's device and enforce its baseline ruleset (errors are logged, not raised)."""
    device = registry.factory(platform)(spec, clock, dataplane)
    try:
        dataplane.apply(device.ruleset())
    except Exception as exc:  # a broken compile must not stop the CLI from answering
        log(f"initial ruleset failed: {type(exc).__name__}")
    return device


class ShellSession(asyncssh.SSHServerSession[bytes]):
    """One SSH shell channel: raw echo and Enter handling around a personality :class:`Session`."""

    def __init__(self, device: EmulatedDevice, username: str) -> None:
        self._device = device
        self._username = username
        self._cli: Session | None = None
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._line = bytearray()
        self._echo = True
        self._after_cr = False
        self._closed = False

    # -- asyncssh callbacks -------------------------------------------------------------------------
    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:  # noqa: D102
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:  # noqa: D102
        return True

    def shell_requested(self) -> bool:  # noqa: D102
        return True

    def session_started(self) -> None:  # noqa: D102
        self._cli = self._device.new_session(self._username)
        self._write(crlf(self._cli.banner() + self._cli.prompt()))
        self._task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes, datatype: Any) -> None:  # noqa: D102
        self._queue.put_nowait(data)

    def eof_received(self) -> bool:  # noqa: D102
        self._queue.put_nowait(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self._closed = True
        if self._task is not None:
            self._task.cancel()

    # -- input processing ---------------------------------------------------------------------------
    async def _run(self) -> None:
        """Consume input in order; a reply with delayed chunks holds back the typed-ahead input."""
        while not self._closed:
            data = await self._queue.get()
            if data is None:
                self._exit()
                return
            await self._feed(data)

    async def _feed(self, data: bytes) -> None:
        echo = bytearray()
        for byte in data:
            if self._closed:
                return
            if byte == _NUL:
                continue
            if byte == _ENTER_LF and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = byte == _ENTER_CR
            if byte in (_ENTER_CR, _ENTER_LF):
                await self._enter(bytes(echo))
                echo.clear()
            elif byte in _BACKSPACES:
                if self._line:
                    self._line.pop()
                    if self._echo:
                        echo += b"\b \b"
            elif byte == _CTRL_C:
                echo += self._interrupt()
            else:
                self._line.append(byte)
                if self._echo:
                    echo.append(byte)
        if echo:
            self._write(bytes(echo))

    def _interrupt(self) -> bytes:
        """Ctrl-C: drop the line being typed and show a fresh prompt (personalities may reset a dialog)."""
        assert self._cli is not None
        self._line.clear()
        self._echo = True
        hook = getattr(self._cli, "interrupt", None)
        if callable(hook):
            hook()
        return b"^C" + crlf("\n" + self._cli.prompt())

    async def _enter(self, pending_echo: bytes) -> None:
        assert self._cli is not None
        line = self._line.decode("utf-8", "replace")
        self._line.clear()
        reply = self._handle(line)
        self._echo = reply.echo_next
        if reply.chunks:
            self._write(pending_echo + b"\r\n")
            pending_echo = b""
            for delay, chunk in reply.chunks:
                await asyncio.sleep(max(0.0, delay))
                if self._closed:
                    return
                self._write(crlf(chunk))
            out = crlf(reply.text)
        else:
            out = crlf("\n" + reply.text)
        if reply.close:
            self._write(pending_echo + out)
            self._exit()
            return
        self._write(pending_echo + out + crlf(self._cli.prompt()))

    def _handle(self, line: str) -> Reply:
        assert self._cli is not None
        try:
            return self._cli.handle(line)
        except Exception:
            trace = traceback.format_exc().replace(self._device.spec.password, "***")
            log(f"personality error on {self._device.spec.name}:\n{trace}")
            return Reply(text="% Internal error\n")

    def _write(self, data: bytes) -> None:
        if self._chan is not None and not self._closed and data:
            self._chan.write(data)

    def _exit(self) -> None:
        if self._chan is not None and not self._closed:
            self._closed = True
            self._chan.exit(0)


class DeviceServer(asyncssh.SSHServer):
    """Authentication against the device's spec; one :class:`ShellSession` per shell channel."""

    def __init__(self, device: EmulatedDevice) -> None:
        self._device = device
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:  # noqa: D102
        self._conn = conn

    def begin_auth(self, username: str) -> bool:  # noqa: D102
        return True

    def password_auth_supported(self) -> bool:  # noqa: D102
        return True

    def kbdint_auth_supported(self) -> bool:
        """PAN-OS devices offer keyboard-interactive (asyncssh then prompts ``Password:``); others don't."""
        return NotImplemented if self._device.keyboard_interactive else False

    def validate_password(self, username: str, password: str) -> bool:  # noqa: D102
        spec = self._device.spec
        username = _login_name(self._device, username)
        user_ok = hmac.compare_digest(username.encode(), spec.username.encode())
        pass_ok = hmac.compare_digest(password.encode(), spec.password.encode())
        return user_ok and pass_ok

    def session_requested(self) -> ShellSession:  # noqa: D102
        assert self._conn is not None
        return ShellSession(self._device, str(self._conn.get_extra_info("username")))


def _login_name(device: EmulatedDevice, username: str) -> str:
    """The user name a personality checks (RouterOS drops the console options after ``+``)."""
    hook = getattr(device, "login_name", None)
    return str(hook(username)) if callable(hook) else username


async def start_server(
    device: EmulatedDevice, *, host: str, port: int, host_key_path: Path | str
) -> asyncssh.SSHAcceptor:
    """Listen for SSH on ``host:port`` (port 0 picks a free port) for ``device``."""
    key = asyncssh.read_private_key(str(host_key_path))
    return await asyncssh.create_server(
        lambda: DeviceServer(device), host, port,
        server_host_keys=[key], line_editor=False, encoding=None, allow_pty=True,
        x11_forwarding=False, agent_forwarding=False, reuse_address=True,
    )


@dataclass
class RunningEmulator:
    """An emulator serving on a background thread (see :func:`serve_in_thread`)."""

    port: int
    device: EmulatedDevice
    clock: LoopClock
    dataplane: DataPlane
    loop: asyncio.AbstractEventLoop = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _acceptor: asyncssh.SSHAcceptor = field(repr=False)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``fn`` on the emulator's loop thread (where device state lives) and return its result."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self) -> None:
        """Stop listening, close every session and join the thread (idempotent)."""
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            self._acceptor.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._acceptor.wait_closed(), 5)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    platform: str,
    spec: DeviceSpec,
    *,
    host: str = "127.0.0.1",
    port: int,
    host_key_path: Path | str,
    time_scale: float = 1.0,
    dataplane: DataPlane | None = None,
) -> RunningEmulator:
    """Run an emulator on a background thread; ``dataplane=None`` records rulesets without nft.

    For CLI-level tests that need real SSH (netmiko's real classes) but no namespaces. ``port=0`` picks a
    free port (read ``.port``).
    """
    plane: DataPlane = dataplane if dataplane is not None else NullDataPlane()
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def startup() -> None:
        clock = LoopClock(time_scale, loop)
        device = build_device(platform, spec, clock, plane)
        acceptor = await start_server(device, host=host, port=port, host_key_path=host_key_path)
        started.update(clock=clock, device=device, acceptor=acceptor, port=acceptor.get_port())

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(startup())
        except BaseException as exc:
            started["error"] = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name=f"emu-{spec.name}", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in started:
        raise started["error"]
    if "device" not in started:
        raise TimeoutError(f"emulator {spec.name} did not start")
    return RunningEmulator(
        port=started["port"], device=started["device"], clock=started["clock"], dataplane=plane,
        loop=loop, _thread=thread, _acceptor=started["acceptor"],
    )
