"""vyos driver against the emulated VyOS router over real SSH (netmiko ``vyos``), on loopback.

The public lifecycle suite on a 1.5 router (the driver sets ``commit-confirm action reload`` before its
first change, so the timer reloads in place: load, ``compare``, ``commit-confirm``, read back, a fresh
session, ``confirm``, the timer reverting an unconfirmed commit, rollback, stages, normal, a rejected line,
a wrong host key, a wrong password), then what is VyOS's own: a confirmed change is saved and an
unconfirmed one never is, and on a 1.4 router, which refuses the reload action, the plan says the timer
reboots and the timer does reboot it (sessions dropped, logins refused while it boots, the saved
configuration back). Ports 27902-27903 (helper range 27900-27949); no namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.vyos import constants as c
from egressctl_lab.testing.emulator import Emulated, available, serve_emulated, wait_until
from egressctl_lab.testing.lifecycle import EmulatedLifecycleSuite, at, make

from egressctl.check import Status
from egressctl.driver import SafetyNet
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy

pytestmark = [pytest.mark.ssh,
              pytest.mark.skipif(not available("vyos"), reason="vyos emulator not available")]

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = {"interfaces": {"eth0": "e0", "eth1": "e1"}}
#: One device minute lasts 6 s: room for the suite's read-back and fresh-session check before it fires.
TIME_SCALE = 0.1


def device_of() -> Any:
    return load_inventory(INVENTORY).site("clinic").device("vy-a")


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    spec = {**SPEC, "options": {"version": "1.5-rolling-202501010000"}}
    with serve_emulated(device_of(), port=27902, spec_kw=spec, time_scale=TIME_SCALE, tag="h10") as emu:
        yield emu


class TestVyosLifecycle(EmulatedLifecycleSuite):
    inventory = INVENTORY
    site_name = "clinic"
    revert_wait = 60 * TIME_SCALE

    def rejected_line(self, drv: Any) -> None:
        drv.send_config(["set firewall ipv4 name H10-REJECT rule 10 action bogus"], exit_config_mode=False)

    def test_09_reload_is_the_net_and_check_says_so(self, drv: Any) -> None:
        """The driver set ``commit-confirm action reload`` (1.5): plan and check say no reboot."""
        assert drv.read_action() == "reload"
        net = drv.net_description()
        assert net.net is SafetyNet.NATIVE_CONFIRM and "no reboot" in net.on_fire
        results = {r.name: r for r in drv.preflight()}
        assert results["safety-net"].status is Status.OK and results["commit-confirm"].status is Status.OK

    def test_10_a_confirmed_change_is_saved_an_unconfirmed_one_never(self, drv: Any, site: Site) -> None:
        """A reboot keeps a confirmed cut and drops an unconfirmed one: the saved config says which."""
        def saved_diff() -> str:
            drv._configure()
            out = str(drv._raw(c.COMPARE_SAVED, True))
            drv._operational()
            return out

        if not drv.read_state().is_normal:
            self.apply(drv, compute_policy(site, "normal"))
            drv.confirm()
        self.apply(drv, compute_policy(site, "isolated"))
        assert "EGRESSCTL-V4" in saved_diff(), "saved before the confirmation"
        drv.confirm()
        assert "EGRESSCTL" not in saved_diff() and drv.ensure_saved() == ""
        drv.send_config(["set system static-host-mapping host-name h10.example inet 192.0.2.1", "commit"],
                        exit_config_mode=False)
        drv._conf = True
        drv._operational()
        assert drv.ensure_saved() == "", "site lines alone never make egressctl save"
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()
        assert "EGRESSCTL" not in saved_diff()


@pytest.fixture(scope="module")
def old_router() -> Iterator[Emulated]:
    spec = {**SPEC, "options": {"version": "1.4.0", "boot_seconds": "250"}}
    with serve_emulated(device_of(), port=27903, spec_kw=spec, time_scale=TIME_SCALE, tag="h10") as emu:
        yield emu


def test_a_14_router_reboots_when_the_timer_fires(old_router: Emulated) -> None:
    """1.4 refuses the reload action: the plan says reboot, and the timer reboots to the saved config."""
    site = load_inventory(INVENTORY).site("clinic")
    d = make(old_router.device)
    d.open(old_router.secret)
    try:
        state = d.read_state()
        d.load_candidate(compute_policy(site, "isolated"), state)
        assert d.read_action() == "reboot"
        net = d.net_description()
        assert net.net is SafetyNet.REBOOT_REVERT and "REBOOTS" in net.on_fire
        assert {r.name: r for r in d.preflight()}["safety-net"].status is Status.WARN
        d.commit(60)
        assert at(d.read_state(), compute_policy(site, "isolated")) and d.has_pending_commit()
        # the timer fires (6 s): the router reboots and this session dies with it
        assert wait_until(lambda: old_router.handle.device.reboots == 1, 30, 0.2)  # type: ignore[attr-defined]
    finally:
        d.close()
    down = make(old_router.device, 5.0)
    with pytest.raises(Exception):  # noqa: B017 - refused while it boots (login closed)
        down.open(old_router.secret)
        down.read_state()
    down.close()
    again = make(old_router.device)
    assert wait_until(lambda: _up(again, old_router), 60, 0.5), "the router did not come back"
    try:
        assert again.read_state().is_normal and not again.has_pending_commit()
    finally:
        again.close()


def _up(d: Any, emu: Emulated) -> bool:
    try:
        d.open(emu.secret)
        return True
    except Exception:
        d.close()
        return False
