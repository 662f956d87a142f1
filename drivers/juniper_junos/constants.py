"""Junos (SRX) vendor data: object names, error texts, commit markers; kept apart from behaviour."""

from __future__ import annotations

PREFIX = "egressctl-"
ADDRESS_BOOK = "global"
#: Junos ``commit confirmed N`` counts whole minutes (1..65535).
CONFIRM_MIN_MINUTES = 1
CONFIRM_MAX_MINUTES = 65535
ERROR_PATTERNS: tuple[str, ...] = (
    r"^\s*syntax error.*$",
    r"^\s*error: .*$",
    r"^\s*unknown command.*$",
    r"^\s*missing argument.*$",
    r"^\s*invalid (value|ip address|prefix|port).*$",
    r"^\s*(configuration check-out failed|commit failed).*$",
)
#: ``show system commit``: entry 0 of a commit waiting for confirmation.
PENDING_RE = r"commit confirmed, rollback in"
#: Printed when entering configuration mode over someone else's uncommitted changes.
DIRTY_CANDIDATE = "configuration has been changed but not committed"
COMMIT_COMPLETE = "commit complete"
DISPLAY_SET = "| display set"
ICMP_APPS = {4: "egressctl-icmp", 6: "egressctl-icmp6"}
ICMP_PROTOCOLS = {4: "icmp", 6: "icmp6"}
