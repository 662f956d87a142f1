"""Cisco ASA vendor data (object names, commands, error texts, port names), kept apart from behaviour.

Sources: the Cisco ASA Series Command Reference 9.x (``access-list extended``, ``access-group``,
``object-group network|service``, ``clear configure access-list``, ``clear conn``, ``show conn``, ``write
memory``) and the ASA 9.x configuration guide (unified ACLs: one ACL holds IPv4 and IPv6 entries, ``any4``
and ``any6`` match one family). netmiko ``CiscoAsaSSH`` (login, ``terminal pager 0``, ``write mem``).
Wording not checked against a real ASA is marked ``[M]``.
"""

from __future__ import annotations

import re

#: egressctl's two ACL slots. A change builds the slot that is not bound, binds it with ``access-group``
#: (the ASA replaces the interface's ACL of that direction in one step), then removes the other slot: the
#: ASA applies every line at once, so an ACL in use is never seen half-built (make before break).
SLOTS = ("EGRESSCTL-A", "EGRESSCTL-B")
#: egressctl's object-groups: ``EGC-<slot letter>-<rule number>-<S|D|P|Q><family>`` (sources, destinations,
#: destination ports, source ports), used when a rule has more than one of them in a family.
GROUP_PREFIX = "EGC-"
GROUP_RE = re.compile(r"^EGC-([AB])-\d+-[SDPQ][46]$")
#: Direction on the device's ``outside`` nameifs: ``out`` checks new connections leaving the site, in
#: their original direction, and leaves the site's own inbound ACLs (``in``) alone.
DIRECTION = "out"
#: The read-back: the three sections egressctl's objects live in.
READ_BACK = ("show running-config object-group", "show running-config access-list",
             "show running-config access-group")
#: Lines the ASA prints when it refuses something (matched with re.M; the whole line is the device's words).
ERROR_PATTERNS: tuple[str, ...] = (r"^\s*ERROR:.*$", r"^\s*% ?(Invalid input|Incomplete command).*$")
#: Port names the ASA shows instead of numbers (parsed back to numbers).
PORTS: dict[str, int] = {
    "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "tacacs": 49, "domain": 53, "tftp": 69, "www": 80,
    "http": 80, "pop3": 110, "ntp": 123, "imap4": 143, "snmp": 161, "snmptrap": 162, "bgp": 179,
    "ldap": 389, "https": 443, "isakmp": 500, "syslog": 514, "ldaps": 636,
}
#: Session kill: ``clear conn`` with the connection's protocol, both addresses and ports.
CONN_CMD = "show conn"
CLEAR_CMD = "clear conn protocol {proto} address {src} port {sport} address {dst} port {dport}"
CLEARED_RE = re.compile(r"^\s*([1-9]\d*) connection\(s\) deleted", re.M)  # [M]
#: ``show conn`` rows (ASA 9.x): ``TCP outside  203.0.113.80:443 inside  10.10.1.20:51234, idle ...``.
CONN_ROW_RE = re.compile(r"^(?P<proto>TCP|UDP|ICMP|SCTP)\s+(?P<if1>\S+)\s+(?P<ep1>\S+)\s+(?P<if2>\S+)\s+"
                         r"(?P<ep2>\S+?),", re.M)
#: The ASA keeps connections on an ACL change (its ACLs are checked at connection set-up only).
KEPT_NOTE = "ASA checks an ACL at connection set-up only: established connections stay until cleared"
