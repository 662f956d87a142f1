"""Junos (SRX) vendor data: object names, error texts, commit markers; kept apart from behaviour."""

from __future__ import annotations

import re

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
#: ``show system commit``: the commit history, newest first, "and any pending commit operation" (Junos CLI
#: reference). Entry 0 of a commit waiting for confirmation ends ``commit confirmed, rollback in Nmins``.
CMD_COMMITS = "show system commit"
PENDING_RE = r"commit confirmed, rollback in"
#: A numbered entry of that history: ``0   2026-12-03 16:59:30 UTC by admin via cli ...``.
COMMIT_ENTRY_RE = re.compile(r"^\s*\d+\s+\d{4}-\d\d-\d\d\s.*$")
#: How many times a read-back is taken again when a commit landed between its commands.
READ_TRIES = 3
#: Printed when entering configuration mode over someone else's uncommitted changes.
DIRTY_CANDIDATE = "configuration has been changed but not committed"
COMMIT_COMPLETE = "commit complete"
#: The end of a commit's own answer: success, or an error line (read when a stale prompt came first).
COMMIT_REPLY_RE = r"commit complete|^\s*error: .*$|commit failed|configuration check-out failed"
DISPLAY_SET = "| display set"
ICMP_APPS = {4: "egressctl-icmp", 6: "egressctl-icmp6"}
ICMP_PROTOCOLS = {4: "icmp", 6: "icmp6"}

# --- established sessions ---------------------------------------------------------------------------------
#: ``set security policies policy-rematch [extensive]`` (Junos CLI reference, "policy-rematch"; disabled by
#: default): when a policy is *modified or deleted*, the sessions it permitted are looked up again and
#: dropped unless the lookup still permits them (``extensive``: any policy may). egressctl inserts its own
#: policies above the site's and leaves those untouched, so even with it set the sessions the site's
#: policies permitted are not re-checked by a cut: SRX keeps them until they are cleared.
CMD_REMATCH = "show configuration security policies | display set | match policy-rematch"
REMATCH_SET = "set security policies policy-rematch"
#: Which zone each interface belongs to (to tell sessions crossing inside -> outside from the rest).
CMD_ZONES = "show configuration security zones | display set | match interfaces"
ZONE_IF_RE = re.compile(r"^set security zones security-zone (?P<zone>\S+) interfaces (?P<ifname>\S+)", re.M)
#: ``show security flow session source-prefix P`` (Junos CLI reference)::
#:
#:     Session ID: 60821, Policy name: vpn/4, Timeout: 56, Session State: Valid
#:       In: 10.2.0.9/64177 --> 10.3.0.4/5201;udp, Conn Tag: 0x0, If: st0.1000, Pkts: 3, Bytes: 24,
#:       Out: 10.3.0.4/5201 --> 10.2.0.9/64177;udp, Conn Tag: 0x0, If: reth3.0, Pkts: 0, Bytes: 0,
#:     Total sessions: 1
#:
#: ``In`` is the original direction and its ingress interface, ``Out`` the reply and the interface it arrives
#: on (the original's egress); traffic to the device itself shows ``.local..N`` there.
CMD_SESSIONS = "show security flow session source-prefix {prefix}"
SESSION_RE = re.compile(
    r"^Session ID: (?P<id>\d+), Policy name: (?P<policy>[^,]*),.*\n"
    r"\s*In: (?P<src>[^/\s]+)/(?P<sport>\d+) --> (?P<dst>[^/\s]+)/(?P<dport>\d+);(?P<proto>[^,\s]+),"
    r".*?If: (?P<inif>[^,\s]+),.*\n"
    r"\s*Out: .*?If: (?P<outif>[^,\s]+),",
    re.M,
)
#: ``clear security flow session session-identifier N`` answers ``1 active sessions cleared``.
CMD_CLEAR = "clear security flow session session-identifier {id}"
CLEARED_RE = re.compile(r"^\s*(\d+) active sessions cleared", re.M)
PROTO_NAMES = {"icmp6": "icmp", "icmpv6": "icmp", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}
