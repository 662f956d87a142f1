"""Helpers for the whole-site end-to-end tests (``test_site_e2e.py``) and the isolate benchmark.

Everything here drives the real thing: the lab in network namespaces with the ``es-`` prefix, the CLI in a
subprocess (``python -m egressctl.cli.main``) with its own state directory, netmiko sessions to the emulated
devices, real probes. Nothing is faked. Devices are read with *fresh* sessions (a new SSH login each time),
which is also the operator's proof that the management path still works.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egressctl_lab import Lab

from egressctl.driver import DeviceState
from egressctl.engine import Engine, default_factory
from egressctl.inventory.credentials import secret_for
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Flow, Site

ROOT = Path(__file__).resolve().parents[2]
SOURCE_INVENTORY = ROOT / "inventory" / "lab.yaml"
SITE = "lab"
PREFIX = "es-"
PORT_BASE = 23800
Event = dict[str, Any]

# Lines of a device's configuration text that change without anyone changing the configuration. The lab's
# emulators print none of these today (checked: the IOS running-config has no "Last configuration change"
# header, Junos "display set" has no "## Last commit" comment, FortiOS/PAN-OS/nft print no clock), so the
# normalisation only matters on real gear; it never hides a configuration line.
VOLATILE = (
    re.compile(r"^! (Last configuration change|NVRAM config last updated) at "),
    re.compile(r"^## Last (commit|changed): "),
    re.compile(r"^#conf_file_ver="),
)


def normalise(text: str) -> str:
    """Configuration text without volatile lines, trailing blanks, or CR characters."""
    lines = [ln.rstrip() for ln in text.replace("\r", "").splitlines()]
    return "\n".join(ln for ln in lines if not any(p.match(ln) for p in VOLATILE)).strip("\n")


def config_diff(before: str, after: str, name: str) -> str:
    """Unified diff of two normalised configurations ("" when equal)."""
    return "\n".join(difflib.unified_diff(normalise(before).splitlines(), normalise(after).splitlines(),
                                          f"{name} before isolation", f"{name} after full restore",
                                          lineterm=""))


@dataclass
class SiteLab:
    """One lab instance plus the state directory every CLI call and engine of the tests shares."""

    lab: Lab
    state: Path
    baseline: dict[str, str] = field(default_factory=dict)

    @property
    def inventory(self) -> Path:
        """The lab's effective inventory (its own ports and secret path)."""
        return self.lab.inventory_path

    @property
    def site(self) -> Site:
        """The lab site as the effective inventory describes it."""
        return load_inventory(self.inventory).site(SITE)

    @property
    def devices(self) -> list[Device]:
        """The site's devices, in inventory order."""
        return list(self.site.devices)

    def env(self) -> dict[str, str]:
        """Environment of a CLI subprocess: this lab's state directory."""
        return {**os.environ, "EGRESSCTL_STATE_DIR": str(self.state)}

    def argv(self, *args: str) -> list[str]:
        """Argv of ``egressctl -i <effective inventory> ARGS``."""
        return [sys.executable, "-m", "egressctl.cli.main", "-i", str(self.inventory), *args]

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the CLI to completion (bounded by ``timeout``)."""
        return subprocess.run(self.argv(*args), env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def cli_json(self, *args: str, timeout: float = 300) -> tuple[int, list[Event], Event]:
        """Run ``isolate``/``restore`` with ``--json``: exit code, the event stream, and the result."""
        res = self.cli(*args, "--json", timeout=timeout)
        docs = parse_lines(res.stdout)
        if not docs or docs[-1].get("event") != "result":
            raise AssertionError(f"no result from {args}: rc={res.returncode}\n{res.stdout}\n{res.stderr}")
        return res.returncode, docs[:-1], docs[-1]

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """An in-process engine on the same inventory and journal as the CLI calls."""
        eng = Engine(self.inventory, state_dir=self.state)
        try:
            yield eng
        finally:
            eng.close()

    def _each(self, fn: Callable[[Device], Any]) -> dict[str, Any]:
        with ThreadPoolExecutor(max_workers=len(self.devices)) as pool:
            return dict(zip([d.name for d in self.devices], pool.map(fn, self.devices), strict=True))

    def snapshots(self) -> dict[str, str]:
        """Every device's whole configuration (``Driver.snapshot()``), each over a fresh session."""
        return self._each(lambda d: with_session(d, lambda drv: drv.snapshot()))

    def read_states(self) -> dict[str, DeviceState]:
        """Every device's egressctl state, each over a fresh management session."""
        return self._each(lambda d: with_session(d, lambda drv: drv.read_state()))


def with_session(device: Device, fn: Callable[[Any], Any]) -> Any:
    """Open a new session to ``device`` with its registered driver, run ``fn(driver)``, close."""
    drv = default_factory(device)
    drv.open(secret_for(device))
    try:
        return fn(drv)
    finally:
        drv.close()


