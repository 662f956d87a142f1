"""Vendor data for the Linux nftables driver (names, paths, error patterns), kept apart from behaviour."""

from __future__ import annotations

import re

FAMILY = "inet"
TABLE = "egressctl"
CHAIN = "forward"
#: Before the distribution's and the site's own filter chains (priority 0), so egressctl's drop is final.
PRIORITY = -10
#: Per-namespace working directory on the device: rollback snapshot, candidate, dead-man pid file.
#: The network-namespace inode is appended because the nft table is per namespace while /run may be shared.
WORKDIR_BASE = "/run/egressctl"
CANDIDATE = "candidate.nft"
ROLLBACK = "rollback.nft"
RUNNING = "running.nft"
PIDFILE = "deadman.pid"
#: Printed instead of JSON when the table does not exist.
ABSENT = "EGRESSCTL-TABLE-ABSENT"
PENDING = "EGRESSCTL-PENDING"
IDLE = "EGRESSCTL-IDLE"
#: Lines written per command when a file is sent through the shell (keeps each command below the width).
CHUNK = 300
#: nft and shell error lines.
ERROR_PATTERNS: tuple[str, ...] = (
    r"^Error: .*$",
    r"^.*: (command not found|Permission denied|No such file or directory)$",
    r"^sudo: .*$",
    r"^EGRESSCTL-FAILED.*$",
)
L4_NAMES = {("icmp", 4): "icmp", ("icmp", 6): "ipv6-icmp", ("tcp", 4): "tcp", ("tcp", 6): "tcp",
            ("udp", 4): "udp", ("udp", 6): "udp"}

# --- established sessions ---------------------------------------------------------------------------------
# Connection tracking is per network namespace and only runs once a rule needs it (a ``ct`` expression, NAT,
# a flowtable). egressctl's own table uses none and judges every packet leaving the site, so a denied flow
# loses its outbound packets at once. Where the site's ruleset does track connections, the entries outlive
# the cut: a site rule such as ``ct state established accept`` keeps letting the inbound half of a denied
# flow in (and flowtable-offloaded flows skip the forward hook altogether) until the entry is deleted.
CMD_RULESET = "nft list ruleset"
TRACKING_RE = re.compile(
    r"\bct (state|status|mark|direction|original|reply|label|helper|zone)\b|\bmasquerade\b|\b[sd]nat\b"
    r"|\bflow (add|offload)\b"
)
#: Entries tracked in this namespace now (0, or no file, when nothing loaded connection tracking).
CMD_TRACKED = "cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0"
#: conntrack-tools: ``-L`` lists the table (``-o extended`` prefixes the family), ``-s`` takes a prefix,
#: ``-D`` with the whole original tuple deletes exactly one entry and prints ``N flow entries have been
#: deleted``. Entries look like ``ipv4 2 tcp 6 431999 ESTABLISHED src=A dst=B sport=P dport=Q ... [ASSURED]``.
CMD_HAS_CONNTRACK = "command -v conntrack >/dev/null && echo EGRESSCTL-HAS-CT || echo EGRESSCTL-NO-CT"
HAS_CONNTRACK = "EGRESSCTL-HAS-CT"
CMD_LIST = "conntrack -L -o extended -f {family} -s {prefix} 2>/dev/null; true"
CT_FAMILY = {4: "ipv4", 6: "ipv6"}
CMD_DELETE = "conntrack -D -f {family} -p {proto} -s {src} -d {dst}{ports} 2>&1"
DELETED_RE = re.compile(r"(\d+) flow entries have been deleted")
#: Route lookups, several per command (``-force`` goes on past an unreachable address); each answer is a
#: JSON array naming the ``dst`` it is for, with ``"type": "local"`` for the box's own addresses.
CMD_ROUTES = "printf 'route get %s\\n' {addresses} | ip -j -force -batch - 2>/dev/null; true"
#: Commands stay below the terminal width netmiko sets (see ``CHUNK``).
COMMAND_MAX = 250
