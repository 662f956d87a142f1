"""fw-b is never left in ``cfg-save revert`` once a run has gone over it again (issue 14, fault kind A).

The fault campaign found FortiGates left in revert mode (the dead-man switch armed with nothing to confirm)
after an interrupted commit or a reboot. Each failure mode is made here on the lab's emulated FortiGate
under ``egressctl_lab.faultemu`` (a restart boots from the saved configuration, one-shot faults answer in
FortiOS's words), then the same egressctl command runs again as an operator would (the real CLI, its own
journal), and the unit is read over a fresh session: its save mode and revert timeout are the ones it had
before egressctl first touched it (a non-default ``cfg-revert-timeout 1200`` here, so the default cannot
pass for it), the record is gone, and the target is reached. Lab prefix ``h1t-``, loopback ports
27030-27049. Root only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.fortinet.savemode import RECORD, Original, record_lines
from egressctl_lab import Lab, faults
from egressctl_lab.testing.lifecycle import make

from egressctl.inventory.credentials import resolve
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy
from tests.support import linux_box
from tests.support.persist_kit import read, reboot_lab, session

pytestmark = [pytest.mark.lab, pytest.mark.root,
              pytest.mark.skipif(not linux_box.available(), reason="needs root, ip, nft, sudo and sshd")]

FW = "fw-b"
ORIGINAL_TIMEOUT = "1200"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Lab, Site]]:
    with reboot_lab("h1t-", 27030) as (lab, site):
        yield lab, site


def egressctl(lab: Lab, *args: str) -> tuple[int, str]:
    """Run the CLI on fw-b alone (``--json --no-verify``); (exit code, the final message)."""
    argv = [sys.executable, "-m", "egressctl.cli.main", "-i", str(lab.inventory_path), "--state-dir",
            os.environ["EGRESSCTL_STATE_DIR"], *args, "--device", FW, "--yes", "--json", "--no-verify",
            "--revert-in", "60"]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    docs = [json.loads(ln) for ln in res.stdout.splitlines() if ln.startswith("{")]
    return res.returncode, str(docs[-1].get("message", "")) if docs else res.stderr[-500:]


def unit(site: Site) -> dict[str, Any]:
    """fw-b over a fresh session: save mode, revert timeout, whether the record is there, its target."""
    with session(site, FW) as drv:
        mode, timeout = drv._global()
        record = f'"{RECORD}"' in drv.send("show system auto-script")
    return {"mode": mode, "timeout": timeout, "record": record, "target": read(site, FW).target}


def settled(target: str) -> dict[str, Any]:
    """What :func:`unit` reads once the save mode is back and ``target`` reached."""
    return {"mode": "automatic", "timeout": ORIGINAL_TIMEOUT, "record": False, "target": target}


@pytest.fixture(autouse=True)
def original(lab: tuple[Lab, Site]) -> None:
    """Each test starts from a unit saving automatically with its own non-default revert timeout."""
    with session(lab[1], FW) as drv:
        drv.send_config(["config system global", f"set cfg-revert-timeout {ORIGINAL_TIMEOUT}", "end"])
        assert drv._global() == ("automatic", ORIGINAL_TIMEOUT)


def interrupted_commit(site: Site, target: str) -> None:
    """Arm cfg-save revert and send the change, then lose the controller (no confirm, no rollback).

    The device option ``revert: reboot`` keeps revert mode armed after the lines, as a controller killed
    before it could hand over to the revert scripts leaves it.
    """
    dev = site.device(FW).model_copy(update={"options": {"revert": "reboot"}})
    drv = make(dev, timeout=30.0)
    drv.open(resolve(dev.credential))
    try:
        state = drv.read_state()
        drv.load_candidate(compute_policy(site, target), state)
        drv.commit(600)
    finally:
        drv.close()


def test_h1_interrupted_commits_with_the_record_present_then_rerun(lab: tuple[Lab, Site]) -> None:
    """Two interrupted commits in a row (the second over the first's revert mode), the marker lost."""
    the_lab, site = lab
    interrupted_commit(site, "isolated")
    interrupted_commit(site, "ministry")  # a unit already in revert mode: the original is the record's
    for marker in Path(os.environ["EGRESSCTL_STATE_DIR"]).glob("drivers/fortinet/*.json"):
        marker.unlink()  # another controller, another journal: only the unit knows the original now
    left = unit(site)
    assert (left["mode"], left["record"]) == ("revert", True)
    rc, message = egressctl(the_lab, "isolate", "lab")
    assert rc == 0, message
    assert unit(site) == settled("isolated")


def test_h1_reboot_while_armed_then_a_noop_rerun(lab: tuple[Lab, Site]) -> None:
    """The unit reboots with revert armed: back at its saved state, in revert mode, the change gone."""
    the_lab, site = lab
    before = read(site, FW).target
    interrupted_commit(site, "isolated" if before != "isolated" else "ministry")
    the_lab.restart(FW)
    left = unit(site)
    assert (left["mode"], left["record"], left["target"]) == ("revert", True, before)
    # An operation whose target the unit already holds: nothing to change, the save mode still comes back.
    args = ("isolate", "lab") if before == "isolated" else ("restore", "lab", "--full")
    rc, message = egressctl(the_lab, *args)
    assert rc == 0, message
    assert unit(site) == settled(before)


@pytest.mark.parametrize("kind", ["reject", "fail-commit"])
def test_h1_rejected_arming_aborts_and_gives_the_mode_back(lab: tuple[Lab, Site], kind: str) -> None:
    """The unit refuses ``set cfg-save revert`` (reject) or the block's ``end`` (fail-commit).

    A record is already on the unit (an earlier run died after giving the mode back, before deleting it),
    so the first configuration line of this run is the arming itself, where the fault lands.
    """
    the_lab, site = lab
    before = read(site, FW).target
    with session(site, FW) as drv:
        drv.send_lines(record_lines(Original("automatic", ORIGINAL_TIMEOUT)))
    faults.arm_emulator_fault(the_lab, FW, kind)
    target = "isolated" if before != "isolated" else "ministry"
    rc, message = egressctl(the_lab, *(("isolate", "lab") if target == "isolated" else
                                       ("restore", "lab", "--stage", "ministry")))
    assert not faults.disarm_emulator_fault(the_lab, FW), "the fault never fired"
    assert rc != 0 and "could not arm cfg-save revert" in message, message
    assert unit(site) == settled(before), "the arming is aborted, nothing armed, no record left"
    rc, message = egressctl(the_lab, *(("isolate", "lab") if target == "isolated" else
                                       ("restore", "lab", "--stage", "ministry")))
    assert rc == 0, message
    assert unit(site) == settled(target)
