"""FortiOS vendor data: names, keywords, prompts and error text, kept apart from driver behaviour.

Everything here comes from the FortiOS CLI reference (``config firewall address``/``address6``,
``config firewall service custom``, ``config firewall policy``, ``config system global`` ``cfg-save``,
``execute cfg save``/``reload``). Nothing here does I/O.
"""

from __future__ import annotations

import re

#: Prefix of every object and policy egressctl owns on a FortiGate (case kept as written).
OWNED_PREFIX = "egressctl-"
#: FortiOS limits a firewall policy name to 35 characters; longer names are shortened with a digest.
POLICY_NAME_MAX = 35
#: Address and custom service names may be up to 79 characters.
OBJECT_NAME_MAX = 79
#: Each owned policy's ``comments`` holds the shared marker (``egressctl target=T fingerprint=F``, see
#: ``egressctl_drivers.common.state``) followed by the neutral rule's name and kind, for the read-back.
RULE_TAG_FORMAT = "rule={rule} kind={kind}"
RULE_TAG_RE = re.compile(r"rule=(?P<rule>[A-Za-z0-9_-]+) kind=(?P<kind>management|always|stage|deny)")

#: Built-in objects present on every FortiGate.
ADDR_ANY = "all"
SERVICE_ANY = "ALL"
SCHEDULE = "always"
#: Full port range, written where FortiOS needs a destination range but the rule has none.
FULL_RANGE = "1-65535"

#: Configuration sections (``config <section>`` ... ``end``).
SEC_ADDRESS = "firewall address"
SEC_ADDRESS6 = "firewall address6"
SEC_SERVICE = "firewall service custom"
SEC_POLICY = "firewall policy"
SEC_GLOBAL = "system global"

#: Read-back commands (``show`` prints the non-default settings in ``config``/``edit``/``set`` form).
SHOW_COMMANDS = (
    f"show {SEC_ADDRESS}",
    f"show {SEC_ADDRESS6}",
    f"show {SEC_SERVICE}",
    f"show {SEC_POLICY}",
)
GET_GLOBAL = "get system global"
CFG_SAVE_RE = re.compile(r"^\s*cfg-save\s*:\s*(\S+)", re.M)
CFG_TIMEOUT_RE = re.compile(r"^\s*cfg-revert-timeout\s*:\s*(\d+)", re.M)

#: Dead-man switch: revert mode keeps changes unsaved until ``execute cfg save``.
CFG_SAVE_REVERT = "revert"
CFG_SAVE_DEFAULT = "automatic"
#: FortiOS default of ``cfg-revert-timeout`` (seconds); like every default, ``show`` omits it.
CFG_TIMEOUT_DEFAULT = "600"
CMD_CFG_SAVE = "execute cfg save"
CMD_CFG_RELOAD = "execute cfg reload"
#: Leaves a ``config`` block without closing the open edit (used after a rejected line).
CMD_ABORT = "abort"
#: FortiOS bounds ``cfg-revert-timeout`` (seconds).
REVERT_MIN, REVERT_MAX = 10, 4294967295

# --- the non-rebooting dead-man switch (see revert.py) --------------------------------------------------
#: ``config system auto-script`` (FortiOS CLI reference, 6.2 to 7.4): ``interval`` (s), ``repeat``,
#: ``start manual|auto``, ``script`` (CLI lines; "Maximum length: 1023" from 6.2, 255 before), names up
#: to 35 characters.
SEC_AUTOSCRIPT = "system auto-script"
SHOW_AUTOSCRIPT = f"show {SEC_AUTOSCRIPT}"
SCRIPT_PREFIX = "egressctl-rv-"
SCRIPT_MAX = 1023
#: Versions whose auto-scripts hold 1023 characters; older units keep cfg-save revert (which reboots).
SCRIPT_SINCE = (6, 2)
GET_STATUS = "get system status"
#: Device option ``revert``: ``script`` (the default where the version allows) or ``reboot``.
REVERT_OPTION = "revert"
#: Seconds cfg-save revert stays armed, at least, while the lines are sent and the scripts armed.
ARM_WINDOW = 300

#: Policy defaults FortiOS omits from ``show``; used to compare desired and current settings.
POLICY_DEFAULTS: dict[str, tuple[str, ...]] = {"action": ("deny",), "status": ("enable",)}

#: The device's own error text (FortiOS prints these after a rejected line, then the prompt).
ERROR_PATTERNS = (
    r"^Command fail\..*$",
    r"^command parse error.*$",
    r"^Unknown action.*$",
    r"^entry not found.*$",
    r"^node_check_object fail!.*$",
    r"^value parse error.*$",
    r"^Attribute '.*' MUST be set\..*$",
    r"^The entry is used by other \d+ entries.*$",
)

# --- established sessions -------------------------------------------------------------------------------
# What a policy change does to established sessions is the VDOM setting ``firewall-session-dirty`` of
# ``config system settings`` (FortiOS CLI reference; Fortinet KB "Technical Tip: Information about
# firewall-session-dirty"): ``check-all`` (the default) flushes the sessions and re-evaluates them against the
# new policies, ``check-new`` keeps them and only checks new ones, ``check-policy-option`` lets each firewall
# policy's own ``firewall-session-dirty`` (check-all | check-new) decide.
GET_SETTINGS = "get system settings"
SESSION_DIRTY_RE = re.compile(r"^\s*firewall-session-dirty\s*:\s*(\S+)", re.M)
SESSION_DIRTY_DEFAULT = "check-all"
DIRTY_CHECK_NEW = "check-new"
DIRTY_POLICY_OPTION = "check-policy-option"
#: Policies that keep their sessions when ``check-policy-option`` delegates the choice to them.
SHOW_POLICY_DIRTY = "show firewall policy | grep firewall-session-dirty"
POLICY_CHECK_NEW_RE = re.compile(r"set firewall-session-dirty check-new")
#: The session table, per IP family (Fortinet KB "Technical Tip: Using filters to clear sessions on a
#: FortiGate"): ``filter clear``, then ``filter src FROM [TO]`` / ``dst`` / ``sport`` / ``dport`` /
#: ``proto N`` / ``sintf NAME`` / ``dintf NAME`` (all must match); ``list`` prints the matching sessions
#: and ``clear`` ends them. The filter belongs to the CLI session. ``clear`` with an empty filter ends
#: *every* session of the unit, so egressctl never sends it without its exact filter. The ``session6``
#: forms for IPv6 follow the same syntax [M].
SESSION_CMD = {4: "diagnose sys session", 6: "diagnose sys session6"}
#: ``session info: proto=6 proto_state=01 duration=...`` (``session6 info:`` for IPv6) opens each entry.
SESSION_HEAD_RE = re.compile(r"^session6? info: proto=(?P<proto>\d+) proto_state=(?P<state>\d+)", re.M)
#: The original direction of an entry: ``hook=pre dir=org act=noop 10.0.0.1:5000->192.0.2.1:80(0.0.0.0:0)``.
SESSION_ORG_RE = re.compile(
    r"^hook=\S+ dir=org act=\S+ (?P<src>\S+):(?P<sport>\d+)->(?P<dst>\S+):(?P<dport>\d+)\(", re.M
)
#: TCP ``proto_state`` values whose session is over (5 TIME_WAIT, 6 CLOSE; the last digit is the state).
TCP_OVER = frozenset({"5", "6"})
PROTO_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}
PROTO_NUMBERS = {"tcp": 6, "udp": 17}
