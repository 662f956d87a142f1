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
