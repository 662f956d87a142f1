"""fortinet driver against EMU2's emulated FortiGate over real SSH (netmiko's real ``fortinet`` class).

Runs DRV1's shared lifecycle suite (isolate, idempotent second apply, dead-man revert, rollback, stages,
normal, rejected line, host key, password), then FortiOS specifics: the revert really restores the saved
configuration, and the save mode is put back after confirm.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_until

from egressctl.errors import CommandRejected, ConfirmError, DeviceError
from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy
from egressctl.registry import driver_class
from tests.support import emulated_device as emu
from tests.support.lab_lifecycle import LabEmulatedLifecycleSuite, at

pytestmark = pytest.mark.skipif(not emu.available("fortinet"), reason="fortinet emulator not available")

SPEC = {"interfaces": {"port1": "port1", "port2": "port2"}, "options": {"boot_seconds": "40"}}


def reboot_net(device: Device) -> Device:
    """``device`` with the option that keeps FortiOS's rebooting cfg-save revert as its dead-man switch."""
    return device.model_copy(update={"options": {**device.options, "revert": "reboot"}})


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emu.Emulated]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EGRESSCTL_STATE_DIR", str(tmp_path_factory.mktemp("d2-fgt-state")))
        with emu.serve_lab_device("fw-b", 23510, SPEC, tag="fgt") as e:
            yield e


