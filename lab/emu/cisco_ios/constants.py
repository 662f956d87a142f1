"""Cisco IOS vendor data: prompts, messages and error texts, kept apart from behaviour.

Texts follow Cisco IOS 15.x as documented and as commonly captured; where a wording could not be checked
against a real device it is marked ``[M]``.
"""

from __future__ import annotations

# Prompt suffixes per mode (hostname is prepended; no trailing space on IOS).
PROMPTS: dict[str, str] = {
    "user": ">",
    "enable": "#",
    "config": "(config)#",
    "config-if": "(config-if)#",
    "config-ext-nacl": "(config-ext-nacl)#",
    "config-ipv6-acl": "(config-ipv6-acl)#",
    "config-archive": "(config-archive)#",
}
PASSWORD_PROMPT = "Password: "  # noqa: S105 - a prompt, not a password

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."
AMBIGUOUS = '% Ambiguous command:  "{line}"'
BAD_SECRETS = "% Bad secrets"
ACCESS_DENIED = "% Access denied"  # [M] after a wrong enable secret with retries left IOS just re-prompts
DUPLICATE_SEQ = "% Duplicate sequence number"
ENTER_CONFIG = "Enter configuration commands, one per line.  End with CNTL/Z."
BUILDING = "Building configuration..."
OK = "[OK]"
COPY_DEST = "Destination filename [startup-config]? "
ARCHIVE_NEEDED = "%Turn config archive on before using Rollback Confirmed Change"
NO_ROLLBACK_PENDING = "%No Rollback Confirmed Change pending"
ROLLING_BACK = "Rollback Confirmed Change: Rolling to:{path}"  # [M]
ARCHIVE_NOT_ENABLED = "Archive feature not enabled"  # [M]
BANNER = "\n"
# ``enable`` on a vty with neither enable secret nor enable password configured [M].
NO_PASSWORD_SET = "% No password set"  # noqa: S105 - a message, not a password
# Banner mode after ``banner KIND D`` (netmiko contract, cisco_ios; [V] against netmiko only).
BANNER_ENTER = "Enter TEXT message.  End with the character '{delim}'."
BANNER_KINDS = ["motd", "login", "exec", "incoming", "slip-ppp", "prompt-timeout"]
VERSION = ("Cisco IOS Software, IOSv Software (VIOS-ADVENTERPRISEK9-M), Version 15.9(3)M6, "
           "RELEASE SOFTWARE (fc1)")
# ``show version`` of an IOSv router, shaped after IOSv 15.8 captures (ntc-templates' test data,
# tests/cisco_ios/show_version/cisco_ios_show_version3.raw); build line and serial are the lab's own [M].
VERSION_BODY = """{version}
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2022 by Cisco Systems, Inc.
Compiled Thu 08-Sep-22 18:02 by prod_rel_team


ROM: Bootstrap program is IOSv

{hostname} uptime is {uptime}
System returned to ROM by reload
System image file is "flash0:/vios-adventerprisek9-m"
Last reload reason: Unknown reason



Cisco IOSv (revision 1.0) with  with 460137K/62464K bytes of memory.
Processor board ID {serial}
{ports} Gigabit Ethernet interfaces
DRAM configuration is 72 bits wide with parity disabled.
256K bytes of non-volatile configuration memory.
2097152K bytes of ATA System CompactFlash 0 (Read/Write)
0K bytes of ATA CompactFlash 1 (Read/Write)
11217K bytes of ATA CompactFlash 2 (Read/Write)
0K bytes of ATA CompactFlash 3 (Read/Write)



Configuration register is 0x0
"""

# Keywords recognised per mode (for abbreviation and ambiguity checks, as IOS's parser does).
EXEC_USER = ["enable", "exit", "logout", "quit", "show", "terminal", "ping", "traceroute", "telnet", "ssh"]
EXEC_ENABLE = [*EXEC_USER, "configure", "copy", "disable", "write", "clear", "debug", "dir", "reload",
               "undebug", "archive"]
# Global configuration keywords (``Router(config)#?`` on IOS 15.x, common subset; Cisco IOS Configuration
# Fundamentals / IP / Security command references) [M]. A line whose first word is none of these is
# ``% Invalid input``; one that is, but is not interpreted, is stored (see generic.py).
CONFIG_GLOBAL = ["aaa", "access-list", "alias", "archive", "arp", "banner", "boot", "bridge", "cdp",
                 "class-map", "clock", "config-register", "control-plane", "crypto", "default", "dial-peer",
                 "do", "enable", "end", "errdisable", "event", "exit", "file", "hostname", "interface", "ip",
                 "ipv6", "key", "license", "line", "lldp", "logging", "login", "mac", "memory", "mmi",
                 "monitor", "multilink", "no", "ntp", "object-group", "policy-map", "privilege",
                 "redundancy", "route-map", "router", "scheduler", "service", "snmp-server",
                 "spanning-tree", "tacacs-server", "radius-server", "track", "username", "version",
                 "vlan", "vrf"]
