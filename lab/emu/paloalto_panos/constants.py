"""PAN-OS 10/11 vendor data: prompts, fixed outputs, error texts, predefined objects.

Texts marked [M] follow PAN-OS's documented/observed style but were not checked against a real firewall.
"""

from __future__ import annotations

SW_VERSION = "10.2.4"

#: Login banner (before the first prompt); netmiko reads until ``[>#]`` after sending Enter.
BANNER = "Last login: {when} from 10.99.0.50\n\nNumber of failed attempts since last successful login: 0\n\n"

OP_PROMPT = "\n{user}@{host}> "
CONFIG_PROMPT = "\n[edit]\n{user}@{host}# "

#: ``show system info``, line for line as in the capture ntc-templates tests its template with (PAN-OS 7.0
#: VM) plus the lines later releases add [M].
SYSTEM_INFO = """\
hostname: {host}
ip-address: {mgmt}
public-ip-address: unknown
netmask: {netmask}
default-gateway: {gateway}
ip-assignment: static
ipv6-address: unknown
ipv6-link-local-address: fe80::250:56ff:fe00:1/64
ipv6-default-gateway:{blank}
mac-address: 00:50:56:00:00:01
time: {time}
uptime: 0 days, 0:42:17
family: vm
model: PA-VM
serial: 007000000000000
vm-mac-base: 00:50:56:00:00:00
vm-mac-count: 256
vm-uuid: 5A1C8E4E-0000-0000-0000-000000000001
vm-cpuid: KVM:00000000FFFFFFFF
vm-license: VM-100
vm-cap-tier: 6.5 GB
vm-cpu-count: 2
vm-memory: 6.5 GB
vm-mode: KVM
cloud-mode: non-cloud
sw-version: {version}
global-protect-client-package-version: 0.0.0
device-dictionary-version: 1-120
device-dictionary-release-date:
app-version: 8700-7709
app-release-date: 2023/05/01 12:00:00 PDT
av-version: 0
av-release-date: unknown
threat-version: 8700-7709
threat-release-date: 2023/05/01 12:00:00 PDT
wf-private-version: 0
wf-private-release-date: unknown
url-db: paloaltonetworks
wildfire-version: 0
wildfire-release-date: unknown
url-filtering-version: 0000.00.00.000
global-protect-datafile-version: 0
global-protect-datafile-release-date: unknown
logdb-version: 10.2.0
platform-family: vm
vpn-disable-mode: off
multi-vsys: off
operational-mode: normal
advanced-routing: off
device-certificate-status: None
"""

# --- texts ---------------------------------------------------------------------------------------------
ENTER_CONFIG = "Entering configuration mode"
INVALID_SYNTAX = "Invalid syntax."
UNKNOWN_COMMAND = "Unknown command: {0}"
SERVER_ERROR = "Server error : {0}"
NOT_A_REFERENCE = " rulebase -> security -> rules -> {rule} -> {attr} '{value}' is not a valid reference"
ATTR_INVALID = " rulebase -> security -> rules -> {rule} -> {attr} is invalid"
GROUP_NOT_A_REFERENCE = " address-group -> {group} -> static '{value}' is not a valid reference"
MISSING = " rulebase -> security -> rules -> {rule} is missing '{attr}'"  # [M]
VALIDATION_ERROR = "Validation Error:"
COMMIT_FAILED = "Commit failed"
COMMIT_JOB = "Commit job {job} is in progress. Use Ctrl+C to return to command prompt"
COMMIT_OK = "Configuration committed successfully"
MOVE_MISSING = "move failed. Object {name} does not exist"  # [M]
NO_SUCH_FILE = "Failed to load config: {name} not found"  # [M]
SAVED = "Config saved to {name}"
LOADED = "Config loaded from {name}"
REVERTED = "Candidate configuration reverted to running configuration"  # [M]

# --- predefined objects ---------------------------------------------------------------------------------
#: Predefined services: name -> (protocol, destination ports).
PREDEFINED_SERVICES: dict[str, tuple[str, str]] = {
    "service-http": ("tcp", "80,8080"),
    "service-https": ("tcp", "443"),
}
#: Applications the emulator knows, with their default ports ("application-default"); "" = any port.
APPLICATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "any": ((("any", "")),),
    "dns": (("udp", "53"), ("tcp", "53")),
    "ssl": (("tcp", "443"),),
    "web-browsing": (("tcp", "80"),),
    "ssh": (("tcp", "22"),),
    "smtp": (("tcp", "25,587"),),
    "ntp": (("udp", "123"),),
    "ping": (("icmp", ""),),
    "icmp": (("icmp", ""),),
    "ipv6-icmp": (("icmpv6", ""),),
    "ike": (("udp", "500,4500"),),
    "ipsec-esp-udp": (("udp", "4500"),),
    "quic": (("udp", "443"),),
}
ACTIONS = ("allow", "deny", "drop", "reset-client", "reset-server", "reset-both")
LIST_ATTRS = (
    "from", "to", "source", "destination", "application", "service", "source-user", "category", "tag",
)
REQUIRED_ATTRS = ("from", "to", "source", "destination", "application", "service")
YES_NO_ATTRS = ("disabled", "log-start", "log-end")
DEFAULT_INSIDE = "trust"
DEFAULT_OUTSIDE = "untrust"
DEFAULT_ZONES: dict[str, list[str]] = {"trust": ["ethernet1/2"], "untrust": ["ethernet1/1"]}
DEFAULT_COMMIT_SECONDS = "2"

# --- sessions ------------------------------------------------------------------------------------------
#: ``deviceconfig setting session`` settings the emulator knows; ``rematch-sessions`` ("Rematch Sessions",
#: Device > Setup > Session) applies committed new or edited security rules to existing sessions and is on
#: by default (PAN-OS admin guide).
SESSION_SETTINGS = ("rematch-sessions",)
SESSION_HEADER = """\
--------------------------------------------------------------------------------
ID          Application    State   Type Flag  Src[Sport]/Zone/Proto (translated IP[Port])
Vsys                                          Dst[Dport]/Zone (translated IP[Port])
--------------------------------------------------------------------------------"""
SESSION_ROW = ("{id:<12} {app:<14} {state:<7} {type:<4} {flag:<5} {src}[{sport}]/{szone}/{proto}  "
               "({src}[{sport}])")
SESSION_ROW2 = "{vsys:<46} {dst}[{dport}]/{dzone}  ({dst}[{dport}])"
NO_SESSIONS = "No Active Sessions"  # [M]
SESSION_CLEARED = "session {id} cleared"  # [M]
SESSION_NOT_FOUND = "session {id} not found"  # [M]
SESSIONS_CLEARED = "Number of sessions that match filter: {n}"  # [M]
#: ``show session all filter`` keywords (and what they compare).
SESSION_FILTERS = ("from", "to", "source", "destination", "source-port", "destination-port", "protocol",
                   "state", "application")
