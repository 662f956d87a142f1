"""Arista EOS vendor data (object names, error texts, port keywords, timer bounds), kept apart from behaviour.

Sources: the EOS User Manual (ACLs, ``ip access-group NAME in|out``, configuration sessions with ``commit
timer hh:mm:ss``, ``configure session NAME commit``, ``abort``, ``show session-config named NAME diffs``,
``show configuration sessions``) and NAPALM's EOS driver (the same session lifecycle, pending state
``pendingCommitTimer``). Wording not checked against a real switch is marked ``[M]``.
"""

from __future__ import annotations

#: egressctl's ACLs. They are replaced inside a configuration session, which EOS applies in one step at
#: commit, so an applied ACL is never seen half-built and needs no make-before-break slots (unlike IOS).
ACL4 = "EGRESSCTL-V4"
ACL6 = "EGRESSCTL-V6"
#: egressctl's configuration sessions are named ``egressctl-<6 hex digits>``, a new one per change, as NAPALM
#: names its own uniquely (whether EOS lets a completed session's name be reused was not checked [M]);
#: ``show configuration sessions`` then says, from the switch itself, whether one of them waits.
SESSION = "egressctl"
SESSION_RE = r"egressctl(?:-[0-9a-f]{6})?"
#: Direction the ACLs are applied in, on the device's ``outside`` interfaces (the uplinks): ``out`` sees
#: exactly the traffic leaving the site, in its original direction. Traffic to the switch itself (the
#: operators' SSH) and the switch's own packets (IPv6 neighbour discovery) never meet an egress ACL.
DIRECTION = "out"
#: ``commit timer`` takes ``hh:mm:ss``. egressctl never arms less than a minute, so the read-back and the
#: management check on a fresh session finish before the switch rolls back; 24 h is the most it takes [M].
TIMER_MIN_SECONDS = 60
TIMER_MAX_SECONDS = 24 * 3600
#: ``show configuration sessions``: the state of a committed session waiting for its confirmation.
PENDING_STATE = "pendingCommitTimer"
#: The read-back: every ACL block and every interface block that binds one (``| section`` keeps whole blocks).
READ_BACK = "show running-config | section access-"
SESSIONS_CMD = "show configuration sessions"
#: Lines EOS prints when it refuses something (matched with re.M; the whole line is the device's words).
ERROR_PATTERNS: tuple[str, ...] = (
    r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command).*$",
    r"^\s*% ?(Error|Cannot|Session|Unknown|Not).*$",
)
#: Port keywords EOS may print instead of numbers in ACL entries (parsed back to numbers).
PORTS: dict[str, int] = {
    "bgp": 179, "bootpc": 68, "bootps": 67, "domain": 53, "echo": 7, "ftp": 21, "ftp-data": 20, "http": 80,
    "https": 443, "imap": 143, "imap4": 143, "isakmp": 500, "ldap": 389, "ldaps": 636, "non500-isakmp": 4500,
    "ntp": 123, "pop3": 110, "radius": 1812, "smtp": 25, "snmp": 161, "snmptrap": 162, "ssh": 22,
    "submission": 587, "syslog": 514, "tacacs": 49, "telnet": 23, "tftp": 69, "www": 80,
}
#: ACLs on an EOS switch are stateless (EOS User Manual, "ACLs"): every packet meets the ACL applied now,
#: so a cut ends established flows by itself and there is no session table to clear; an ACL switch cannot
#: clear flows, so the driver declares no session kill.
STATELESS_NOTE = "interface ACLs are stateless: every packet meets the new ACL, no session outlives the cut"
