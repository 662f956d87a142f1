"""Cisco ASA driver (netmiko ``cisco_asa``)."""
