"""Non-blocking pipe ends on the event loop, for the shellbox's exec sessions (:mod:`.shellbox_server`).

asyncio's own subprocess pipes kill the child when their transport closes; a session whose client went
away must only close its ends (the child reads EOF, or gets SIGPIPE on its next write), as sshd does. So
the server makes the pipes itself and moves bytes with these two.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import asyncssh

CHUNK = 65536


def _wake(ready: asyncio.Future[None]) -> None:
    """Mark ``ready`` done (once: a level-triggered fd may fire again before the waiter runs)."""
    if not ready.done():
        ready.set_result(None)


class PipeReader:
    """The read end of a child's stdout or stderr (non-blocking, on the event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.loop, self.fd = loop, fd
        os.set_blocking(fd, False)

    async def pump(self, out: Any) -> None:
        """Copy to ``out`` (an asyncssh writer) until EOF, waiting for the channel's window."""
        while True:
            ready: asyncio.Future[None] = self.loop.create_future()
            self.loop.add_reader(self.fd, _wake, ready)
            try:
                await ready
            finally:
                if self.fd >= 0:
                    self.loop.remove_reader(self.fd)
            try:
                data = os.read(self.fd, CHUNK)
            except BlockingIOError:
                continue
            if not data:
                return
            out.write(data)
            with contextlib.suppress(asyncssh.Error, OSError):
                await out.drain()

    def close(self) -> None:
        """Close the read end (the child then gets SIGPIPE on its next write, as under sshd)."""
        if self.fd >= 0:
            self.loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1


class PipeWriter:
    """The write end of a child's stdin (non-blocking, on the event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.loop, self.fd = loop, fd
        os.set_blocking(fd, False)

    async def write(self, data: bytes) -> None:
        """Write all of ``data``, waiting while the pipe is full."""
        view = memoryview(data)
        while view and self.fd >= 0:
            try:
                view = view[os.write(self.fd, view):]
                continue
            except BlockingIOError:
                pass
            ready: asyncio.Future[None] = self.loop.create_future()
            self.loop.add_writer(self.fd, _wake, ready)
            try:
                await ready
            finally:
                if self.fd >= 0:
                    self.loop.remove_writer(self.fd)

    def close(self) -> None:
        """Close the write end: the command reads EOF."""
        if self.fd >= 0:
            self.loop.remove_writer(self.fd)
            os.close(self.fd)
            self.fd = -1
