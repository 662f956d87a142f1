"""Switch role checks the planner makes (pure): what a switch's mode cannot do, and what the plan says.

A device with ``role: switch`` is cut as its ``switch`` settings say (``inventory.models.SwitchRole``).
In mode ``acl`` it takes every target, as a router does. Mode ``shutdown-uplink`` is a declared last resort:
the uplinks are shut for isolation and opened for normal, so a stage (some flows open, the rest cut) is a
capability gap the planner refuses before any device is contacted, as Aerleon refuses a term a platform
cannot express. Shutting the uplinks must not cut a management path: the plan is refused when one crosses
an uplink (the switch's management interface is an uplink, or a path runs from a source outside the site to
a destination inside it, the switch's own SVI included).
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_network
from typing import Any

from egressctl.inventory.models import SVI_RE, Device, Network, Site
from egressctl.policy import Policy

SHUTDOWN = "shutdown-uplink"
#: Targets mode shutdown-uplink can reach: uplinks shut, or open.
FULL_TARGETS = ("isolated", "normal")


def roles_of(drv: Any) -> frozenset[str]:
    """The roles a driver declares (``roles`` class attribute); a driver that says nothing is a router's."""
    roles = getattr(drv, "roles", None)
    return frozenset(roles) if roles else frozenset({"router"})


def _inside(site: Site, net: Network) -> bool:
    return any(net.version == i.version and net.subnet_of(i) for i in site.inside)  # type: ignore[arg-type]


def _crossing(site: Site, device: Device) -> list[str]:
    """Management paths with a source outside the site and a destination behind the switch.

    Such a path enters the site through the uplinks, so shutting them cuts it. The switch's own
    ``mgmt_address`` counts as behind it only when it is reached on an SVI (an out-of-band port is not).
    """
    sw = device.switch
    svi = bool(sw and sw.mgmt_interface and SVI_RE.match(sw.mgmt_interface))
    every = [ip_network(d.mgmt_address) for d in site.devices if d.name != device.name or svi]
    out: list[str] = []
    for path in site.management:
        dests = [d for d in (path.destinations or every) if _inside(site, d)
                 or (svi and device.mgmt_address in d)]
        srcs = [s for s in path.sources if not _inside(site, s)]
        if dests and srcs:
            out.append(f"management path {path.name} from {srcs[0]} to {dests[0]} enters the site through "
                       "the uplinks that isolation shuts")
    return out


def mgmt_gaps(site: Site, device: Device) -> list[str]:
    """Why shutting ``device``'s uplinks would cut a management path ([] when it would not)."""
    sw = device.switch
    if sw is None or sw.mode != SHUTDOWN:
        return []
    itf = sw.mgmt_interface or ""
    if itf.lower() in {u.lower() for u in sw.uplinks}:
        return [f"management reaches it on {itf}, an uplink that isolation shuts"]
    return _crossing(site, device)


def switch_gaps(site: Site, policy: Policy, drivers: Mapping[str, Any]) -> list[str]:
    """Every device whose role its driver lacks, or whose switch mode cannot reach ``policy`` safely."""
    gaps: list[str] = []
    for dev in site.devices:
        drv = drivers.get(dev.name)
        if drv is None or isinstance(drv, str):
            continue
        if dev.role not in roles_of(drv):
            gaps.append(f"device {dev.name}: platform {dev.platform} has no {dev.role} role")
            continue
        if dev.switch is None or dev.switch.mode != SHUTDOWN:
            continue
        if policy.target not in FULL_TARGETS:
            gaps.append(f"device {dev.name}: switch mode {SHUTDOWN} only isolates fully or restores fully; "
                        f"stage {policy.target} needs mode acl")
        gaps.extend(f"device {dev.name}: {g}" for g in mgmt_gaps(site, dev))
    return gaps


def switch_note(device: Device, policy: Policy) -> tuple[str, ...]:
    """The plan's statement of a switch's mode (what its change does), () for a router."""
    sw = device.switch
    if device.role != "switch" or sw is None:
        return ()
    ups = ", ".join(sw.uplinks) or "none"
    if sw.mode == SHUTDOWN:
        what = ("shuts uplinks " + ups + ": all traffic over them stops, always-allowed flows included"
                if policy.target == "isolated" else f"opens uplinks {ups} (no shutdown)")
        return (f"switch mode {SHUTDOWN}: {what}; full isolation only, no stages",)
    return (f"switch mode acl: ACLs inbound on SVIs {', '.join(sw.svis) or 'none'}, outbound on uplinks "
            f"{ups}",)
