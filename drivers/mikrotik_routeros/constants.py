"""MikroTik RouterOS vendor data (menus, object names, commands, error texts), kept apart from behaviour.

Sources: the RouterOS manual (Firewall Filter: chains, ``jump``/``return``, ``place-before``; FastTrack;
Connection tracking; Scheduler: ``interval``, ``start-time=startup`` runs 3 s after boot; Scripts;
Console: ``[find where ...]``, export) and netmiko's ``MikrotikRouterOsSSH`` (no config mode, no commit, its
inherited ``save_config`` sends a Cisco command and is never called: RouterOS saves every change at once).
Wording not checked against a real router is marked ``[M]``.
"""

from __future__ import annotations

#: The filter menus, per family.
MENU = {4: "/ip firewall filter", 6: "/ipv6 firewall filter"}
CONN_MENU = {4: "/ip firewall connection", 6: "/ipv6 firewall connection"}
#: egressctl's two chains per family: a change is built in the free one, then the jump rules are pointed at
#: it with one ``set`` (make-before-break: traffic meets the old rules or the new ones, never none); the
#: old chain stays until the confirm, so the on-box undo only points the jumps back.
SLOTS = ("egressctl-a", "egressctl-b")
#: The comment of the jump rules (one per outside interface, ``chain=forward``, placed at the top, so
#: before the FastTrack rule of the default configuration), and the prefix of every owned comment.
JUMP_COMMENT = "egressctl jump"
OWNED_PREFIX = "egressctl"
RULE_COMMENT = "egressctl rule={name}"
#: The on-box safety net: a script holding the undo, run by two scheduler items (after ``interval``, and 3 s
#: after a reboot: RouterOS saves every change at once, so an unconfirmed change would otherwise survive
#: a power cut). The confirm removes them; the script removes them when it runs.
REVERT = "egressctl-revert"
REVERT_BOOT = "egressctl-revert-boot"
#: The scheduler counts seconds; egressctl never arms less than a minute, so the read-back and the
#: management check on a fresh session finish before it fires [M: first run = added + interval].
REVERT_MIN_SECONDS = 60
REVERT_MAX_SECONDS = 24 * 3600
#: The read-back (both families' filters, one line per rule, RouterOS's own export).
READ_BACK = ("/ip firewall filter export terse", "/ipv6 firewall filter export terse")
SCHEDULER_READ = "/system scheduler export terse"
SNAPSHOT = "/export terse"
#: Lines RouterOS prints when it refuses something (Console manual; matched with re.M).
ERROR_PATTERNS: tuple[str, ...] = (
    r"^\s*(bad command name|syntax error|expected end of command|expected command name|no such item|"
    r"invalid value|input does not match|ambiguous value|failure:|value of \S+ (must|out of)).*$",
)
#: Protocol words RouterOS shows.
PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmp", "ipv6-icmp": "icmp"}
FASTTRACK_NOTE = ("FastTrack (the default configuration) lets established connections skip the filter, so a "
                  "cut keeps them until their connection entries are removed")