def parse_lines(stdout: str) -> list[Event]:
    """The JSON documents of a ``--json`` stream (non-JSON lines are ignored)."""
    out = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def start_lab(state: Path) -> SiteLab:
    """Bring a lab up under the ``es-`` prefix; the caller must ``.lab.down()`` it (also on failure)."""
    lab = Lab(SOURCE_INVENTORY, prefix=PREFIX, port_base=PORT_BASE, state_dir=state)
    sl = SiteLab(lab, state)
    lab.up()
    return sl


def steps_of(events: list[Event]) -> list[tuple[str, str, str]]:
    """(device, step, status) of every ``DeviceStep`` event, in order."""
    return [(e["device"], e["step"], e["status"]) for e in events if e.get("event") == "DeviceStep"]


def run_until_killed(site: SiteLab, argv: list[str], match: Callable[[Event], bool],
                     deadline: float = 240) -> tuple[Event | None, int, list[Event]]:
    """Run ``argv`` (printing JSON lines) and SIGKILL it on the first event ``match`` accepts.

    Returns the event it was killed at (None if it never came), the exit status (``-9`` when killed) and
    the events seen. A watchdog kills it after ``deadline`` seconds whatever happens.
    """
    proc = subprocess.Popen(argv, env=site.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    watchdog = threading.Timer(deadline, proc.kill)
    watchdog.start()
    seen: list[Event] = []
    hit: Event | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                seen.append(json.loads(line))
                if match(seen[-1]):
                    proc.send_signal(signal.SIGKILL)
                    hit = seen[-1]
                    break
    finally:
        watchdog.cancel()
        if proc.poll() is None and hit is None:
            proc.kill()
        proc.wait(timeout=60)
        if proc.stdout is not None:
            proc.stdout.close()
    return hit, proc.returncode, seen


def engine_script_argv(site: SiteLab, call: str) -> list[str]:
    """Argv running ``Engine(<inventory>).<call>`` with JSON-line events on stdout.

    Test faults are reachable only through ``Engine.apply`` (never the CLI), so a fault run that must be
    killed mid-way runs in a small Python subprocess of its own.
    """
    script = ("import sys\nfrom egressctl.engine import Engine, TestFaults\n"
              "from egressctl.cli.progress import JsonLines\n"
              f"Engine(sys.argv[1]).{call}\n")
    return [sys.executable, "-c", script, str(site.inventory)]


def discard_junos_leftovers(site: SiteLab) -> list[str]:
    """An operator's manual clean-up: ``rollback 0`` on Junos devices whose candidate a killed run left dirty.

    Only for test isolation after a resume test (so one failure does not cascade): the Junos driver refuses
    to configure over an uncommitted candidate, even egressctl's own. Returns the devices cleaned.
    """
    def drop(drv: Any) -> bool:
        conn = drv.conn
        dirty = "changed but not committed" in str(conn.config_mode()).lower()
        if dirty:
            conn.send_command("rollback 0", expect_string=r"#", read_timeout=30)
        conn.exit_config_mode()
        return dirty

    juniper = [d for d in site.devices if d.platform == "juniper_junos"]
    return [d.name for d in juniper if with_session(d, drop)]


# --- the probe matrix -------------------------------------------------------------------------------------
def open_flows(site: Site, target: str) -> list[Flow]:
    """Flows the inventory says are open at ``target`` (always-allowed plus the stages up to it)."""
    if target == "isolated":
        return list(site.always_allowed)
    idx = [s.name for s in site.stages].index(target)
    return [*site.always_allowed, *(f for s in site.stages[: idx + 1] for f in s.allow)]


def flow_covers(flow: Flow, dst: str, proto: str, port: int) -> bool:
    """True when ``flow`` lets ``proto`` to ``dst``:``port`` out (read straight from the inventory)."""
    if flow.protocol not in ("any", proto):
        return False
    addr = ipaddress.ip_address(dst)
    if not any(addr.version == n.version and addr in n for n in flow.destinations):
        return False
    return proto == "icmp" or not flow.ports or any(r.first <= port <= r.last for r in flow.ports)


def matrix(verification: Event) -> list[Event]:
    """The probe matrix of a verification document (one dict per probe)."""
    return list(verification.get("details", {}).get("matrix", []))


def answered(cells: list[Event]) -> set[tuple[str, str, str, int]]:
    """(vantage, dst, proto, port) of every probe that got a real answer."""
    return {(c["vantage"], c["dst"], c["proto"], c["port"]) for c in cells if c["observed"] == "answered"}


def should_answer(site: Site, target: str, cells: list[Event]) -> set[tuple[str, str, str, int]]:
    """The probes of ``cells`` the inventory's open flows at ``target`` cover (independent of the matcher)."""
    flows = open_flows(site, target)
    return {(c["vantage"], c["dst"], c["proto"], c["port"]) for c in cells
            if any(flow_covers(f, c["dst"], c["proto"], c["port"]) for f in flows)}


def canary_cells(site: Site, cells: list[Event]) -> dict[tuple[str, str, str], list[Event]]:
    """Probes toward each canary by (vantage, canary, proto)."""
    names = {str(c.address): c.name for c in site.canaries}
    out: dict[tuple[str, str, str], list[Event]] = {}
    for c in cells:
        if c["dst"] in names:
            out.setdefault((c["vantage"], names[c["dst"]], c["proto"]), []).append(c)
    return out
