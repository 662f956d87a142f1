"""Vendor data for the Linux nftables driver (names, paths, error patterns), kept apart from behaviour."""

from __future__ import annotations

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