# Second keywords of common global commands (``Router(config)#logging ?`` ...; Cisco IOS command
# references, common subset) [M]: a word outside the list is ``% Invalid input`` under it, as on IOS.
SECOND_KEYWORDS: dict[str, list[str]] = {
    "logging": ["buffered", "console", "monitor", "host", "trap", "facility", "source-interface", "on",
                "origin-id", "rate-limit", "history", "discriminator", "event", "queue-limit", "userinfo",
                "count", "persistent", "file", "snmp-trap", "reload"],
    "ip": ["access-list", "arp", "as-path", "bgp-community", "cef", "classless", "community-list",
           "default-gateway", "dhcp", "domain", "domain-list", "domain-lookup", "domain-name",
           "explicit-path", "finger", "flow-export", "forward-protocol", "ftp", "host", "http", "icmp",
           "igmp", "local",
           "multicast-routing", "name-server", "nat", "options", "pim", "prefix-list", "radius", "rcmd",
           "route", "routing", "scp", "sla", "source-route", "ssh", "subnet-zero", "tacacs", "tcp", "tftp",
           "vrf", "wccp"],
    "ipv6": ["access-list", "cef", "dhcp", "general-prefix", "host", "icmp", "multicast-routing",
             "neighbor", "prefix-list", "route", "router", "source-route", "unicast-routing"],
    "ntp": ["access-group", "authenticate", "authentication-key", "broadcastdelay", "logging", "master",
            "max-associations", "peer", "server", "source", "trusted-key", "update-calendar"],
    "service": ["call-home", "compress-config", "config", "counters", "dhcp", "finger", "internal", "nagle",
                "pad", "password-encryption", "sequence-numbers", "slave-log", "tcp-keepalives-in",
                "tcp-keepalives-out", "tcp-small-servers", "timestamps", "udp-small-servers"],
    "snmp-server": ["chassis-id", "community", "contact", "enable", "group", "host", "ifindex",
                    "location", "manager", "packetsize", "queue-length", "source-interface",
                    "system-shutdown", "trap", "trap-source", "user", "view"],
    "aaa": ["accounting", "authentication", "authorization", "group", "local", "new-model", "server",
            "session-id"],
    "clock": ["calendar-valid", "summer-time", "timezone"],
    "cdp": ["advertise-v2", "holdtime", "run", "timer"],
    "lldp": ["holdtime", "reinit", "run", "timer", "tlv-select"],
    "line": ["aux", "console", "tty", "vty"],
    "enable": ["algorithm-type", "password", "secret"],
}
# Interface configuration keywords (``Router(config-if)#?``, common subset) [M].
CONFIG_IF = ["arp", "bandwidth", "cdp", "default", "delay", "description", "do", "duplex",
             "encapsulation", "end", "exit", "ip", "ipv6", "keepalive", "load-interval", "logging",
             "mac-address", "media-type", "mtu", "negotiation", "no", "ntp", "service-policy", "shutdown",
             "speed", "standby", "switchport", "spanning-tree", "vrf"]
# ``ip ?`` / ``ipv6 ?`` in interface mode (common subset) [M].
CONFIG_IF_IP = ["access-group", "address", "authentication", "dhcp", "directed-broadcast", "flow",
                "hello-interval", "helper-address", "igmp", "information-reply", "mask-reply", "mtu", "nat",
                "ospf", "pim", "policy", "proxy-arp", "redirects", "rip", "route-cache", "split-horizon",
                "summary-address", "tcp", "unnumbered", "unreachables", "verify", "virtual-reassembly", "vrf"]
CONFIG_IF_IPV6 = ["address", "dhcp", "eigrp", "enable", "mtu", "nd", "ospf", "redirects", "rip",
                  "traffic-filter", "unreachables", "verify"]
CONFIG_ACL = ["permit", "deny", "remark", "no", "exit", "end", "do", "default"]
CONFIG_ACL6 = [*CONFIG_ACL, "sequence"]
CONFIG_ARCHIVE = ["path", "maximum", "write-memory", "time-period", "exit", "end", "do", "no", "log",
                  "rollback", "default"]

