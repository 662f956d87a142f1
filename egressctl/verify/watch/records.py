"""The record every watch walker produces per packet: one numpy dtype, the C struct ``wr_rec``.

A leaf module: the ring walkers (C and Python) write these records and the agent judges them, so both
sides import the layout from here rather than from each other. The numpy-free description (field names,
struct format, statuses) is :mod:`layout`'s; this module adds the dtype for the vectorised paths.
"""

from __future__ import annotations

import numpy as np

from egressctl.verify.watch.layout import (
    FIELDS,
    PACKED,
    S_FRAGMENT,
    S_MALFORMED,
    S_NON_IP,
    S_OK,
    S_TRUNCATED,
    SNAPLEN,
)

__all__ = ["FIELDS", "RECORD", "SNAPLEN", "S_FRAGMENT", "S_MALFORMED", "S_NON_IP", "S_OK", "S_TRUNCATED"]

RECORD = np.dtype([("ts_ns", "<i8"), ("src_h", "<u8"), ("src_l", "<u8"), ("dst_h", "<u8"),
                   ("dst_l", "<u8"), ("wirelen", "<u4"), ("sport", "<u2"), ("dport", "<u2"),
                   ("vlan", "<u2"), ("family", "u1"), ("proto", "u1"), ("status", "u1"), ("vflag", "u1"),
                   ("quote", "u1"), ("q_proto", "u1"), ("q_dst_h", "<u8"), ("q_dst_l", "<u8"),
                   ("q_sport", "<u2"), ("q_dport", "<u2"), ("pad", "<u4")])
if tuple(RECORD.names or ()) != FIELDS or RECORD.itemsize != PACKED.size:  # one layout, two descriptions
    raise ImportError("watch record layouts disagree (layout.py and records.py)")
