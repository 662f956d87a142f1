"""What ``egressctl check`` verifies on a cisco_ios device in the switch role (read-only, pure on the text).

Mode ``acl`` binds egressctl's ACLs inbound on the SVIs and outbound on the uplinks. On a Catalyst an ACL
bound ``out`` filters only routed traffic of a Layer 3 interface (a router ACL); a port ACL on a switch port
is inbound only (Catalyst 9300 Security Configuration Guide, "Port ACLs"), so an uplink that is a switch port
cannot carry egressctl's outbound ACL: the uplink must be a routed port (``no switchport``), or be left out
and the SVIs filter alone. Mode ``shutdown-uplink`` needs the uplinks and the management interface to exist
(a management interface that does not exist says nothing about the way in once the uplinks are shut).
"""

from __future__ import annotations

import re

from egressctl.check import CheckResult, fail, ok
from egressctl.inventory.models import Device

#: Interfaces and the routed-port marker, read in one show.
INTERFACES_CMD = "show running-config | include ^interface |^ no switchport"


def is_switch(device: Device) -> bool:
    """Whether ``device`` is in the switch role (a test double without the field is a router)."""
    return getattr(device, "role", "router") == "switch"


def shutdown_uplinks(device: Device) -> tuple[str, ...]:
    """The uplinks whose shutdown is egressctl's cut (switch mode shutdown-uplink), else ()."""
    sw = getattr(device, "switch", None)
    return tuple(sw.uplinks) if sw is not None and sw.mode == "shutdown-uplink" else ()


def routed_ports(text: str) -> dict[str, bool]:
    """Interface -> whether it is shown with ``no switchport`` (a routed port of a switch)."""
    out: dict[str, bool] = {}
    itf: str | None = None
    for line in text.splitlines():
        m = re.match(r"^interface\s+(\S+)", line)
        if m:
            itf = m.group(1)
            out[itf] = False
        elif line.strip() == "no switchport" and itf is not None:
            out[itf] = True
    return out


def switch_check(device: Device, text: str) -> CheckResult | None:
    """The switch role's prerequisites from ``INTERFACES_CMD``'s output; None for a router."""
    sw = device.switch
    if device.role != "switch" or sw is None:
        return None
    found = routed_ports(text)
    wanted = [*sw.svis, *sw.uplinks] + ([sw.mgmt_interface] if sw.mode != "acl" and sw.mgmt_interface else [])
    missing = [i for i in wanted if i not in found]
    if missing:
        return fail("switch-role", f"not on the switch: {', '.join(missing)} (interface names as in "
                                   "show running-config)")
    if sw.mode == "acl":
        l2 = [u for u in sw.uplinks if not found[u]]
        if l2:
            return fail("switch-role", f"uplink {', '.join(l2)} is a switch port: an outbound ACL needs a "
                                       "routed port (no switchport); list only the SVIs otherwise")
        return ok("switch-role", f"mode acl: ACLs inbound on {', '.join(sw.svis) or 'no SVI'}, outbound on "
                                 f"routed uplinks {', '.join(sw.uplinks) or 'none'}")
    return ok("switch-role", f"mode shutdown-uplink: isolation shuts {', '.join(sw.uplinks)} (full isolation "
                             f"only, no stages); management on {sw.mgmt_interface}")
