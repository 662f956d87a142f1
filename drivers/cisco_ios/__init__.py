"""Cisco IOS driver: egressctl's own extended/IPv6 ACLs, applied inbound on the inside interfaces."""
