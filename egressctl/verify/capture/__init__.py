"""Offline capture checks.

pcap/pcapng files walked in bounded windows, each packet judged by the C engine (an optional extension
built at install time) or its numpy twin, and the leaks folded into flows; with the C engine the file is
cut into parts walked by one thread per core (:mod:`.parallel`), the result identical to one thread's.
"""
