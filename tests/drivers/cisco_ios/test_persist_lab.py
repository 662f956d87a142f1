"""ce-a keeps egressctl's confirmed ACLs across a reload, and loses an unconfirmed change (issue 14 kind B).

The emulated IOS router runs under ``egressctl_lab.faultemu``: a restart is a reload, booting from the
startup-config (an armed revert timer and every unsaved line are lost). Lab prefix ``h2i-``, loopback ports
27070-27089. Root only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from egressctl_drivers.cisco_ios import persist

from egressctl.inventory.models import Site
from egressctl.persistence import ensure_saved
from egressctl.planner import describe_net
from egressctl.policy import compute_policy
from tests.support import linux_box
from tests.support.persist_kit import commit, read, reboot_lab, session

pytestmark = [pytest.mark.lab, pytest.mark.root,
              pytest.mark.skipif(not linux_box.available(), reason="needs root, ip, nft, sudo and sshd")]

ROUTER = "ce-a"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[object, Site]]:
    with reboot_lab("h2i-", 27070) as (lab, site):
        yield lab, site


def _startup(site: Site) -> str:
    with session(site, ROUTER) as drv:
        return str(drv.send("show startup-config"))


def test_confirmed_isolation_survives_a_reload_and_a_full_restore_saves_the_original(lab: tuple) -> None:
    the_lab, site = lab
    original = _startup(site)
    commit(site, ROUTER, "isolated", confirm=True)
    saved = _startup(site)
    assert "EGRESSCTL-V4-" in saved and "path flash:egressctl-revert" in saved
    the_lab.restart(ROUTER)
    state = read(site, ROUTER)
    assert (state.target, state.pending_commit) == ("isolated", False)

    commit(site, ROUTER, "normal", confirm=True)
    assert _startup(site) == original  # ACLs and egressctl's archive path gone from the saved config too
    the_lab.restart(ROUTER)
    assert read(site, ROUTER).is_normal


def test_an_unconfirmed_change_is_gone_after_a_reload(lab: tuple) -> None:
    the_lab, site = lab
    commit(site, ROUTER, "isolated", confirm=True)
    commit(site, ROUTER, "normal", confirm=False)  # the revert timer runs; nothing saved
    assert read(site, ROUTER).pending_commit
    the_lab.restart(ROUTER)
    state = read(site, ROUTER)
    assert (state.target, state.pending_commit) == ("isolated", False)


def test_a_rerun_saves_what_a_crashed_run_confirmed_but_never_saved(lab: tuple) -> None:
    """``configure confirm`` sent, ``write memory`` never (a controller killed between the two): the next
    run's ``ensure_saved`` (the lifecycle's hook on a device already at its target) saves it, once."""
    the_lab, site = lab
    commit(site, ROUTER, "isolated", confirm=True)
    with session(site, ROUTER) as drv:
        drv.load_candidate(compute_policy(site, "ministry"), drv.read_state())
        drv.commit(600)
        drv.send("configure confirm")
    with session(site, ROUTER) as drv:
        assert drv.unsaved()
        warnings: list[str] = []
        assert ensure_saved(drv, warnings) == persist.SAVED_NOTE and warnings == []
        assert not drv.unsaved() and ensure_saved(drv, []) == ""
    the_lab.restart(ROUTER)
    assert read(site, ROUTER).target == "ministry"


def test_a_save_lost_with_the_session_is_a_warning_and_the_change_stays(lab: tuple) -> None:
    """The session dies between the confirm and the save: the change stays (confirmed, live) and the hook
    says why it is not saved, for the operation to end as needing attention."""
    _, site = lab
    commit(site, ROUTER, "isolated", confirm=True)
    with session(site, ROUTER) as drv:
        drv.load_candidate(compute_policy(site, "allowlist"), drv.read_state())
        drv.commit(600)
        drv.send("configure confirm")
        drv.conn.disconnect()
        warnings: list[str] = []
        assert ensure_saved(drv, warnings) == ""
        assert len(warnings) == 1 and warnings[0].startswith("confirmed and live but not saved")
    state = read(site, ROUTER)
    assert (state.target, state.pending_commit) == ("allowlist", False)
    with session(site, ROUTER) as drv:
        assert drv.unsaved() and describe_net(drv).on_fire.endswith(persist.PLAN_NOTE)
        assert "persists on confirm" in describe_net(drv).on_fire
    commit(site, ROUTER, "normal", confirm=True)
    with session(site, ROUTER) as drv:
        assert not drv.unsaved()