# Well-known ports IOS prints by name (and accepts by name) in ACL entries.
TCP_PORT_NAMES: dict[int, str] = {
    21: "ftp", 22: "22", 23: "telnet", 25: "smtp", 53: "domain", 80: "www", 110: "pop3", 143: "143",
    179: "bgp", 443: "443", 513: "login", 514: "cmd",
}
UDP_PORT_NAMES: dict[int, str] = {
    53: "domain", 67: "bootps", 68: "bootpc", 69: "tftp", 123: "ntp", 161: "snmp", 162: "snmptrap",
    500: "isakmp", 514: "syslog", 4500: "non500-isakmp",
}
TCP_NAME_INPUT: dict[str, int] = {
    **{v: k for k, v in TCP_PORT_NAMES.items() if not v.isdigit()}, "http": 80, "https": 443,
}
UDP_NAME_INPUT: dict[str, int] = {v: k for k, v in UDP_PORT_NAMES.items() if not v.isdigit()}
# ICMP message keywords of ``permit icmp`` (Cisco IOS Security Command Reference, ``permit (IP extended)``
# and ``permit icmp (IPv6)``): name -> (type, code or None for any code). IOS prints the keyword back.
ICMP_TYPES: dict[str, tuple[int, int | None]] = {
    "echo-reply": (0, None), "unreachable": (3, None), "net-unreachable": (3, 0), "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2), "port-unreachable": (3, 3), "packet-too-big": (3, 4),
    "administratively-prohibited": (3, 13), "source-quench": (4, None), "redirect": (5, None),
    "echo": (8, None), "router-advertisement": (9, None), "router-solicitation": (10, None),
    "time-exceeded": (11, None), "ttl-exceeded": (11, 0), "parameter-problem": (12, None),
    "timestamp-request": (13, None), "timestamp-reply": (14, None), "information-request": (15, None),
    "information-reply": (16, None), "mask-request": (17, None), "mask-reply": (18, None),
}
ICMP6_TYPES: dict[str, tuple[int, int | None]] = {
    "unreachable": (1, None), "no-route": (1, 0), "no-admin": (1, 1), "beyond-scope": (1, 2),
    "destination-unreachable": (1, 3), "port-unreachable": (1, 4), "packet-too-big": (2, None),
    "time-exceeded": (3, None), "hop-limit": (3, 0), "reassembly-timeout": (3, 1),
    "parameter-problem": (4, None), "header": (4, 0), "next-header": (4, 1), "parameter-option": (4, 2),
    "echo-request": (128, None), "echo-reply": (129, None), "mld-query": (130, None),
    "mld-report": (131, None), "mld-reduction": (132, None), "router-solicitation": (133, None),
    "router-advertisement": (134, None), "nd-ns": (135, None), "nd-na": (136, None), "redirect": (137, None),
    "router-renumbering": (138, None), "renum-command": (138, 0), "renum-result": (138, 1),
    "renum-seq-number": (138, 255), "dhaad-request": (144, None), "dhaad-reply": (145, None),
    "mpd-solicitation": (146, None), "mpd-advertisement": (147, None),
}
# IOS IPv6 ACLs end with implicit ``permit icmp any any nd-na``, ``permit icmp any any nd-ns`` and then
# ``deny ipv6 any any`` (Cisco IOS IPv6 Configuration Guide, "IPv6 Access Control Lists"): neighbour
# advertisements and solicitations only, not router solicitations/advertisements. An explicit final deny
# comes before them, so it drops neighbour discovery too.
IMPLICIT_ND6: tuple[int, ...] = (135, 136)
PROTOCOLS4: dict[str, int | None] = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1, "gre": 47, "esp": 50,
                                     "ahp": 51, "ospf": 89}
PROTOCOLS6: dict[str, int | None] = {"ipv6": None, "tcp": 6, "udp": 17, "icmp": 58, "esp": 50, "ahp": 51}
INTERFACE_TYPES = ["GigabitEthernet", "FastEthernet", "TenGigabitEthernet", "Ethernet", "Loopback",
                   "Serial", "Tunnel", "Vlan", "Port-channel"]
# Interfaces configuration creates (``interface Loopback0``); others exist only as hardware.
VIRTUAL_INTERFACE_TYPES = ["Loopback", "Tunnel", "Vlan", "Port-channel", "BDI"]
INTERFACE_NOT_REMOVABLE = "% Removal of physical interfaces is not permitted"  # [M]
# The factory lines of the lab router's running-config the emulator stores but does not interpret.
BASELINE_LINES = ["service timestamps debug datetime msec", "service timestamps log datetime msec",
                  "no service password-encryption", "no aaa new-model", "no ip domain lookup", "ip cef",
                  "ipv6 unicast-routing", "ip forward-protocol nd", "no ip http server", "ip ssh version 2"]
FAKE_SECRET_HASH = "$9$emulated.lab.device.no.real.hash"  # noqa: S105 - placeholder, never the real one
ARCHIVE_DEFAULT_MAX = 10
