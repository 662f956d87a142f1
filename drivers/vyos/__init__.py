"""VyOS routers (VyOS 1.4+ firewall syntax) through netmiko ``vyos``."""
