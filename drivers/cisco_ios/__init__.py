"""Cisco IOS driver: egressctl's own extended/IPv6 ACLs on a router's inside interfaces, or on a switch.

A switch (``role: switch``) takes them on its SVIs and uplinks, or has its uplinks shut (``shutdown-uplink``).
"""
