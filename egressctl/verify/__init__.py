"""Verification with packets, in three rooms around one compiled matcher and one packet parser.

``probe/`` (active probes from vantage points), ``watch/`` (live leak watch on upstream links) and
``capture/`` (offline pcap checks) all judge packets with :mod:`matcher`; the two C helpers share the
parser in ``pktparse.h``, whose Python reference is :mod:`pktparse`; :mod:`report`, :mod:`flows` and
:mod:`beacon` turn the rooms' results into what people and machines read.
"""
