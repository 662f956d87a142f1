"""The record every watch walker produces per packet: one numpy dtype, the C struct ``wr_rec``.

A leaf module: the ring walkers (C and Python) write these records and the agent judges them, so both
sides import the layout from here rather than from each other.
"""

from __future__ import annotations

import numpy as np

from egressctl.verify import pktparse

SNAPLEN = 256  # bytes per packet the kernel filter keeps: headers only
RECORD = np.dtype([("ts_ns", "<i8"), ("src_h", "<u8"), ("src_l", "<u8"), ("dst_h", "<u8"),
                   ("dst_l", "<u8"), ("wirelen", "<u4"), ("sport", "<u2"), ("dport", "<u2"),
                   ("vlan", "<u2"), ("family", "u1"), ("proto", "u1"), ("status", "u1"), ("vflag", "u1"),
                   ("pad", "<u2")])
FIELDS: tuple[str, ...] = tuple(RECORD.names or ())
# Record statuses are the parser's (pktparse.h, pktparse.py): one numbering for C and Python.
S_OK, S_NON_IP, S_TRUNCATED = pktparse.OK, pktparse.NON_IP, pktparse.TRUNCATED
S_FRAGMENT, S_MALFORMED = pktparse.FRAGMENT, pktparse.MALFORMED