class TestFortinetLifecycle(LabEmulatedLifecycleSuite):
    # cfg-revert-timeout is at least 10 device seconds; REVERT_MIN keeps the 3 s asked by the suite legal.
    revert_wait = 10 * emu.TIME_SCALE["fortinet"]

    def rejected_line(self, drv: Any) -> None:
        drv.send_config(["config firewall address", 'edit "egressctl-bad"', "set subnet 10.0.0.300 255.0.0.0",
                         "next", "end"])

    @pytest.fixture
    def rebooting(self, device: Device, secret: Secret) -> Iterator[Any]:
        """A driver told to keep cfg-save revert (device option ``revert: reboot``), like an older unit."""
        d = driver_class(device.platform)(reboot_net(device), timeout=20.0)
        d.open(secret)
        try:
            yield d
        finally:
            d.close()

    def test_09_save_mode_restored_after_confirm(self, rebooting: Any, site: Site) -> None:
        self.apply(rebooting, compute_policy(site, "ministry"))
        assert "cfg-save" in rebooting.send("get system global") and rebooting._global()[0] == "revert"
        assert rebooting.net_description().net.value == "revert by reboot"
        rebooting.confirm()
        assert rebooting._global()[0] == "automatic"
        assert not rebooting.has_pending_commit()

    def test_10_revert_reboots_restores_saved_config_and_refuses_late_confirm(
        self, rebooting: Any, site: Site, emulated: emu.Emulated, device: Device, secret: Secret
    ) -> None:
        """cfg-save revert fires: the unit reboots (sessions dropped, unreachable), then has its saved one."""
        before = rebooting.read_state()
        target = "isolated" if before.target != "isolated" else "allowlist"
        rebooting.load_candidate(compute_policy(site, target), before)
        rebooting.commit(10)
        assert rebooting.has_pending_commit()
        reboots = emulated.call(lambda: emulated.handle.device.reboots)
        assert wait_until(lambda: emulated.call(lambda: emulated.handle.device.reboots) > reboots, 30), \
            "cfg-revert-timeout never fired"
        assert emulated.call(lambda: emulated.handle.device.booting)  # (no CLI then: test_emu_fortinet)
        rebooting.timeout = 2.0
        with pytest.raises(DeviceError):  # and the session open before it died with it
            rebooting.read_state()
        assert wait_until(lambda: not emulated.call(lambda: emulated.handle.device.booting), 60)
        back = driver_class(device.platform)(reboot_net(device), timeout=20.0)
        back.open(secret)
        try:  # a second session sees revert mode left by the reboot as a pending change of egressctl's
            assert back._global()[0] == "revert" and back.read_state().pending_commit
            assert at(back.read_state(), Policy(site.name, before.target, before.rules))
        finally:
            back.close()
        rebooting.close()
        rebooting.timeout = 20.0
        rebooting.open(secret)  # the controller whose change it was: too late, the save mode given back
        with pytest.raises(ConfirmError):
            rebooting.confirm()
        assert rebooting._global()[0] == "automatic" and not rebooting.has_pending_commit()
        assert "egressctl-cfgsave" not in rebooting.send("show system auto-script")

    def test_10b_scripts_revert_without_a_reboot(
        self, drv: Any, site: Site, emulated: emu.Emulated, device: Device, secret: Secret
    ) -> None:
        """The default on FortiOS 7.2: scripts on the unit undo an unconfirmed change; nothing reboots."""
        assert drv.net_description().net.value == "on-box revert script"
        before = drv.read_state()
        target = "isolated" if before.target != "isolated" else "allowlist"
        drv.load_candidate(compute_policy(site, target), before)
        drv.commit(10)
        assert drv._global()[0] == "automatic", "cfg-save revert is handed over, not left armed"
        assert "egressctl-rv-" in drv.send("show system auto-script")
        other = driver_class(device.platform)(device, timeout=20.0)  # a second controller: no marker file
        other.open(secret)
        try:
            assert other.read_state().pending_commit, "the unit itself says a change waits for its confirm"
        finally:
            other.close()
        reboots = emulated.call(lambda: emulated.handle.device.reboots)
        assert wait_until(lambda: at(drv.read_state(), Policy(site.name, before.target, before.rules)), 30)
        assert emulated.call(lambda: emulated.handle.device.reboots) == reboots
        assert "egressctl-rv-" not in drv.send("show system auto-script"), "each script deleted itself"
        with pytest.raises(ConfirmError):
            drv.confirm()

    def test_10c_scripts_rollback_now_and_confirm_delete_them(self, drv: Any, site: Site) -> None:
        before = drv.read_state()
        target = "isolated" if before.target != "isolated" else "allowlist"
        drv.load_candidate(compute_policy(site, target), before)
        drv.commit(60)
        drv.rollback()
        assert at(drv.read_state(), Policy(site.name, before.target, before.rules))
        assert not drv.has_pending_commit() and "egressctl-rv-" not in drv.send("show system auto-script")
        self.apply(drv, compute_policy(site, target))
        drv.confirm()
        assert not drv.has_pending_commit() and "egressctl-rv-" not in drv.send("show system auto-script")
        assert at(drv.read_state(), compute_policy(site, target))

    def test_11_snapshot_is_the_whole_configuration(self, drv: Any) -> None:
        snap = drv.snapshot()
        assert "config firewall policy" in snap and "config system global" in snap

    def test_12_secret_never_in_state_dir(self, emulated: emu.Emulated) -> None:
        import os

        root = Path(os.environ.get("EGRESSCTL_STATE_DIR", "/nonexistent"))
        for f in root.rglob("*") if root.exists() else []:
            if f.is_file():
                assert emulated.secret.password not in f.read_text(errors="ignore")

    def test_13_rejected_line_mid_commit_is_undone_by_discard(
        self, device: Device, secret: Secret, site: Site
    ) -> None:
        broken = device.model_copy(update={"inside": ["port9"]})  # no such interface on the unit
        drv = driver_class(device.platform)(broken, timeout=20.0)
        drv.open(secret)
        try:
            before = drv.read_state()
            drv.load_candidate(compute_policy(site, "ministry"), before)
            with pytest.raises(CommandRejected) as ei:
                drv.commit(60)
            assert "entry not found" in (ei.value.device_output or "")
            drv.discard()
            after = drv.read_state()
            assert at(after, Policy(site.name, before.target, before.rules)) and after.raw == before.raw
            assert not drv.has_pending_commit() and drv._global()[0] == "automatic"
        finally:
            drv.close()

    def test_14_full_restore_gives_back_the_exact_configuration(self, drv: Any, site: Site) -> None:
        """Isolate, confirm, back to normal, confirm: ``show`` equals the snapshot taken before.

        Also with a site that had a non-default ``cfg-revert-timeout``: that explicit setting is restored,
        while settings that were at their default are ``unset`` (not left as explicit defaults).
        """
        if not drv.read_state().is_normal:
            self.apply(drv, compute_policy(site, "normal"))
            drv.confirm()
        for setup in ([], ["config system global", "set cfg-revert-timeout 1200", "end"]):
            drv.send_config(setup)
            before = drv.snapshot()
            for target in ("isolated", "normal"):
                self.apply(drv, compute_policy(site, target))
                drv.confirm()
            assert drv.read_state().is_normal and drv.snapshot() == before
        drv.send_config(["config system global", "unset cfg-revert-timeout", "end"])
