"""Arista EOS vendor data: prompts, messages, keywords and port names, kept apart from behaviour.

Sources: the EOS User Manual (ACLs: ``ip access-list NAME``, ``ipv6 access-list NAME``, sequence numbers,
``ip access-group NAME in|out``; configuration sessions: ``configure session NAME``, ``commit timer
hh:mm:ss``, ``abort``, ``show session-config diffs``, ``show configuration sessions``) and netmiko's
``arista/arista.py`` (``terminal width`` must answer ``Width set to``, ``terminal length 0`` must answer
``Pagination disabled``). Wording that could not be checked against a real switch is marked ``[M]``.
"""

from __future__ import annotations

#: Prompt suffixes per mode; the hostname is prepended, no trailing space (EOS, as netmiko expects).
PROMPTS: dict[str, str] = {
    "user": ">",
    "enable": "#",
    "config": "(config)#",
    "config-if": "(config-if-{arg})#",
    "config-acl": "(config-acl-{arg})#",
    "config-ipv6-acl": "(config-ipv6-acl-{arg})#",
    "config-generic": "(config-{arg})#",
}
#: Inside a configuration session EOS shows ``config-s-<session>`` (the name shortened) [M].
SESSION_PROMPT_CHARS = 6
PASSWORD_PROMPT = "Password: "  # noqa: S105 - a prompt, not a password

INVALID = "% Invalid input"
INCOMPLETE = "% Incomplete command"
AMBIGUOUS = "% Ambiguous command"
PRIVILEGED = "% Invalid input (privileged mode required)"  # [M]
WIDTH_SET = "Width set to {n} columns."
PAGINATION_OFF = "Pagination disabled."
PAGINATION_SET = "Pagination set to {n} lines."  # [M]
COPY_OK = "Copy completed successfully."
DUPLICATE_SEQ = "% Error: Duplicate sequence number"  # [M]
NO_SUCH_ACL_ENTRY = "% Error: Sequence number {seq} does not exist"  # [M]
TIMER_PENDING_ELSEWHERE = "% Cannot commit: session {name} has a pending commit timer"  # [M]
SESSION_TIMER_PENDING = "% Session {name} is pending a commit timer; commit or abort it"  # [M]
NO_SUCH_SESSION = "% Session {name} does not exist"  # [M]
SESSION_NOT_PENDING = "% Session {name} is not pending"  # [M]
BAD_TIMER = "% Invalid timer value"  # [M]
#: Completed sessions ``show configuration sessions`` keeps listing ("Maximum number of completed sessions").
MAX_COMPLETED = 1
#: Longest ``commit timer`` EOS takes [M]; the lab never needs more.
TIMER_MAX_SECONDS = 24 * 3600

VERSION = """Arista vEOS-lab
Hardware version:
Serial number: SN-EMULATED
Hardware MAC address: 5254.0012.3401
System MAC address: 5254.0012.3401

Software image version: 4.31.2F
Architecture: x86_64
Internal build version: 4.31.2F-35442176.4312F
Internal build ID: 4ef2d6a3-5b5b-4a7e-9e0b-2f4e0f3f6a51
Image format version: 1.0
Image optimization: None

Uptime: 1 hour and 3 minutes
Total memory: 3984500 kB
Free memory: 2411232 kB
"""
FAKE_SECRET = "sha512 $6$emulated$lab.device.not.a.real.hash"  # noqa: S105 - placeholder hash

#: Exec keywords (abbreviations resolve against these, as EOS's parser does).
EXEC_USER = ["enable", "exit", "logout", "quit", "show", "terminal", "ping", "traceroute", "ssh"]
EXEC_ENABLE = [*EXEC_USER, "configure", "copy", "disable", "write", "clear", "bash", "reload"]
SHOW = ["running-config", "startup-config", "version", "hostname", "clock", "ip", "ipv6", "interfaces",
        "configuration", "session-config", "users", "access-lists"]

