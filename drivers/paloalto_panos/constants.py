"""PAN-OS vendor data: object names, CLI keywords, commands and error text, kept apart from behaviour.

From the PAN-OS CLI reference (configure mode ``set``/``delete``/``move``, ``save config to``,
``load config from``, ``revert config``, operational ``show config diff``). Nothing here does I/O.
"""

from __future__ import annotations

import re

#: Prefix of every address, service and security rule egressctl owns (PAN-OS names are case-sensitive).
OWNED_PREFIX = "egressctl-"
#: PAN-OS limits object and rule names to 63 characters.
NAME_MAX = 63
#: After the shared marker, each owned rule's description names its neutral rule and kind.
RULE_TAG_FORMAT = "rule={rule} kind={kind}"
RULE_TAG_RE = re.compile(r"rule=(?P<rule>[A-Za-z0-9_-]+) kind=(?P<kind>management|always|stage|deny)")

#: The named snapshot of the configuration taken before a change (``save config to``).
SNAPSHOT_FILE = "egressctl-snapshot.xml"

ANY = "any"
FULL_RANGE = "1-65535"
#: ICMP is an App-ID on PAN-OS, not a service: one application per IP family.
ICMP_APPS = {4: "icmp", 6: "ipv6-icmp"}
PERMIT, DENY = "allow", "deny"
DENY_ACTIONS = frozenset({"deny", "drop", "reset-client", "reset-server", "reset-both"})

RULES_PATH = "rulebase security rules"
CMD_OUTPUT_FORMAT = "set cli config-output-format set"
CMD_CONFIGURE = "configure"
CMD_DIFF = "show config diff"
CMD_RUNNING = "show config running"
CMD_CANDIDATE = "show config candidate"
#: Seconds to wait for a commit job (real commits can take minutes).
COMMIT_TIMEOUT = 300.0
CMD_SAVE = f"save config to {SNAPSHOT_FILE}"
CMD_LOAD = f"load config from {SNAPSHOT_FILE}"
CMD_REVERT = "revert config"

#: The device's own error text after a rejected line (printed before the prompt).
ERROR_PATTERNS = (
    r"^Invalid syntax\..*$",
    r"^Unknown command: .*$",
    r"^Server error\s*:.*$",
    r"^Validation Error:.*$",
    r"^.* is not a valid reference.*$",
    r"^.* is already in use.*$",
    r"^Error: .*$",
)
COMMIT_FAILED_RE = re.compile(r"(Validation Error:[\s\S]*|Commit failed.*|Error:.*)", re.I)

# --- established sessions -------------------------------------------------------------------------------
#: "Rematch Sessions" (Device > Setup > Session; PAN-OS admin guide: committed new or edited security rules
#: are applied to existing sessions; enabled by default) is ``deviceconfig setting session rematch-sessions
#: yes|no`` in the configuration; absent means the default, yes.
CMD_REMATCH = "show config running | match rematch-sessions"
REMATCH_OFF_RE = re.compile(r"rematch-sessions\s+no\b")
#: ``show session all filter from ZONE to ZONE``: the sessions crossing the firewall between two zones
#: (the filter also takes source, destination, protocol, source-port, destination-port, state; zones as
#: ``from``/``to`` [M]; a prefix is not a documented ``source`` value, so prefixes are matched here).
#: Two lines per session under a dashed header (PAN-OS KB "Palo Alto Networks Firewall Session Overview")::
#:
#:     ID          Application    State   Type Flag  Src[Sport]/Zone/Proto (translated IP[Port])
#:     Vsys                                          Dst[Dport]/Zone (translated IP[Port])
#:     504          ftp-data       ACTIVE  PRED      10.59.59.132[0]/L3-DMZ/6 (10.59.59.132[0])
#:     vsys1                                          172.16.59.100[16889]/L3-Inside (172.16.59.100[16889])
CMD_SESSIONS = "show session all filter from {inside} to {outside}"
SESSION_ROW_RE = re.compile(
    r"^(?P<id>\d+)\s+(?P<app>\S+)\s+(?P<state>[A-Z]+)\s+(?P<type>[A-Z]+)\s+(?:\S+\s+)?"
    r"(?P<src>[0-9A-Fa-f:.]+)\[(?P<sport>\d+)\]/(?P<szone>[^/\s]+)/(?P<proto>\d+)\s.*\n"
    r"(?P<vsys>\S+)\s+(?P<dst>[0-9A-Fa-f:.]+)\[(?P<dport>\d+)\]/(?P<dzone>\S+)",
    re.M,
)
#: States of a session that is over (nothing left to end).
STATES_OVER = frozenset({"CLOSED", "DISCARD"})
PROTO_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}
#: ``clear session id N`` ends one session; it answers ``session N cleared`` [M] (or an error naming it).
CMD_CLEAR = "clear session id {id}"
CLEARED_RE = re.compile(r"\bcleared\b", re.I)
