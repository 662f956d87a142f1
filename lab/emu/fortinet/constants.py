"""FortiOS 7.2 vendor data: prompts, banners, fixed outputs and error texts (kept apart from behaviour).

Texts marked [M] follow FortiOS's documented/observed style but were not checked against a real unit.
"""

from __future__ import annotations

VERSION_LINE = "Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)"

#: Written on shell open before the first prompt (FortiOS prints nothing more than the prompt on SSH;
#: netmiko's fortinet class waits for ``[#$]`` without sending anything first).
BANNER = ""

PROMPT = "{host} # "
CONTEXT_PROMPT = "{host} ({ctx}) # "

SYSTEM_STATUS = """\
{version}
Firmware Signature: certified
Virus-DB: 1.00000(2018-04-09 18:07)
Extended DB: 1.00000(2018-04-09 18:07)
Extreme DB: 1.00000(2018-04-09 18:07)
AV AI/ML Model: 2.11138(2023-06-06 09:55)
IPS-DB: 6.00741(2015-12-01 02:30)
IPS-ETDB: 6.00741(2015-12-01 02:30)
APP-DB: 6.00741(2015-12-01 02:30)
INDUSTRIAL-DB: 6.00741(2015-12-01 02:30)
IPS Malicious URL Database: 1.00001(2015-01-01 01:01)
Serial-Number: FGVMEV0000000000
License Status: Valid
VM Resources: 1 CPU/1 allowed, 2007 MB RAM/2048 MB allowed
Log hard disk: Available
Hostname: {host}
Private Encryption: Disable
Operation Mode: NAT
Current virtual domain: root
Max number of virtual domains: 1
Virtual domains status: 1 in NAT mode, 0 in TP mode
Virtual domain configuration: {vdom}
FIPS-CC mode: disable
Current HA mode: standalone
Branch point: 1517
Release Version Information: GA
FortiOS x86-64: Yes
System time: {time}
Last reboot reason: warm reboot
"""

#: ``speed:`` of an up port in ``get system interface physical`` (a veth has no real speed) [M].
PORT_SPEED = "10000Mbps (Duplex: full)"

#: ``Virtual domain configuration`` of ``get system status`` per ``vdom-mode`` (egressctl check's fault) [M].
VDOM_STATUS = {"no-vdom": "disable", "multi-vdom": "multiple", "split-vdom": "split-task"}

# --- error texts (each followed by a newline when printed) ---------------------------------------------
UNKNOWN_ACTION = "Unknown action 0"
PARSE_ERROR = "command parse error before '{0}'\nCommand fail. Return code -61"
VALUE_ERROR = "value parse error before '{0}'\nCommand fail. Return code -8"
DATASOURCE_ERROR = (
    "entry not found in datasource\n\nvalue parse error before '{0}'\nCommand fail. Return code -3"
)
NOT_FOUND = "entry not found in datasource\nCommand fail. Return code -3"  # [M] delete/move of a missing id
IN_USE = "The entry is used by other {0} entries\nCommand fail. Return code -23"
MUST_BE_SET = "node_check_object fail! for {0}\n\nAttribute '{0}' MUST be set.\nCommand fail. Return code -56"
INCOMPLETE = "command parse error before '{0}'\nCommand fail. Return code -61"
NO_SAVE_MODE = "Command fail. Return code -1"  # [M] execute cfg save while cfg-save is automatic

# --- execute outputs [M] -------------------------------------------------------------------------------
CFG_SAVED = ""
CFG_RELOADED = "Configuration reloaded from saved configuration."
#: Log id 36881 ("Configuration reverted due to timeout").
REVERT_LOG = "Configuration reverted due to timeout"

# --- defaults --------------------------------------------------------------------------------------------
DEFAULT_LAN = "port2"
DEFAULT_WAN = "port1"
DEFAULT_REVERT_TIMEOUT = "600"
SCHEDULES = ("always", "none")

#: Predefined custom services shipped on a factory-default FortiGate (subset): name -> field values.
PREDEFINED_SERVICES: dict[str, dict[str, tuple[str, ...]]] = {
    "ALL": {"category": ("General",), "protocol": ("IP",)},
    "ALL_TCP": {"category": ("General",), "tcp-portrange": ("1-65535",)},
    "ALL_UDP": {"category": ("General",), "udp-portrange": ("1-65535",)},
    "ALL_ICMP": {"category": ("General",), "protocol": ("ICMP",)},
    "ALL_ICMP6": {"category": ("General",), "protocol": ("ICMP6",)},
    "PING": {"category": ("Network Services",), "protocol": ("ICMP",), "icmptype": ("8",)},
    "DNS": {"category": ("Network Services",), "tcp-portrange": ("53",), "udp-portrange": ("53",)},
    "HTTP": {"category": ("Web Access",), "tcp-portrange": ("80",)},
    "HTTPS": {"category": ("Web Access",), "tcp-portrange": ("443",)},
    "SSH": {"category": ("Remote Access",), "tcp-portrange": ("22",)},
    "SMTP": {"category": ("Email",), "tcp-portrange": ("25",)},
    "NTP": {"category": ("Network Services",), "tcp-portrange": ("123",), "udp-portrange": ("123",)},
}

# --- the session table (``diagnose sys session list``) ------------------------------------------------------
#: One entry, in the layout of the Fortinet KB examples ("Technical Tip: Using filters to clear sessions",
#: "How to clear sessions with high duration"); counters and gateways are not modelled [M].
SESSION_ENTRY = """\
{head}: proto={proto} proto_state={state} duration={duration} expire={expire} timeout={timeout} \
flags=00000000 socktype=0 sockport=0 av_idx=0 use=3
origin-shaper=
reply-shaper=
per_ip_shaper=
class_id=0 ha_id=0 policy_dir=0 tunnel=/ vlan_cos=0/255
state={flags}
statistic(bytes/packets/allow_err): org=0/0/1 reply=0/0/1 tuples=2
tx speed(Bps/kbps): 0/0 rx speed(Bps/kbps): 0/0
orgin->sink: {path} dev={i}->{o}/{o}->{i} gwy=0.0.0.0/0.0.0.0
hook=pre dir=org act=noop {org}({zero}:0)
hook=post dir=reply act=noop {reply}({zero}:0)
pos/(before,after) 0/(0,0), 0/(0,0)
misc=0 policy_id={policy} pol_uuid_idx=0 auth_info=0 chk_client_info=0 vd=0
serial={serial:08x} tos=ff/ff app_list=0 app=0 url_cat=0
rpdb_link_id=00000000 ngfwid=n/a
npu_state=0x000000"""
#: Sessions to the unit itself carry this policy id (the KB's local session example).
LOCAL_POLICY_ID = "4294967295"
TOTAL_SESSIONS = "total session {n}"  # [M]
