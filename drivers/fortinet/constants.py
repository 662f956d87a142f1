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
