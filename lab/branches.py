"""Branch devices: more emulated devices in one lab site, so an estate reaches a hundred devices.

``lab up --sites 10 --devices-per-site 10`` adds five branch routers and firewalls to each copy of the
five-device hospital. Each branch device is a copy of a site device of the same platform (its inventory
entry: credential, inside/outside names, exit; its lab node: vendor interfaces and zones) with its own
name, host key and management address, in a namespace of its own:

* its management interface joins the out-of-band bridge (``10.99.0.100+i``), so the operators' station
  reaches it as it reaches fw-a, and a cut that forgot the management permit would lock it out;
* its data interfaces join one bridge of their own (``brnet``), with no address and no route: a branch
  box carries none of the site's traffic, so verification still proves the cut on the exits' real path,
  while the controller changes, confirms and restores every branch box like any other device.

Only the vendor emulators are used (one light process each); core-b's real sshd is not copied.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from egressctl_lab.errors import LabError
from egressctl_lab.hostkeys import public_line

BRANCH_PLATFORMS = ("cisco_ios", "fortinet", "paloalto_panos", "juniper_junos")
"""Platforms a branch device is copied from, in turn (one emulator process per device)."""
BRIDGE = "brnet"
OOB_BRIDGE = "oob"
MGMT_BASE = ipaddress.IPv4Address("10.99.0.100")
MAX_BRANCHES = 100


def branch_name(i: int) -> str:
    """``br1``, ``br2``...: the same names in every copy (namespaces keep the copies apart)."""
    return f"br{i}"


def add_branches(data: dict[str, Any], count: int) -> None:
    """Add ``count`` branch devices (and their lab nodes) to the inventory ``data`` of a lab site, in place.

    Raises:
        LabError: too many, or the site has no device of a branch platform to copy.
    """
    if count <= 0:
        return
    if count > MAX_BRANCHES:
        raise LabError(f"at most {MAX_BRANCHES} branch devices per site")
    lab = data["lab"]
    site = next(s for s in data["sites"] if s["name"] == lab["site"])
    nodes = {n["name"]: n for n in lab["nodes"]}
    templates = {d["platform"]: d for d in site["devices"] if d["platform"] in BRANCH_PLATFORMS}
    if not templates:
        raise LabError("the lab site has no emulated device to copy as a branch device")
    if not any(n["name"] == OOB_BRIDGE for n in lab["nodes"]):
        raise LabError(f"branch devices need the lab's out-of-band bridge {OOB_BRIDGE!r}")
    lab["nodes"].append({"name": BRIDGE, "role": "bridge"})
    platforms = [p for p in BRANCH_PLATFORMS if p in templates]
    for i in range(1, count + 1):
        device = templates[platforms[(i - 1) % len(platforms)]]
        template_node = next(n for n in nodes.values() if n.get("device") == device["name"])
        name, mgmt = branch_name(i), str(MGMT_BASE + i - 1)
        site["devices"].append(_device(device, name, mgmt))
        lab["nodes"].append(_node(template_node, name, mgmt))


def _device(template: dict[str, Any], name: str, mgmt: str) -> dict[str, Any]:
    """The inventory entry: the template's, renamed, with its own host key and management address."""
    out = copy.deepcopy(template)
    out.update(name=name, host_key=public_line(name), mgmt_address=mgmt)
    out.pop("options", None)  # a safety net naming another host (revert_host) is the template's own
    return out


def _node(template: dict[str, Any], name: str, mgmt: str) -> dict[str, Any]:
    """The lab node: the template's vendor interfaces on the branch bridge, its management port on oob.

    A template managed in band (no port on the oob bridge) gets a plain ``bmgmt`` port there instead.
    """
    interfaces: list[dict[str, Any]] = []
    for i in template.get("interfaces", []):
        if i.get("bridge") == OOB_BRIDGE:
            interfaces.append({**_named(i), "bridge": OOB_BRIDGE, "addresses": [f"{mgmt}/24"]})
        elif i.get("vendor"):
            interfaces.append({**_named(i), "bridge": BRIDGE})
    if not any(i.get("bridge") == OOB_BRIDGE for i in interfaces):
        interfaces.append({"name": "bmgmt", "bridge": OOB_BRIDGE, "addresses": [f"{mgmt}/24"]})
    node: dict[str, Any] = {"name": name, "role": "device", "device": name, "interfaces": interfaces}
    if template.get("zones"):
        node["zones"] = copy.deepcopy(template["zones"])
    return node


def _named(interface: dict[str, Any]) -> dict[str, Any]:
    """The kernel and vendor names of a template interface (its wiring and addresses are the branch's)."""
    return {k: interface[k] for k in ("name", "vendor") if interface.get(k)}
