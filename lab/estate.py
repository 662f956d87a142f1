"""An estate of lab sites: N copies of the lab hospital, each a whole :class:`Lab` of its own.

Copy k (1-based) is the source inventory with its site renamed (``lab``, ``lab2``, ...), built by an
ordinary ``Lab`` with its own state directory (``{state}/lab/estate/NN``: its lab.json, secret, run files
and pid files), its own namespace prefix (``{prefix}NN-``) and its own loopback ports (``port_base +
(k-1) * PORT_STRIDE``). Namespaces separate the copies, so every copy keeps the source's address plan:
the copy is mechanical and cannot drift from the one-site lab.

With ``devices_per_site`` each copy also holds branch devices up to that many devices
(:mod:`egressctl_lab.branches`: ten copies of ten devices are the hundred emulated devices of issue 13),
and its ports are spread by :func:`stride_for` instead of ``PORT_STRIDE``.

One effective inventory at ``{state}/lab/estate/inventory.yaml`` holds every copy's site (devices on their
loopback ports, credentials pointing at their own secret) and a group ``estate`` naming them all. Vantage
and capture points name the copy's namespace in full (``et-02-ws1``): the controller's own state directory
has no lab.json, so verification enters them with plain ``ip netns exec`` (root mode only).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from egressctl_lab.branches import add_branches
from egressctl_lab.errors import LabError
from egressctl_lab.lab import Lab, lab_mode
from egressctl_lab.state import paths

PORT_STRIDE = 10
"""Loopback ports per copy: five devices and the bastion, with room to spare (more with branch devices)."""
GROUP = "estate"


def site_name(base: str, k: int) -> str:
    """``lab`` for the first copy, then ``lab2``, ``lab3``...: the first copy is the one-site lab."""
    return base if k == 1 else f"{base}{k}"


class EstateLab:
    """N copies of a lab site, up and down together."""

    def __init__(self, inventory_path: Path, sites: int, *, prefix: str = "eg-", port_base: int = 25100,
                 time_scale: float = 0.25, state_dir: Path | None = None, devices_per_site: int = 0) -> None:
        if sites < 1:
            raise LabError("--sites needs 1 or more")
        if lab_mode() != "root":
            raise LabError("an estate lab needs root mode (verification enters each copy's namespaces)")
        self.source, self.sites, self.prefix = Path(inventory_path).resolve(), sites, prefix
        self.port_base, self.time_scale = port_base, time_scale
        self.root = paths(state_dir).root / "estate"
        self.inventory = self.root / "inventory.yaml"
        self.members: list[Lab] = []
        self.devices_per_site = devices_per_site
        self.stride = stride_for(devices_per_site)

    def _member_dir(self, k: int) -> Path:
        return self.root / f"{k:02d}"

    def _copy_source(self, k: int) -> Path:
        """Copy k's source inventory: the site and its ``lab:`` section renamed."""
        data = yaml.safe_load(self.source.read_text())
        base = data["lab"]["site"]
        for site in data["sites"]:
            if site["name"] == base:
                site["name"] = site_name(base, k)
        data["lab"]["site"] = site_name(base, k)
        data.pop("groups", None)
        if self.devices_per_site:
            site = next(s for s in data["sites"] if s["name"] == site_name(base, k))
            if self.devices_per_site < len(site["devices"]):
                raise LabError(f"--devices-per-site {self.devices_per_site}: the site already has "
                               f"{len(site['devices'])} devices")
            add_branches(data, self.devices_per_site - len(site["devices"]))
        out = self._member_dir(k) / "source.yaml"
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        out.write_text(yaml.safe_dump(data, sort_keys=False))
        return out

    def _member(self, k: int) -> Lab:
        return Lab(self._copy_source(k), prefix=f"{self.prefix}{k:02d}-",
                   port_base=self.port_base + (k - 1) * self.stride, time_scale=self.time_scale,
                   state_dir=self._member_dir(k))

    def up(self) -> Path:
        """Build every copy (one after the other: the machine is shared); on failure tear all down.

        Returns:
            The estate's effective inventory.
        """
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._record()
        try:
            for k in range(1, self.sites + 1):
                lab = self._member(k)
                self.members.append(lab)
                self._record()
                lab.up()
            self._write_inventory()
        except BaseException:
            self.down()
            raise
        return self.inventory

    def _record(self) -> None:
        """estate.json: what to tear down, written before each copy is built (a crash leaves a trail)."""
        doc = {"sites": self.sites, "prefix": self.prefix, "port_base": self.port_base, "stride": self.stride,
               "devices_per_site": self.devices_per_site,
               "source": str(self.source), "inventory": str(self.inventory),
               "members": [str(m.paths.state) for m in self.members]}
        (self.root / "estate.json").write_text(json.dumps(doc, indent=2))

    def _write_inventory(self) -> None:
        sites: list[dict[str, Any]] = []
        for lab in self.members:
            data = yaml.safe_load(lab.inventory_path.read_text())
            site = next(s for s in data["sites"] if s["name"] == lab.site.name)
            for point in (*site.get("vantage_points", []), *site.get("captures", [])):
                if point.get("netns"):
                    point["netns"] = lab.prefix + point["netns"]
            sites.append(site)
        doc = {"version": 1, "sites": sites,
               "groups": [{"name": GROUP, "description": f"{self.sites} copies of the lab site",
                           "sites": [s["name"] for s in sites]}]}
        text = f"# Estate inventory: egressctl lab up --sites {self.sites} (source: {self.source})\n"
        self.inventory.write_text(text + yaml.safe_dump(doc, sort_keys=False))

    def down(self) -> None:
        """Tear down every copy recorded (also those of a crashed run), then the estate's files."""
        states = [m.paths.state for m in self.members]
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads((self.root / "estate.json").read_text())
            states += [Path(s) for s in doc.get("members", [])]
        errors: list[str] = []
        for state in dict.fromkeys(states):
            source = state / "source.yaml"
            if not source.is_file():
                continue
            k = int(state.name)
            try:
                Lab(source, prefix=f"{self.prefix}{k:02d}-", port_base=self.port_base + (k - 1) * self.stride,
                    state_dir=state).down()
            except LabError as exc:
                errors.append(str(exc))
        shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise LabError("estate down: " + "; ".join(errors))


