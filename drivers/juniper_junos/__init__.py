"""Juniper Junos (SRX) driver: egressctl's own address-book entries, applications and security policies."""
