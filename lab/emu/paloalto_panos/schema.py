"""The part of the PAN-OS configuration schema the emulator accepts without interpreting it.

A real firewall accepts any ``set`` line its schema has (VLANs, interfaces, virtual routers, system
settings, log forwarding, zones...), so the emulator keeps those lines in a generic tree (``generic.py``)
instead of answering ``Invalid syntax.``. A word the schema below does not have is still refused.

Shape: a dict is a container node whose keys are the keywords PAN-OS allows there; :data:`NAMED` (``"*"``)
stands for a user-chosen entry name; a tuple is a leaf (its allowed values; empty: any value, one token or
a ``[ ... ]`` list). Sources: PAN-OS 10.2 CLI Quick Start ("CLI Cheat Sheet: Networking", "Device
Management"), the PAN-OS XML API configuration paths (``/config/devices/entry/network/vlan/entry``,
``.../deviceconfig/system/dns-setting/servers``, ``/config/shared/log-settings/syslog/entry/server/entry``,
``.../vsys/entry/zone/entry/network/layer3``). Attributes not listed here are refused though the real
schema has them [M]; value formats of the leaves are not checked (any token is taken) [M].
"""

from __future__ import annotations

from typing import TypeAlias

Node: TypeAlias = "dict[str, Node] | tuple[str, ...]"

NAMED = "*"
ANY: tuple[str, ...] = ()
YES_NO = ("yes", "no")

_UNIT: Node = {"tag": ANY, "ip": ANY, "comment": ANY, "interface-management-profile": ANY,
               "ipv6": {"enabled": YES_NO, "address": ANY}}
_L3: Node = {
    "ip": ANY, "units": {NAMED: _UNIT}, "interface-management-profile": ANY, "mtu": ANY,
    "ipv6": {"enabled": YES_NO, "address": ANY}, "dhcp-client": {"enable": YES_NO},
    "lldp": {"enable": YES_NO},
}
_L2: Node = {"units": {NAMED: {"tag": ANY, "comment": ANY}}, "lldp": {"enable": YES_NO}}
_ETHERNET: Node = {
    "layer3": _L3, "layer2": _L2, "virtual-wire": {}, "tap": {}, "comment": ANY,
    "link-speed": ANY, "link-duplex": ("auto", "full", "half"), "link-state": ("auto", "up", "down"),
    "aggregate-group": ANY,
}
_STATIC_ROUTE: Node = {NAMED: {"destination": ANY, "interface": ANY, "metric": ANY, "admin-dist": ANY,
                               "nexthop": {"ip-address": ANY, "ipv6-address": ANY, "next-vr": ANY,
                                           "discard": {}}}}
_NTP: Node = {"ntp-server-address": ANY, "authentication-type": {"none": {}, "autokey": {}}}
_SYSLOG_SERVER: Node = {"server": ANY, "transport": ("UDP", "TCP", "SSL"), "port": ANY,
                        "format": ("BSD", "IETF"), "facility": ANY}

NETWORK: Node = {
    "vlan": {NAMED: {"interface": ANY, "virtual-interface": {"interface": ANY, "l3-forwarding": YES_NO},
                     "comment": ANY}},
    "interface": {
        "ethernet": {NAMED: _ETHERNET},
        "aggregate-ethernet": {NAMED: {"layer3": _L3, "layer2": _L2, "comment": ANY}},
        "vlan": {"ip": ANY, "units": {NAMED: _UNIT}, "comment": ANY},
        "loopback": {"ip": ANY, "units": {NAMED: _UNIT}, "comment": ANY},
        "tunnel": {"units": {NAMED: _UNIT}, "comment": ANY},
    },
    "virtual-router": {NAMED: {
        "interface": ANY,
        "routing-table": {"ip": {"static-route": _STATIC_ROUTE}, "ipv6": {"static-route": _STATIC_ROUTE}},
        "ecmp": {"enable": YES_NO},
    }},
    "virtual-wire": {NAMED: {"interface1": ANY, "interface2": ANY, "tag-allowed": ANY}},
    "profiles": {
        "interface-management-profile": {NAMED: {
            "ping": YES_NO, "ssh": YES_NO, "https": YES_NO, "http": YES_NO, "snmp": YES_NO,
            "telnet": YES_NO, "response-pages": YES_NO, "userid-service": YES_NO,
            "permitted-ip": ANY,
        }},
        "zone-protection-profile": {NAMED: {"description": ANY}},
    },
    "lldp": {"enable": YES_NO},
}

