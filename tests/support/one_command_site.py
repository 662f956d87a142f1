"""One command isolates, then restores, a whole lab site: the CLI's own verdict and the test's own packets.

The kit of the e2e modules that take one lab file (``lab/*.yaml``) up under a prefix of their own, run
``egressctl isolate SITE --yes``, ``restore SITE --stage S`` and ``restore SITE --full`` as an operator
would (a CLI subprocess, :class:`~tests.support.site_e2e_support.SiteLab`), and prove each step twice: the
verification document's probe matrix against what the inventory says should answer, and bounded TCP
connects of their own from the lab's nodes. :func:`site_up` records every device's configuration first and
brings the lab down at the end (also on failure), checking that no namespace of its prefix is left. Each
module keeps its site's own checks (which hosts, which destinations, which configuration lines may differ).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from egressctl_lab import Lab

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from tests.conftest import lab_available
from tests.support.emulator_in_netns import in_netns
from tests.support.site_e2e_support import Event, SiteLab, answered, config_diff, matrix, should_answer


@dataclass
class TimedSite(SiteLab):
    """A :class:`SiteLab` on one named site of a lab under ``prefix``.

    Its one-command steps (each timed) with the checks every site shares, and probes from the lab's nodes.
    """

    site_name: str = ""
    prefix: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    listeners: list[socket.socket] = field(default_factory=list)

    @property
    def site(self) -> Site:
        """The site as the lab's effective inventory describes it."""
        return load_inventory(self.inventory).site(self.site_name)

    def timed(self, label: str, *args: str) -> tuple[int, list[Event], Event]:
        """``cli_json(args)``, its wall time recorded under ``label``."""
        t0 = time.monotonic()
        out = self.cli_json(*args)
        self.timings[label] = time.monotonic() - t0
        return out

    def tcp_open(self, node: str, host: str, port: int, attempts: int = 3) -> bool:
        """Whether any of up to ``attempts`` bounded TCP connects from lab node ``node`` succeeds.

        A permitted connect can miss its 1 s time-out on a loaded machine and a dropped one never succeeds,
        so retrying makes the "open" checks robust and the "cut" checks stricter.
        """
        def probe() -> bool:
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
                s.settimeout(1.0)
                return s.connect_ex((host, port)) == 0

        return any(in_netns(self.prefix + node, probe) for _ in range(attempts))

    def silent(self, node: str, host: str, port: int) -> bool:
        """Whether one bounded TCP connect from ``node`` fails (a dropped connect never succeeds)."""
        return not self.tcp_open(node, host, port, attempts=1)

    def listen(self, node: str, address: str, port: int = 22) -> None:
        """A TCP listener on ``address``:``port`` in lab node ``node`` (the kernel completes handshakes)."""
        def make() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((address, port))
            s.listen(64)
            return s

        self.listeners.append(in_netns(self.prefix + node, make))

    def isolate_by_one_command(self, devices: set[str], vantages: set[str]) -> list[Event]:
        """``isolate SITE --yes``: exit 0, each of ``devices`` isolated, the cut confirmed; the probe matrix.

        The probes come from ``vantages``; those that answered are exactly those the inventory keeps open.
        """
        rc, _, res = self.timed("isolate", "isolate", self.site_name, "--yes")
        assert rc == 0, res["message"]
        assert res["state"] == "isolated"
        assert {d["device"]: d["after"] for d in res["devices"]} == dict.fromkeys(devices, "isolated")
        ver = res["verification"]
        assert ver["verdict"] == "cut-confirmed", ver["summary"]
        cells = matrix(ver)
        assert {c["vantage"] for c in cells} == vantages
        assert answered(cells) == should_answer(self.site, "isolated", cells)
        return cells

    def restore_stage(self, stage: str) -> None:
        """``restore SITE --stage STAGE --yes``: exit 0, at the stage, exactly its flows answer the probes."""
        args = ("restore", self.site_name, "--stage", stage, "--yes")
        rc, _, res = self.timed(f"restore --stage {stage}", *args)
        assert rc == 0, res["message"]
        assert res["state"] == f"stage:{stage}"
        ver = res["verification"]
        assert ver["ok"], ver["summary"]
        cells = matrix(ver)
        assert answered(cells) == should_answer(self.site, stage, cells)

    def restore_full(self) -> dict[str, str]:
        """``restore SITE --full --yes``: exit 0, normal and verified so; every device's configuration now."""
        rc, _, res = self.timed("restore --full", "restore", self.site_name, "--full", "--yes")
        assert rc == 0, res["message"]
        assert res["state"] == "normal" and res["verification"]["verdict"] == "normal-ok"
        return self.snapshots()

    def assert_at_baseline(self, after: dict[str, str], stable: Callable[[str], str] = str) -> None:
        """Every device's configuration ``after`` equals its baseline (both seen through ``stable``)."""
        diffs = {n: config_diff(stable(self.baseline[n]), stable(after[n]), n) for n in self.baseline}
        assert not any(diffs.values()), "\n".join(d for d in diffs.values() if d)


def namespaces(prefix: str) -> list[str]:
    """The network namespaces whose names start with ``prefix``."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=False)
    return [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith(prefix)]


@contextmanager
def site_up(source: Path, site: str, prefix: str, port_base: int, state: Path,
            ready: Callable[[TimedSite], None] | None = None) -> Iterator[TimedSite]:
    """The lab of ``source`` up for the body, ``ready`` run, every device's baseline configuration recorded.

    Down at the end whatever happens, with its timings printed and a check that no namespace is left.
    """
    if not lab_available():
        pytest.skip("network namespaces are not available")
    lab = Lab(source, prefix=prefix, port_base=port_base, state_dir=state)
    ts = TimedSite(lab, state, site_name=site, prefix=prefix)
    try:
        t0 = time.monotonic()
        lab.up()
        ts.timings["lab up"] = time.monotonic() - t0
        if ready is not None:
            ready(ts)
        ts.baseline = ts.snapshots()
        yield ts
    finally:
        for s in ts.listeners:
            s.close()
        t0 = time.monotonic()
        lab.down()
        ts.timings["lab down"] = time.monotonic() - t0
        print(f"\n{prefix} timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in ts.timings.items()))
        assert namespaces(prefix) == [], "lab down left namespaces behind"