#: Global configuration commands EOS has that the emulator does not interpret: such a line is stored in
#: the generic tree (shown, saved, committed and rolled back like any other). Those in ``BLOCKS`` open a
#: sub-mode whose lines are stored under them (``vlan 120`` / ``name tenant-a``).
GENERIC: frozenset[str] = frozenset({
    "aaa", "alias", "banner", "clock", "daemon", "dns", "dot1x", "errdisable", "event-handler", "ip",
    "ipv6", "lldp", "logging", "mac", "management", "monitor", "ntp", "policy-map", "class-map",
    "queue-monitor", "radius-server", "route-map", "router", "service", "sflow", "snmp-server",
    "spanning-tree", "tacacs-server",
    "transceiver", "username", "vlan", "vrf", "load-interval", "prompt", "system", "platform", "hardware",
    "agent", "peer-filter", "match-list", "role", "ptp", "qos", "mlag", "port-channel", "tap", "tcam",
})
BLOCKS: frozenset[str] = frozenset({
    "vlan", "router", "management", "policy-map", "class-map", "route-map", "daemon", "event-handler",
    "monitor", "mlag", "role", "peer-filter", "match-list", "vrf", "aaa", "dot1x", "queue-monitor",
})
#: ``ip``/``ipv6`` sub-commands that are single lines (``ip routing``, ``ip route``, ``ip name-server``...).
IP_BLOCKS: frozenset[str] = frozenset({"prefix-list", "community-list", "as-path"})
#: Interface sub-commands stored as they are (the interface keeps them in its own generic list).
INTERFACE_GENERIC: frozenset[str] = frozenset({
    "switchport", "mtu", "speed", "duplex", "ip", "ipv6", "vrf", "channel-group", "spanning-tree",
    "load-interval", "lldp", "storm-control", "flowcontrol", "logging", "mac", "arp", "bfd", "pim",
    "service-policy", "qos", "sflow", "vlan", "encapsulation", "dot1x", "snmp", "link-debounce",
})
INTERFACE_KINDS = {"ethernet": "Ethernet", "vlan": "Vlan", "management": "Management", "loopback": "Loopback",
                   "port-channel": "Port-Channel"}

# -- ACL data -------------------------------------------------------------------------------------------
PROTOCOLS4: dict[str, int | None] = {"ip": None, "tcp": 6, "udp": 17, "icmp": 1, "gre": 47, "esp": 50,
                                     "ahp": 51, "ospf": 89, "pim": 103, "vrrp": 112}
PROTOCOLS6: dict[str, int | None] = {"ipv6": None, "tcp": 6, "udp": 17, "icmpv6": 58, "esp": 50, "ospf": 89}
#: Well-known ports EOS prints by name in ACL entries (and accepts by name) [M: the set shown].
PORT_NAMES: dict[int, str] = {
    21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain", 69: "tftp", 80: "www", 110: "pop3",
    123: "ntp", 143: "imap", 161: "snmp", 162: "snmptrap", 179: "bgp", 443: "https", 500: "isakmp",
    514: "syslog", 4500: "non500-isakmp",
}
PORT_INPUT: dict[str, int] = {**{v: k for k, v in PORT_NAMES.items()}, "http": 80}
ICMP_TYPES: dict[str, tuple[int, int | None]] = {
    "echo-reply": (0, None), "unreachable": (3, None), "port-unreachable": (3, 3), "echo": (8, None),
    "time-exceeded": (11, None), "parameter-problem": (12, None), "redirect": (5, None),
}
ICMP6_TYPES: dict[str, tuple[int, int | None]] = {
    "unreachable": (1, None), "packet-too-big": (2, None), "time-exceeded": (3, None),
    "parameter-problem": (4, None), "echo-request": (128, None), "echo-reply": (129, None),
    "router-solicitation": (133, None), "router-advertisement": (134, None),
    "neighbor-solicitation": (135, None), "neighbor-advertisement": (136, None), "redirect": (137, None),
}
#: Longest remark EOS keeps [M].
REMARK_MAX = 100