def copy_status(state: Path, prefix: str, port_base: int, live: set[str]) -> dict[str, Any]:
    """One copy's row for ``lab status``: site, devices, namespaces present of those it needs, up or down."""
    try:
        st = Lab(state / "source.yaml", prefix=prefix, port_base=port_base, state_dir=state).status()
    except (LabError, OSError, ValueError) as exc:
        return {"copy": state.name, "site": "?", "up": False, "devices": 0, "namespaces": 0,
                "namespaces_present": 0, "prefix": prefix, "error": str(exc)}
    names = [n.netns for n in st.nodes]
    site = yaml.safe_load((state / "source.yaml").read_text())["lab"]["site"]
    return {"copy": state.name, "site": site, "up": st.up, "prefix": prefix, "devices": len(st.devices),
            "device_ports": [d.port for d in st.devices], "namespaces": len(names),
            "namespaces_present": sum(n in live for n in names), "state_dir": str(state), "error": ""}


def estate_status(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``lab status`` of an estate: one row per copy recorded in ``estate.json`` (``doc``)."""
    import subprocess

    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    live = {ln.split()[0] for ln in out.splitlines() if ln.strip()}
    stride = int(doc.get("stride", PORT_STRIDE))
    rows = []
    for raw in doc.get("members", []):
        state = Path(raw)
        k = int(state.name)
        rows.append(copy_status(state, f"{doc['prefix']}{k:02d}-", int(doc["port_base"]) + (k - 1) * stride,
                                live))
    return rows


def stride_for(devices_per_site: int) -> int:
    """Loopback ports per copy: :data:`PORT_STRIDE`, or the devices and the bastion rounded up to tens."""
    return max(PORT_STRIDE, -(-(devices_per_site + 1) // 10) * 10)


def running_estate(state_dir: Path | None = None) -> dict[str, Any] | None:
    """The estate.json of the estate up in ``state_dir``, if any."""
    try:
        doc: dict[str, Any] = json.loads((paths(state_dir).root / "estate" / "estate.json").read_text())
    except (OSError, ValueError):
        return None
    return doc
