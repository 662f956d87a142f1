"""Offline capture checks.

pcap/pcapng files walked in bounded windows, each packet judged by the C engine (an optional extension
built at install time) or its numpy twin, and the leaks folded into flows.
"""
