"""The watch record's layout without numpy: field names, a :mod:`struct` format, statuses, snapshot length.

A leaf module. The agent reads the records the C walker writes with :data:`PACKED` while batches are small
(an idle or quiet link, as in an estate's short watches), so starting an agent does not import numpy
(about 0.1 s of CPU each); :mod:`records` builds the numpy dtype of the same layout for big batches and the
Python walker, and checks that the two agree.
"""

from __future__ import annotations

import struct

from egressctl.verify import pktparse

SNAPLEN = 256  # bytes per packet the kernel filter keeps: headers only
FIELDS: tuple[str, ...] = ("ts_ns", "src_h", "src_l", "dst_h", "dst_l", "wirelen", "sport", "dport", "vlan",
                           "family", "proto", "status", "vflag", "quote", "q_proto", "q_dst_h", "q_dst_l",
                           "q_sport", "q_dport", "pad")
#: The C struct ``wr_rec`` (ring_walk.c), little-endian, 80 bytes, in :data:`FIELDS` order. ``quote`` is 1
#: for an ICMP error whose quoted datagram (``pktparse.quote``: sent by this packet's destination) follows.
PACKED = struct.Struct("<qQQQQIHHHBBBBBBQQHHI")
# Record statuses are the parser's (pktparse.h, pktparse.py): one numbering for C and Python.
S_OK, S_NON_IP, S_TRUNCATED = pktparse.OK, pktparse.NON_IP, pktparse.TRUNCATED
S_FRAGMENT, S_MALFORMED = pktparse.FRAGMENT, pktparse.MALFORMED
