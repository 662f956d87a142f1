"""Cisco IOS vendor data (object names, error texts, port keywords), kept apart from behaviour.

Port keywords are those IOS prints in ``show running-config`` instead of numbers (Cisco IOS Security
Command Reference, ``permit (IP extended)`` / ``permit (IPv6)``); the parser maps them back to numbers.
"""

from __future__ import annotations

#: egressctl's ACLs come in two slots per family so a change is built under the slot not in use, complete,
#: and then swapped in with one ``ip access-group`` / ``ipv6 traffic-filter`` line per interface
#: (make-before-break): an applied ACL is never edited in place.
ACL4_SLOTS = ("EGRESSCTL-V4-A", "EGRESSCTL-V4-B")
ACL6_SLOTS = ("EGRESSCTL-V6-A", "EGRESSCTL-V6-B")
#: Names written by egressctl before the slots existed: still owned, recognised and removed.
ACL4_LEGACY = "EGRESSCTL-V4"
ACL6_LEGACY = "EGRESSCTL-V6"
ACL4 = ACL4_SLOTS[0]
ACL6 = ACL6_SLOTS[0]
#: Remark heading the entries egressctl adds for the router's own needs, not from the neutral policy.
#: IPv6 ACLs carry implicit ``permit icmp any any nd-na`` / ``nd-ns`` before their implicit deny, but an
#: explicit final deny hides them (Cisco IOS IPv6 Configuration Guide, "IPv6 ACL implicit rules"), so the
#: ACL must permit neighbour discovery itself. Router solicitations from inside hosts are permitted too
#: (hosts bring up SLAAC faster); advertisements leave the router outbound and are not filtered here.
INFRA_REMARK = "egressctl infra: IPv6 neighbour discovery (not policy)"
ND_ACES: tuple[str, ...] = (
    "permit icmp any any nd-na",
    "permit icmp any any nd-ns",
    "permit icmp any any router-solicitation",
)
#: Archive path egressctl configures when the router has none (the revert timer needs one). Its file
#: name is the marker, read back from the device: an archive whose path is this one was added by egressctl
#: and is removed once nothing of egressctl's remains; any other archive path is the site's, never touched.
ARCHIVE_PATH = "flash:egressctl-revert"
#: ``configure terminal revert timer`` accepts 1..120 minutes.
REVERT_MIN_MINUTES = 1
REVERT_MAX_MINUTES = 120
#: Lines IOS prints when it refuses something (matched with re.M; the whole line is the device's text).
ERROR_PATTERNS: tuple[str, ...] = (
    r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command|Duplicate sequence).*$",
    r"^\s*%\s*\S.*(not|cannot|failed|error|denied|exist).*$",
    r"^%Turn config archive on.*$",
)
NO_PENDING = "No Rollback Confirmed Change pending"
PENDING_RE = r"Timer (type|value)\s*:"

TCP_PORTS: dict[str, int] = {
    "bgp": 179, "chargen": 19, "cmd": 514, "daytime": 13, "discard": 9, "domain": 53, "drip": 3949,
    "echo": 7, "exec": 512, "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "hostname": 101,
    "ident": 113, "irc": 194, "klogin": 543, "kshell": 544, "login": 513, "lpd": 515, "msrpc": 135,
    "nntp": 119, "onep-plain": 15001, "onep-tls": 15002, "pim-auto-rp": 496, "pop2": 109, "pop3": 110,
    "smtp": 25, "sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517, "telnet": 23, "time": 37,
    "uucp": 540, "whois": 43, "www": 80, "http": 80, "https": 443,
}
UDP_PORTS: dict[str, int] = {
    "biff": 512, "bootpc": 68, "bootps": 67, "discard": 9, "dnsix": 195, "domain": 53, "echo": 7,
    "isakmp": 500, "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138, "netbios-ns": 137,
    "netbios-ss": 139, "non500-isakmp": 4500, "ntp": 123, "pim-auto-rp": 496, "rip": 520, "ripv6": 521,
    "snmp": 161, "snmptrap": 162, "sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517, "tftp": 69,
    "time": 37, "who": 513, "xdmcp": 177,
}
#: Interface ACLs are stateless (Cisco IOS Security Configuration Guide, "IP Access List Overview"): every
#: packet is checked against the ACL applied now, so a cut ends established flows by itself and there is no
#: session table to clear. (Zone-based firewall inspection keeps state; egressctl does not configure it.)
STATELESS_NOTE = "interface ACLs are stateless: every packet meets the new ACL, no session outlives the cut"