DEVICECONFIG: Node = {
    "system": {
        "hostname": ANY, "ip-address": ANY, "netmask": ANY, "default-gateway": ANY, "domain": ANY,
        "timezone": ANY, "login-banner": ANY, "update-server": ANY, "speed-duplex": ANY,
        "ipv6-address": ANY, "ipv6-default-gateway": ANY,
        "type": {"static": {}, "dhcp-client": {"send-hostname": YES_NO, "send-client-id": YES_NO,
                                               "accept-dhcp-hostname": YES_NO,
                                               "accept-dhcp-domain": YES_NO}},
        "dns-setting": {"servers": {"primary": ANY, "secondary": ANY}},
        "ntp-servers": {"primary-ntp-server": _NTP, "secondary-ntp-server": _NTP},
        "permitted-ip": {NAMED: {"description": ANY}},
        "service": {"disable-telnet": YES_NO, "disable-http": YES_NO, "disable-https": YES_NO,
                    "disable-ssh": YES_NO, "disable-snmp": YES_NO, "disable-icmp": YES_NO},
        "snmp-setting": {"snmp-system": {"location": ANY, "contact": ANY,
                                         "send-event-specific-traps": YES_NO},
                         "access-setting": {"version": {"v2c": {"snmp-community-string": ANY}}}},
    },
    "setting": {
        "session": {"rematch-sessions": YES_NO, "timeout-tcp": ANY, "timeout-udp": ANY,
                    "timeout-icmp": ANY, "timeout-default": ANY, "tcp-reject-non-syn": YES_NO},
        "management": {"idle-timeout": ANY, "hostname-type-in-syslog": ANY},
        "config": {"rematch": YES_NO},
    },
}

SHARED: Node = {
    "log-settings": {
        "syslog": {NAMED: {"server": {NAMED: _SYSLOG_SERVER}}},
        "system": {"match-list": {NAMED: {"filter": ANY, "send-syslog": ANY, "description": ANY}}},
        "config": {"match-list": {NAMED: {"filter": ANY, "send-syslog": ANY, "description": ANY}}},
    },
    "address": {NAMED: {"ip-netmask": ANY, "ip-range": ANY, "fqdn": ANY, "description": ANY, "tag": ANY}},
    "address-group": {NAMED: {"static": ANY, "description": ANY, "tag": ANY}},
    "service": {NAMED: {"protocol": {"tcp": {"port": ANY, "source-port": ANY},
                                     "udp": {"port": ANY, "source-port": ANY}},
                        "description": ANY, "tag": ANY}},
    "tag": {NAMED: {"color": ANY, "comments": ANY}},
}

#: Leaves holding member lists: ``set`` adds to them (as it adds to a rule's ``source``), ``delete`` removes.
MEMBER_LEAVES = frozenset({
    "ip", "interface", "layer3", "layer2", "virtual-wire", "tap", "static", "members", "tag", "address",
    "permitted-ip", "from", "to", "source", "destination", "service", "include-list", "exclude-list",
    "send-syslog",
})

#: Top-level (vsys) keywords kept generically, with the interpreted ones' generic siblings.
SCHEMA: dict[str, Node] = {
    "network": NETWORK,
    "deviceconfig": DEVICECONFIG,
    "shared": SHARED,
    "zone": {NAMED: {
        "network": {"layer3": ANY, "layer2": ANY, "virtual-wire": ANY, "tap": ANY,
                    "zone-protection-profile": ANY, "log-setting": ANY},
        "enable-user-identification": YES_NO,
        "user-acl": {"include-list": ANY, "exclude-list": ANY},
    }},
    "tag": {NAMED: {"color": ANY, "comments": ANY}},
    "application-group": {NAMED: {"members": ANY}},
    "service-group": {NAMED: {"members": ANY, "tag": ANY}},
    "rulebase": {"nat": {"rules": {NAMED: {
        "from": ANY, "to": ANY, "source": ANY, "destination": ANY, "service": ANY, "to-interface": ANY,
        "description": ANY, "disabled": YES_NO, "tag": ANY,
        "source-translation": {"dynamic-ip-and-port": {"interface-address": {"interface": ANY, "ip": ANY}}},
    }}}},
}
