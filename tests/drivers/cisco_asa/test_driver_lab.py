"""cisco_asa driver against the emulated ASA over real SSH (netmiko ``cisco_asa``), on loopback.

The public lifecycle suite (render, arm the controller watchdog, type the lines, read back, a fresh
session, confirm, the watchdog typing the undo lines for an unconfirmed change, rollback, stages, normal, a
rejected line, a wrong host key, a wrong password), then what is the ASA's own: the change is live at once
and nothing is saved before the confirm, and the revert job's script run by itself (``sh job.sh`` with no
controller: real OpenSSH logging in to the emulator and typing the undo). Port 27802 (helper range
27800-27849); no namespaces.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.cisco_asa import revert
from egressctl_lab.testing.emulator import Emulated, available, serve_emulated, wait_until
from egressctl_lab.testing.lifecycle import EmulatedLifecycleSuite, at

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy

pytestmark = [pytest.mark.ssh,
              pytest.mark.skipif(not available("cisco_asa"), reason="cisco_asa emulator not available")]

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = {"interfaces": {"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
        "options": {"nameif:GigabitEthernet0/0": "outside", "nameif:GigabitEthernet0/1": "inside"}}
PORT = 27802


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    device = load_inventory(INVENTORY).site("clinic").device("asa-a")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, tag="h9") as emu:
        yield emu


class TestCiscoAsaLifecycle(EmulatedLifecycleSuite):
    inventory = INVENTORY
    site_name = "clinic"
    revert_wait = 3.0  # the watchdog runs on real seconds: the suite's short_revert_in=3

    def rejected_line(self, drv: Any) -> None:
        drv.send_config(["access-list H9-REJECT extended permit tcp host 10.0.0.1 eq nosuch any4"])

    def test_09_live_at_once_saved_only_after_the_confirm(self, drv: Any, site: Site) -> None:
        """No candidate on the ASA: the ACL is bound when commit returns; write memory follows the confirm."""
        def startup() -> str:
            return str(drv.send("show startup-config | include EGRESSCTL"))

        if not drv.read_state().is_normal:
            self.apply(drv, compute_policy(site, "normal"))
            drv.confirm()
        self.apply(drv, compute_policy(site, "isolated"))
        bound = drv.send("show running-config access-group")
        assert "access-group EGRESSCTL-A out interface outside" in bound
        assert drv.has_pending_commit() and "EGRESSCTL" not in startup(), "saved before the confirmation"
        drv.confirm()
        assert "access-group EGRESSCTL-A out interface outside" in startup() and drv.ensure_saved() == ""
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()
        assert "EGRESSCTL" not in startup()

    def test_10_revert_job_script_types_the_undo_with_no_controller(self, drv: Any, device: Any,
                                                                    secret: Any, site: Site) -> None:
        """The job's own script (as the revert host runs it) logs in with OpenSSH and puts ``normal`` back."""
        state = drv.read_state()
        assert at(state, compute_policy(site, "normal"))
        drv.load_candidate(compute_policy(site, "isolated"), state)
        undo = list(drv._undo)
        drv.send_config(drv._candidate)  # typed by hand: no watchdog, no marker, only the job can undo it
        assert at(drv.read_state(), compute_policy(site, "isolated"))
        with tempfile.TemporaryDirectory(prefix="h9-job-") as tmp:
            d = Path(tmp)
            here = device.model_copy(update={"options": {"revert_port": device.port},
                                             "mgmt_address": "127.0.0.1"})
            for name, content in revert.files(here, 1, secret, undo, "op=h9 owner=test"):
                (d / name).write_text(content)
                (d / name).chmod(0o700 if name in ("job.sh", "askpass") else 0o600)
            done = subprocess.run(["sh", str(d / "job.sh")], capture_output=True, text=True, timeout=120)
            result = (d / "result").read_text().strip() if (d / "result").exists() else ""
            transcript = (d / "out").read_text(errors="replace") if (d / "out").exists() else ""
        assert done.returncode == 0 and result == "fired-ok", transcript[-2000:]
        assert secret.password not in transcript
        assert wait_until(lambda: at(drv.read_state(), compute_policy(site, "normal")), 10, 0.5)


class LocalRevertHost(revert.AsaRevertHost):
    """The revert host's exec channel replaced by ``sh -c`` here (its SSH transport is PAN-OS's, tested).

    Everything else is the driver's: the files it writes, the detached start, the state it reads back,
    the disarm; the job itself logs in to the emulator with OpenSSH.
    """

    def __init__(self, device: Any, home: Path) -> None:
        self.device, self.timeout, self.home = device, 30.0, home
        self._client = None

    @property
    def name(self) -> str:
        return "local-bastion"

    def _run(self, command: str, stdin: str | None = None) -> str:
        done = subprocess.run(["sh", "-c", command], input=stdin or "", capture_output=True, text=True,
                              timeout=30, env={"HOME": str(self.home), "PATH": "/usr/bin:/bin:/usr/sbin"})
        assert done.returncode == 0, done.stderr
        return done.stdout

    def close(self) -> None:
        return None


@pytest.mark.parametrize("confirm", [False, True], ids=["fires", "disarmed"])
def test_revert_job_armed_by_the_driver_fires_or_is_disarmed(emulated: Emulated, tmp_path: Path,
                                                             confirm: bool) -> None:
    """commit() arms the job before the first line; with the controller gone it undoes; confirm disarms it."""
    from egressctl_drivers.cisco_asa.driver import CiscoAsaDriver

    site = load_inventory(INVENTORY).site("clinic")
    here = emulated.device.model_copy(update={"options": {"revert_port": emulated.device.port},
                                              "mgmt_address": "127.0.0.1"})
    drv = CiscoAsaDriver(here, timeout=20.0)
    drv.remote = LocalRevertHost(here, tmp_path)
    drv.open(emulated.secret)
    try:
        state = drv.read_state()
        target = compute_policy(site, "isolated" if state.is_normal else "normal")
        drv.load_candidate(target, state)
        drv.commit(2)
        assert drv.has_pending_commit() and drv.remote.state().startswith("armed op=")
        assert at(drv.read_state(), target) and not drv._watchdog.waiting  # the job, not the controller
        if confirm:
            drv.confirm()
            assert not drv.has_pending_commit() and at(drv.read_state(), target)
            time.sleep(4)
            assert at(drv.read_state(), target), "a disarmed job must not fire"
            return
    finally:
        drv.close()
    again = CiscoAsaDriver(here, timeout=20.0)
    again.remote = LocalRevertHost(here, tmp_path)
    again.open(emulated.secret)
    try:
        assert wait_until(lambda: again.remote.state() == "fired-ok", 60, 1.0), again.remote.state()
        back = again.read_state()
        assert back.fingerprint == state.fingerprint and back.target == state.target
        assert not again.has_pending_commit()
        again.rollback()  # a resumed run's rollback: the job already reverted, nothing is typed again
        assert again.read_state().raw == back.raw
    finally:
        again.close()
