"""Turn one retired ring block into records: the C walker (``ring_walk.c``) or its Python twin.

The walk inside a block is the only sequential step of the watch (``tp_next_offset`` chains the packets),
so it runs in C, once per packet, in cache: the extension module ``egressctl.verify.watch._ring_walk``
built at install time, found and opened by :mod:`egressctl.verify.native`. :func:`pywalk.walk_block_py`
gives the same records when this install has no C helper.

:meth:`Walker.block` is the agent's way: with the C walker it returns the packed records (a memoryview,
:data:`~egressctl.verify.watch.layout.PACKED` each) and imports no numpy, so an agent on a quiet link
never pays for it; the agent turns a big batch into a numpy array itself. :meth:`Walker.walk` returns a
numpy record array (the tests and the Python walker).
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any

from egressctl.verify import native
from egressctl.verify.watch.layout import PACKED

if TYPE_CHECKING:
    import numpy as np

MODULE = "egressctl.verify.watch._ring_walk"


def _check(lib: ctypes.CDLL) -> bool:
    """Declare the C signatures; True when the library's record size is the layout's."""
    lib.wr_block.restype = ctypes.c_int64
    lib.wr_block.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
    lib.wr_record_size.restype = ctypes.c_int64
    return bool(lib.wr_record_size() == PACKED.size)


def library() -> ctypes.CDLL | None:
    """The walker built into this install, or None (warned about once; the Python walker runs)."""
    return native.load(MODULE, "the C ring walker", "the live watch runs the Python walker", _check)


class Walker:
    """Turns a block into records, with the C helper when available."""

    def __init__(self, cap: int = 1 << 16, use_c: bool = True) -> None:
        self.cap = cap
        self.raw = bytearray(cap * PACKED.size)
        self._anchor = (ctypes.c_char * len(self.raw)).from_buffer(self.raw)
        self.lib = library() if use_c else None
        self.name = "c" if self.lib is not None else "python"

    def _c_walk(self, address: int, length: int) -> int:
        assert self.lib is not None
        return int(self.lib.wr_block(address, length, ctypes.addressof(self._anchor), self.cap))

    def block(self, mapping: Any, address: int, offset: int,
              length: int) -> memoryview | np.ndarray[Any, Any] | None:
        """Records of the block at ``offset`` of ``mapping`` (mapped at ``address``); None when malformed.

        C walker: the packed records (valid until the next call); Python walker: a numpy record array.
        """
        if self.lib is None:
            from egressctl.verify.watch.pywalk import walk_block_py

            return walk_block_py(memoryview(mapping)[offset:offset + length])
        n = self._c_walk(address + offset, length)
        return None if n < 0 else memoryview(self.raw)[:n * PACKED.size]

    def walk(self, buf: np.ndarray[Any, Any], offset: int, length: int) -> np.ndarray[Any, Any] | None:
        """Records of the block at ``buf[offset:offset+length]`` as a numpy array (None when malformed)."""
        if self.lib is None:
            from egressctl.verify.watch.pywalk import walk_block_py

            return walk_block_py(memoryview(buf.data)[offset:offset + length])
        import numpy as np

        from egressctl.verify.watch.records import RECORD

        n = self._c_walk(int(buf.ctypes.data) + offset, length)
        return None if n < 0 else np.frombuffer(bytes(self.raw[:n * PACKED.size]), dtype=RECORD)
