"""RouterOS vendor data: prompts, banner, error texts, menus and the default configuration.

Sources: the RouterOS manual (Console, Scripting, Firewall Filter, Connection tracking, Scheduler, Scripts,
Default configurations) and netmiko's ``MikrotikBase`` (login options after ``+`` in the user name, the
``] >`` prompt, ``quit``). Wording not checked against a real router is marked ``[M]``.
"""

from __future__ import annotations

VERSION = "7.16.1"
#: ``[user@identity] /menu> `` (the menu part only when the console is inside a menu).
PROMPT = "[{user}@{identity}] {path}> "
BANNER = """

  MMM      MMM       KKK                          TTTTTTTTTTT      KKK
  MMMM    MMMM       KKK                          TTTTTTTTTTT      KKK
  MMM MMMM MMM  III  KKK  KKK  RRRRRR     OOOOOO      TTT     III  KKK  KKK
  MMM  MM  MMM  III  KKKKK     RRR  RRR  OOO  OOO     TTT     III  KKKKK
  MMM      MMM  III  KKK KKK   RRRRRR    OOO  OOO     TTT     III  KKK KKK
  MMM      MMM  III  KKK  KKK  RRR  RRR   OOOOOO      TTT     III  KKK  KKK

  MikroTik RouterOS {version} (c) 1999-2024       https://www.mikrotik.com/

Press F1 for help

"""
# Console errors (RouterOS manual, Console: "line 1 column N" positions) [M for exact words].
BAD_COMMAND = "bad command name {word} (line 1 column {col})"
SYNTAX = "syntax error (line 1 column {col})"
EXPECTED_END = "expected end of command (line 1 column {col})"
NO_SUCH_ITEM = "no such item"
BAD_VALUE = "input does not match any value of {prop}"  # [M]
NOT_SET = "failure: {prop} not set"  # [M]
DUPLICATE = "failure: item with such name already exists"  # [M]
PORT_NEEDS_PROTO = "failure: can not have port without protocol tcp, udp, udp-lite, dccp or sctp"  # [M]
REBOOT_ASK = "Reboot, yes? [y/N]: "
REBOOT_SAID = "system will reboot shortly"
#: Seconds after boot when ``start-time=startup`` events run (Scheduler manual: "3 seconds after").
STARTUP_DELAY = 3.0
#: Seconds a reboot takes before the router answers again [M].
BOOT_SECONDS = 10.0

#: Menu path -> kind: ``list`` (numbered items), ``single`` (one set of properties), ``conn`` (the
#: connection table), ``ro`` (read-only, generated). Prefixes of these paths are menus too (``/ip``).
MENUS: dict[str, str] = {
    "ip firewall filter": "list", "ipv6 firewall filter": "list",
    "ip firewall address-list": "list", "ipv6 firewall address-list": "list",
    "ip firewall nat": "list", "ip firewall mangle": "list", "ip firewall raw": "list",
    "ipv6 firewall mangle": "list", "ipv6 firewall raw": "list",
    "ip firewall connection": "conn", "ipv6 firewall connection": "conn",
    "ip address": "list", "ipv6 address": "list", "ip route": "list", "ipv6 route": "list",
    "ip pool": "list", "ip dhcp-server": "list", "ip dhcp-server network": "list",
    "ip dns": "single", "ip service": "list", "ip neighbor discovery-settings": "single",
    "interface list": "list", "interface list member": "list", "interface bridge": "list",
    "interface bridge port": "list", "interface vlan": "list", "interface": "ro",
    "system identity": "single", "system clock": "single", "system ntp client": "single",
    "system ntp client servers": "list", "system logging": "list", "system logging action": "list",
    "system note": "single", "system scheduler": "list", "system script": "list", "system resource": "ro",
    "snmp": "single", "snmp community": "list", "user": "list", "user group": "list", "tool romon": "single",
}
#: Commands each kind of menu takes.
COMMANDS: dict[str, tuple[str, ...]] = {
    "list": ("add", "set", "remove", "print", "export", "enable", "disable", "find", "edit", "comment"),
    "single": ("set", "print", "export"),
    "conn": ("print", "remove", "find"),
    "ro": ("print",),
}
#: Properties a firewall filter rule takes (Firewall Filter manual); others are refused.
FILTER_PROPS = frozenset({
    "chain", "action", "jump-target", "connection-state", "connection-nat-state", "protocol", "src-address",
    "dst-address", "src-address-list", "dst-address-list", "src-port", "dst-port", "port", "in-interface",
    "out-interface", "in-interface-list", "out-interface-list", "comment", "disabled", "log", "log-prefix",
    "hw-offload", "reject-with", "icmp-options", "ipsec-policy", "tcp-flags", "connection-limit",
    "src-mac-address", "dst-limit", "limit", "address-list", "address-list-timeout", "place-before",
})
FILTER_ACTIONS = frozenset({
    "accept", "add-dst-to-address-list", "add-src-to-address-list", "drop", "fasttrack-connection", "jump",
    "log", "passthrough", "reject", "return", "tarpit",
})
#: ``print`` order of filter properties (the order ntc-templates' filter template expects).
FILTER_ORDER = (
    "chain", "action", "jump-target", "hw-offload", "connection-state", "connection-nat-state", "protocol",
    "src-address", "dst-address", "src-address-list", "dst-address-list", "in-interface-list",
    "out-interface-list", "src-port", "dst-port", "src-mac-address", "in-interface", "out-interface",
    "ipsec-policy", "log", "log-prefix",
)
#: Properties that name an item (``remove NAME``).
NAME_PROPS = ("name",)

#: RouterOS 7 default configuration of a home/office router, trimmed to what the emulator enforces
#: ("Default configurations" manual): FastTrack for established and related IPv4 connections before
#: the accept of established ones, so an established connection never meets a rule added below them.
DEFAULT_FILTER4 = [
    'action=accept chain=input comment="defconf: accept established,related,untracked" '
    "connection-state=established,related,untracked",
    'action=drop chain=input comment="defconf: drop invalid" connection-state=invalid',
    'action=accept chain=input comment="defconf: accept ICMP" protocol=icmp',
    'action=fasttrack-connection chain=forward comment="defconf: fasttrack" '
    "connection-state=established,related hw-offload=yes",
    'action=accept chain=forward comment="defconf: accept established,related, untracked" '
    "connection-state=established,related,untracked",
    'action=drop chain=forward comment="defconf: drop invalid" connection-state=invalid',
]
DEFAULT_FILTER6 = [
    'action=accept chain=input comment="defconf: accept established,related,untracked" '
    "connection-state=established,related,untracked",
    'action=drop chain=input comment="defconf: drop invalid" connection-state=invalid',
    'action=accept chain=input comment="defconf: accept ICMPv6" protocol=icmpv6',
    'action=accept chain=forward comment="defconf: accept established,related,untracked" '
    "connection-state=established,related,untracked",
    'action=drop chain=forward comment="defconf: drop invalid" connection-state=invalid',
    'action=accept chain=forward comment="defconf: accept ICMPv6" protocol=icmpv6',
]
RESOURCE = """                   uptime: {uptime}
                  version: {version} (stable)
               build-time: Nov/27/2024 13:14:01
         factory-software: 7.1
              free-memory: 190.2MiB
             total-memory: 256.0MiB
                      cpu: ARM
                cpu-count: 4
            cpu-frequency: 716MHz
                 cpu-load: 1%
           free-hdd-space: 98.4MiB
          total-hdd-space: 128.0MiB
  write-sect-since-reboot: 1024
         write-sect-total: 20480
        architecture-name: arm
               board-name: CHR
                 platform: MikroTik
"""
