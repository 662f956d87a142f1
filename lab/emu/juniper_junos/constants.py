"""Junos (SRX) vendor data: prompts, messages, error texts, predefined objects. Behaviour lives elsewhere.

Texts follow Junos OS 21.x as documented; wordings not checked against a real device are marked ``[M]``.
"""

from __future__ import annotations

OP_PROMPT = "\n{user}@{host}> "
CONFIG_PROMPT = "\n{banner}[edit]\n{user}@{host}# "
CONFIRM_PENDING = "# commit confirmed will be rolled back in {minutes} minutes\n"
# Asked on leaving config mode with uncommitted changes (netmiko's juniper.py exit_config_mode waits for it).
EXIT_QUESTION = "Exit with uncommitted changes? [yes,no] (yes) "
BANNER = "--- JUNOS 21.4R3.15 Kernel 64-bit XEN JNPR-12.1-20220826.4c18e3d_buil\n"

RELEASE = "21.4R3.15"
# ``show version`` packages after ``Junos:`` (names from an SRX 19.4 capture in ntc-templates' test data,
# tests/juniper_junos/show_version/juniper_junos_show_version_srx_cluster.raw; builds are the lab's own [M]).
_OS_BUILD = "20220826.4c18e3d_builder_stable_12_214"
_BUILD = "20221110.204500_builder_junos_214_r3"
VERSION_PACKAGES: list[tuple[str, str]] = [
    ("OS Kernel 64-bit XEN", _OS_BUILD), ("OS libs", _OS_BUILD), ("OS runtime", _OS_BUILD),
    ("OS time zone information", _OS_BUILD), ("OS libs compat32", _OS_BUILD),
    ("OS 32-bit compatibility", _OS_BUILD), ("py extensions", _BUILD), ("py base", _BUILD),
    ("OS vmguest", _OS_BUILD), ("OS crypto", _OS_BUILD), ("OS boot-ve files", _OS_BUILD),
    ("network stack and utilities", _BUILD), ("libs", _BUILD), ("libs compat32", _BUILD),
    ("runtime", _BUILD), ("na telemetry", RELEASE), ("Web Management Platform Package", _BUILD),
    ("srx libs compat32", _BUILD), ("srx runtime", _BUILD), ("srx platform support", _BUILD),
    ("common platform support", _BUILD), ("srxtvp runtime", _BUILD),
]

SCREEN_WIDTH = "Screen width set to {n}"
SCREEN_LENGTH = "Screen length set to {n}"
COMPLETE_OFF = "Disabling complete-on-space"
COMPLETE_ON = "Enabling complete-on-space"
ENTERING = "Entering configuration mode"
# Printed by ``configure`` and by ``exit``/``quit`` while the shared candidate differs from the active
# configuration (Junos CLI User Guide, "Using the configure exclusive Command" and "configure" examples).
CHANGED_NOT_COMMITTED = "The configuration has been changed but not committed"
EXITING = "Exiting configuration mode"
COMMIT_COMPLETE = "commit complete"
CHECK_SUCCEEDS = "configuration check succeeds"
CONFIRMED = "commit confirmed will be automatically rolled back in {minutes} minutes unless confirmed"
LOAD_COMPLETE = "load complete"
ROLLBACK_MISSING = "error: Rollback {n} does not exist"  # [M]

SYNTAX_ERROR = "syntax error."
SYNTAX_EXPECTING = "syntax error, expecting {what}."
UNKNOWN_COMMAND = "unknown command."
AMBIGUOUS = "'{word}' is ambiguous."
CHECKOUT_FAILED = "error: configuration check-out failed"
MISSING_MANDATORY = "missing mandatory statement"
NOT_FOUND = "warning: statement not found"
UNDEFINED_REF = "{kind} '{name}' is not defined"  # [M]
ZONE_UNDEFINED = "Security zone '{name}' is not defined"  # [M]

PREDEFINED_ADDRESSES = ("any", "any-ipv4", "any-ipv6")
# Predefined applications: name -> list of (protocol, destination port range or None).
PREDEFINED_APPS: dict[str, list[tuple[str, tuple[int, int] | None]]] = {
    "any": [],
    "junos-http": [("tcp", (80, 80))],
    "junos-https": [("tcp", (443, 443))],
    "junos-ssh": [("tcp", (22, 22))],
    "junos-smtp": [("tcp", (25, 25))],
    "junos-dns-udp": [("udp", (53, 53))],
    "junos-dns-tcp": [("tcp", (53, 53))],
    "junos-ike": [("udp", (500, 500))],
    "junos-ike-nat": [("udp", (4500, 4500))],
    "junos-ntp": [("udp", (123, 123))],
    "junos-ping": [("icmp", None)],
    "junos-pingv6": [("icmp6", None)],
    "junos-icmp-all": [("icmp", None)],
}
PORT_NAMES: dict[str, int] = {"http": 80, "https": 443, "ssh": 22, "smtp": 25, "domain": 53, "telnet": 23,
                              "ftp": 21, "ntp": 123, "snmp": 161}
PROTOCOL_NUMBERS: dict[str, int] = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58, "gre": 47, "esp": 50}
COMMIT_HISTORY_MAX = 50
DEFAULT_CONFIRM_MINUTES = 10

# --- flow sessions (``show security flow session``; Junos CLI reference) ----------------------------------
SESSION_ENTRY = (
    "Session ID: {id}, Policy name: {policy}/{index}, Timeout: {timeout}, Session State: Valid\n"
    "  In: {src}/{sport} --> {dst}/{dport};{proto}, Conn Tag: 0x0, If: {inif}, Pkts: 0, Bytes: 0, \n"
    "  Out: {dst}/{dport} --> {src}/{sport};{proto}, Conn Tag: 0x0, If: {outif}, Pkts: 0, Bytes: 0, "
)
TOTAL_SESSIONS = "Total sessions: {n}"
SESSIONS_CLEARED = "{n} active sessions cleared"
#: Traffic to the device itself (host-inbound) is shown under this policy, leaving by a ``.local`` interface.
SELF_POLICY = "self-traffic-policy"
LOCAL_IF = ".local..0"
DEFAULT_POLICY = "default-policy-logical-system-00"  # [M]
#: Idle timeouts Junos shows for established sessions (its defaults for TCP and UDP; others 60 s).
SESSION_TIMEOUTS = {"tcp": 1800, "udp": 60}
SESSION_FILTERS = ["source-prefix", "destination-prefix", "source-port", "destination-port", "protocol",
                   "session-identifier", "family"]
