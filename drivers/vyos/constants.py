"""VyOS vendor data (object names, commands, texts), kept apart from behaviour.

Sources: the VyOS documentation (Firewall, 1.4 syntax: ``firewall ipv4|ipv6 name NAME``, ``forward filter
rule N action jump`` + ``jump-target``, ``outbound-interface name``, ``global-options state-policy``;
Configuration Overview: ``commit``, ``compare``, ``save``, ``discard``, ``exit discard``, ``commit-confirm
<minutes>`` and ``set system config-management commit-confirm action reload|reboot``, reboot the default),
netmiko's ``VyOSSSH`` (prompts, ``save`` answered by ``Done``, ``Commit failed``), the HTTP API's "Reload
timer stopped" / "No confirm pending", and the shared reference (1.3-1.5 reboot on expiry, "Proceed ?",
"Another confirm is pending", ``sudo conntrack -D``). Wording not checked on a real router is marked ``[M]``.
"""

from __future__ import annotations

import re

#: egressctl's chains, one per family, reached from the forward filter by one jump rule per outside
#: interface (``outbound-interface name``): they see exactly what leaves the site by its uplinks.
CHAIN = {4: "EGRESSCTL-V4", 6: "EGRESSCTL-V6"}
FAMILY_WORD = {4: "ipv4", 6: "ipv6"}
#: The forward-filter rule numbers of egressctl's jumps: the first outside interface's is 1, so the jump
#: comes before every site rule (VyOS numbers rules 1-999999 and runs them in order) [site rules 1-9 refused].
JUMP_FIRST = 1
JUMP_MAX = 9
JUMP_DESCRIPTION = "egressctl"
#: Rule numbers inside egressctl's chains (10, 20, ...; one rule per policy atom).
RULE_STEP = 10
#: Permit = ``return``: back to the forward filter, so the site's own rules still decide (egressctl never
#: grants more than the site does); deny = ``drop``; everything else meets ``default-action drop``.
VERDICT = {"permit": "return", "deny": "drop"}

READ_BACK = "show configuration commands | match firewall"
CC_READ = "show configuration commands | match config-management"
CC_ACTION_PATH = "system config-management commit-confirm action"
CC_REVISIONS_PATH = "system config-management commit-revisions"
#: The revert that needs no reboot (VyOS 1.5+); older versions refuse the path [M for where 1.4 stops].
RELOAD = "reload"
#: While a commit-confirm waits, VyOS keeps its job file (vyos-1x T870) [M for 1.5's reload job].
PENDING_CMD = "ls /var/run/confirm.job"
PENDING_RE = re.compile(r"^/var/run/confirm\.job\s*$", re.M)
PROCEED_RE = r"\[confirm\]|\[edit\]"
INITIALIZED_RE = re.compile(r"Initialized commit-confirm|will be automatically reboot|unless confirmed", re.I)
CONFIRMED_RE = re.compile(r"timer stopped", re.I)
NO_CONFIRM_RE = re.compile(r"No confirm pending", re.I)
NO_CHANGES = "No configuration changes to commit"
#: commit-confirm counts whole minutes (default 10); egressctl never arms less than one.
CONFIRM_MIN_MINUTES = 1
CONFIRM_MAX_MINUTES = 1440
#: Lines VyOS prints when it refuses a line or a commit (matched with re.M).
ERROR_PATTERNS: tuple[str, ...] = (
    r"^\s*Configuration path: .* is not valid.*$",
    r"^\s*(Set|Delete) failed.*$",
    r"^\s*Value validation failed.*$",
    r"^\s*Invalid (command|value|protocol|port|jump-target).*$",
    r"^\s*Nothing to delete.*$",
    r"^\s*Commit failed.*$",
    r"^\s*Failed to generate committed config.*$",
    r"^\s*Another confirm is pending.*$",
    r"^\s*commit-confirm reload requires.*$",
)
#: Persistence: ``save`` writes the active configuration to /config/config.boot; ``compare saved`` shows
#: what differs between it and the saved file [M for the diff's layout].
SAVE_CMD = "save"
SAVED_RE = re.compile(r"^\s*Done\s*$", re.M)
COMPARE_SAVED = "compare saved"
#: Sessions: VyOS's state policy accepts established connections before any rule, so a cut keeps them;
#: they are listed and deleted with conntrack-tools from the op-mode shell (``sudo conntrack``).
STATE_POLICY_RE = re.compile(r"state-policy established action '?accept'?")
CMD_LIST = "sudo conntrack -L -o extended -f {family} -s {prefix}"
CMD_DELETE = "sudo conntrack -D -f {family} -p {proto} -s {src} -d {dst}{ports}"
DELETED_RE = re.compile(r"(\d+) flow entries have been deleted")
