"""Turn one retired ring block into records: the C walker (``ring_walk.c``) or its Python twin.

The walk inside a block is the only sequential step of the watch (``tp_next_offset`` chains the packets),
so it runs in C, once per packet, in cache: the extension module ``egressctl.verify.watch._ring_walk``
built at install time, found and opened by :mod:`egressctl.verify.native`. :func:`pywalk.walk_block_py`
gives the same records when this install has no C helper.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from egressctl.verify import native
from egressctl.verify.watch.pywalk import walk_block_py
from egressctl.verify.watch.records import RECORD

MODULE = "egressctl.verify.watch._ring_walk"


def _check(lib: ctypes.CDLL) -> bool:
    """Declare the C signatures; True when the library's record size is :data:`RECORD`'s."""
    lib.wr_block.restype = ctypes.c_int64
    lib.wr_block.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
    lib.wr_record_size.restype = ctypes.c_int64
    return bool(lib.wr_record_size() == RECORD.itemsize)


def library() -> ctypes.CDLL | None:
    """The walker built into this install, or None (warned about once; the Python walker runs)."""
    return native.load(MODULE, "the C ring walker", "the live watch runs the Python walker", _check)


class Walker:
    """Turns a block into records, with the C helper when available."""

    def __init__(self, cap: int = 1 << 16, use_c: bool = True) -> None:
        self.out = np.zeros(cap, dtype=RECORD)
        self.lib = library() if use_c else None
        self.name = "c" if self.lib is not None else "python"

    def walk(self, buf: np.ndarray[Any, Any], offset: int, length: int) -> np.ndarray[Any, Any] | None:
        """Records of the block at ``buf[offset:offset+length]`` (None when the block is malformed)."""
        if self.lib is None:
            return walk_block_py(memoryview(buf.data)[offset:offset + length])
        n = int(self.lib.wr_block(int(buf.ctypes.data) + offset, length, int(self.out.ctypes.data),
                                  len(self.out)))
        return None if n < 0 else self.out[:n]
