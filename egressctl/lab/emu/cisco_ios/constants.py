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
VERSION = "Cisco IOS Software, IOSv Software (VIOS-ADVENTERPRISEK9-M), Version 15.9(3)M6"

# Keywords recognised per mode (for abbreviation and ambiguity checks, as IOS's parser does).
EXEC_USER = ["enable", "exit", "logout", "quit", "show", "terminal", "ping", "traceroute", "telnet", "ssh"]
EXEC_ENABLE = [*EXEC_USER, "configure", "copy", "disable", "write", "clear", "debug", "dir", "reload",
               "undebug", "archive"]
CONFIG_GLOBAL = ["access-list", "archive", "banner", "do", "end", "exit", "hostname", "interface", "ip",
                 "ipv6", "line", "logging", "no", "ntp", "router", "service", "snmp-server", "username",
                 "aaa", "alias", "boot", "cdp", "class-map", "clock", "crypto", "default", "enable"]
CONFIG_IF = ["description", "do", "end", "exit", "ip", "ipv6", "no", "shutdown", "duplex", "speed",
             "mtu", "bandwidth", "cdp", "default"]
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
ICMP_TYPES: dict[str, int] = {"echo": 8, "echo-reply": 0, "unreachable": 3, "time-exceeded": 11}
ICMP6_TYPES: dict[str, int] = {"echo-request": 128, "echo-reply": 129, "unreachable": 1}
PROTOCOLS4: dict[str, int | None] = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1, "gre": 47, "esp": 50,
                                     "ahp": 51, "ospf": 89}
PROTOCOLS6: dict[str, int | None] = {"ipv6": None, "tcp": 6, "udp": 17, "icmp": 58, "esp": 50, "ahp": 51}
INTERFACE_TYPES = ["GigabitEthernet", "FastEthernet", "TenGigabitEthernet", "Ethernet", "Loopback",
                   "Serial", "Tunnel", "Vlan", "Port-channel"]
FAKE_SECRET_HASH = "$9$emulated.lab.device.no.real.hash"  # noqa: S105 - placeholder, never the real one
ARCHIVE_DEFAULT_MAX = 10
