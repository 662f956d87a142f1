"""Cisco ASA vendor text (prompts, messages, display names), kept apart from the command handlers.

Sources: the Cisco ASA Series Command Reference 9.x (``access-list extended``, ``access-group``,
``object-group network|service``, ``clear conn``, ``show conn``, ``write memory``, ``show curpriv``,
``terminal pager``) and the ASA configuration guides (unified IPv4/IPv6 ACLs since 9.0: ``any`` matches
both families, ``any4``/``any6`` one). netmiko's ``CiscoAsaSSH`` gives the login sequence. Wording that
could not be checked against a real ASA's output is marked ``[M]``.
"""

from __future__ import annotations

VERSION = "9.16(4)"
#: Prompts by mode; the hostname comes first (``asa1>``, ``asa1#``, ``asa1(config)#``).
PROMPTS: dict[str, str] = {
    "user": ">", "enable": "#", "config": "(config)#", "config-if": "(config-if)#",
    "config-network-object-group": "(config-network-object-group)#",
    "config-service-object-group": "(config-service-object-group)#",
    "config-generic": "(config-{sub})#",
}
BANNER = ""
PASSWORD_PROMPT = "Password: "  # noqa: S105 (a prompt, not a password)
#: The parser's refusals (ASA prefixes them with ``ERROR:``).
INVALID = "ERROR: % Invalid input detected at '^' marker."
INCOMPLETE = "ERROR: % Incomplete command"
AMBIGUOUS = 'ERROR: % Ambiguous command:  "{line}"'
BAD_PASSWORD = "Invalid password"  # noqa: S105 (the ASA's refusal text)
NO_ENABLE = "ERROR: Command authorization failed"
#: Object-group and ACL errors [M: wording from public ASA transcripts, not checked on a box].
GROUP_IN_USE = "ERROR: Object-group {name} is being used by access-list {acl}, remove it first"
GROUP_MISSING = "ERROR: specified object group <{name}> not found"
GROUP_KIND = "ERROR: Object-group {name} is not a {kind} object group"
ACL_MISSING = "ERROR: access-list <{name}> does not exist"
ACE_MISSING = "ERROR: access-list <{name}> entry not found"
NAMEIF_MISSING = "ERROR: The interface name '{name}' does not exist"
#: ``write memory`` [M: the cryptochecksum and byte figures are the shape, not a real box's].
WRITE_MEM = ("Building configuration...\nCryptochecksum: {c1} {c2} {c3} {c4} \n\n"
             "{size} bytes copied in 0.110 secs\n[OK]\n")
CONN_DELETED = "{n} connection(s) deleted."  # [M]
#: ``show curpriv`` (netmiko reads only its echo).
CURPRIV = "Username : {user}\nCurrent privilege level : {level}\nCurrent Mode/s : {mode}\n"
#: Port names the ASA shows in ACEs and port-objects instead of numbers (Command Reference, "TCP and UDP
#: ports" table; 4500 has no name and stays a number).
PORT_NAMES: dict[int, str] = {
    21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 49: "tacacs", 53: "domain", 69: "tftp", 80: "www",
    110: "pop3", 123: "ntp", 143: "imap4", 161: "snmp", 162: "snmptrap", 179: "bgp", 389: "ldap",
    443: "https", 500: "isakmp", 514: "syslog", 636: "ldaps",
}
PORT_INPUT: dict[str, int] = {**{v: k for k, v in PORT_NAMES.items()}, "http": 80}
#: Global commands the ASA accepts that the emulator stores without interpreting (first keyword).
GENERIC_GLOBAL = frozenset({
    "names", "name", "logging", "ntp", "dns", "domain-name", "clock", "snmp-server", "ssh", "http", "aaa",
    "username", "enable", "pager", "mtu", "icmp", "arp", "timeout", "user-identity", "route", "ipv6",
    "service-policy", "no", "crypto", "telnet", "console", "threat-detection", "dhcpd", "nat", "banner",
    "same-security-traffic", "asdm", "firewall", "failover", "prompt", "class-map", "policy-map",
    "call-home", "dynamic-access-policy-record", "service", "group-policy", "tunnel-group", "ip",
})
#: Global commands opening a sub-mode stored generically, and the sub-mode name in the prompt.
GENERIC_SUBMODES: dict[str, str] = {
    "class-map": "cmap", "policy-map": "pmap", "call-home": "call-home",
    "dynamic-access-policy-record": "dynamic-access-policy-record", "group-policy": "group-policy",
    "tunnel-group": "tunnel-group",
}
#: Interface sub-commands the emulator stores as typed (nameif/security-level/ip address are interpreted).
INTERFACE_GENERIC = frozenset({"description", "shutdown", "speed", "duplex", "mtu", "management-only",
                               "ipv6", "no", "ip"})
BASELINE_LINES: list[str] = [
    "enable password ***** pbkdf2",
    "names",
    "no mac-address auto",
]
TRAILER_LINES: list[str] = [
    "ftp mode passive",
    "pager lines 24",
    "logging enable",
    "logging asdm informational",
    "no failover",
    "icmp unreachable rate-limit 1 burst-size 1",
    "no asdm history enable",
    "arp timeout 14400",
    "no arp permit-nonconnected",
    "timeout xlate 3:00:00",
    "timeout conn 1:00:00 half-closed 0:10:00 udp 0:02:00 sctp 0:02:00 icmp 0:00:02",
    "user-identity default-domain LOCAL",
    "aaa authentication ssh console LOCAL",
    "ssh stricthostkeycheck",
    "ssh timeout 5",
    "ssh key-exchange group dh-group14-sha256",
    "console timeout 0",
    "threat-detection basic-threat",
]
SHOW_VERSION = """
Cisco Adaptive Security Appliance Software Version {version}
SSP Operating System Version 2.10(1.162)
Device Manager Version 7.16(1)

Compiled on Thu 05-Aug-21 17:53 GMT by builders
System image file is "disk0:/asa9-16-4-smp-k8.bin"
Config file at boot was "startup-config"

{hostname} up {uptime}

Hardware:   ASAv, 2048 MB RAM, CPU Xeon 4100/6100/8100 series 2200 MHz, 1 CPU (1 core)
Internal ATA Compact Flash, 8192MB
BIOS Flash Firmware Hub @ 0x0, 0KB

{interfaces}
Licensed features for this platform:
Maximum VLANs                     : 50             perpetual
Inside Hosts                      : Unlimited      perpetual
Failover                          : Active/Standby perpetual

Serial Number: 9A5KLEGR1VT
Image type                        : Release
Key version                       : A
Configuration last modified by {user} at {modified}
"""
