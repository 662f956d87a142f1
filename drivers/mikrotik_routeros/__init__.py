"""MikroTik RouterOS driver (netmiko ``mikrotik_routeros``)."""
