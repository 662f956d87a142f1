"""core-b keeps egressctl's confirmed table across a reboot, and loses an unconfirmed one (issue 14 kind B).

The lab's core-b is a real Linux box (sshd, sudo, nft) that boots as a Debian host: a restart kills every
process in it, flushes its ruleset and loads its ``/etc/nftables.conf`` (its own /etc, an overlay kept
across reboots). Lab prefix ``h2l-``, loopback ports 27050-27069. Root only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_drivers.linux_nftables import persist
from egressctl_drivers.linux_nftables.preflight import preflight

from egressctl.check import Status
from egressctl.inventory.models import Site
from egressctl.persistence import ensure_saved
from egressctl.planner import describe_net
from tests.support import linux_box
from tests.support.persist_kit import commit, read, reboot_lab, session

pytestmark = [pytest.mark.lab, pytest.mark.root,
              pytest.mark.skipif(not linux_box.available(), reason="needs root, ip, nft, sudo and sshd")]

BOX = "core-b"
HOST_CONF = Path("/etc/nftables.conf")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[object, Site, Path]]:
    host_before = _digest(HOST_CONF)
    with reboot_lab("h2l-", 27050) as (lab, site):
        yield lab, site, lab.paths.run / BOX / "etc-upper"
    assert _digest(HOST_CONF) == host_before, "the host's /etc/nftables.conf changed"
    assert not Path(persist.FILE).exists(), "egressctl's boot file appeared on the host"


def test_confirmed_isolation_survives_a_reboot_and_a_full_restore_leaves_no_trace(lab: tuple) -> None:
    the_lab, site, etc = lab
    original = (etc / "nftables.conf").read_text()
    commit(site, BOX, "isolated", confirm=True)
    conf = (etc / "nftables.conf").read_text()
    assert conf.startswith(original) and conf.endswith(f"{persist.NOTE}\n{persist.INCLUDE}\n")
    assert "table inet egressctl {" in (etc / "egressctl" / "egressctl.nft").read_text()
    with session(site, BOX) as drv:
        found = {c.name: c for c in preflight(drv)}["persistence"]
        assert found.status == Status.OK and "nftables.service loads it at boot" in found.detail, found
        assert "persists on confirm" in describe_net(drv).on_fire
    the_lab.restart(BOX)
    state = read(site, BOX)
    assert (state.target, state.pending_commit) == ("isolated", False)

    commit(site, BOX, "normal", confirm=True)
    assert (etc / "nftables.conf").read_text() == original  # the include is gone again
    assert not (etc / "egressctl" / "egressctl.nft").exists()
    the_lab.restart(BOX)
    assert read(site, BOX).is_normal


def test_an_unconfirmed_change_is_gone_after_a_reboot(lab: tuple) -> None:
    the_lab, site, _ = lab
    commit(site, BOX, "isolated", confirm=True)
    commit(site, BOX, "normal", confirm=False)  # the revert job waits; nothing saved
    assert read(site, BOX).pending_commit
    the_lab.restart(BOX)
    state = read(site, BOX)
    assert (state.target, state.pending_commit) == ("isolated", False)


def test_a_rerun_saves_what_a_crashed_run_confirmed_but_never_saved(lab: tuple) -> None:
    """Confirmed (job killed) but never saved, as by a controller killed between the two: the next run's
    ``ensure_saved`` (the lifecycle's hook on a device already at its target) saves it, once."""
    the_lab, site, etc = lab
    commit(site, BOX, "isolated", confirm=True)
    with session(site, BOX) as drv:
        drv.load_candidate(_ministry(site), drv.read_state())
        drv.commit(600)
        assert drv._disarm()  # the confirm's first half only: what a SIGKILL right after it leaves
    with session(site, BOX) as drv:
        assert drv.unsaved()
        warnings: list[str] = []
        assert ensure_saved(drv, warnings) == persist.SAVED_NOTE and warnings == []
        assert not drv.unsaved()
    with session(site, BOX) as drv:
        assert ensure_saved(drv, []) == ""  # nothing differs: nothing written
    the_lab.restart(BOX)
    assert read(site, BOX).target == "ministry"
    assert "ministry" in (etc / "egressctl" / "egressctl.nft").read_text()


def test_a_failed_save_is_a_warning_and_the_change_stays(lab: tuple) -> None:
    """The boot file cannot be written (a read-only /etc/egressctl on the box): confirm keeps the change,
    and the hook reports why, for the operation to end as needing attention."""
    _, site, etc = lab
    commit(site, BOX, "normal", confirm=True)
    with session(site, BOX) as drv:
        drv.run("mkdir -p /etc/egressctl && mount -t tmpfs -o ro,size=1m tmpfs /etc/egressctl")
        try:
            drv.load_candidate(_ministry(site), drv.read_state())
            drv.commit(600)
            drv.confirm()  # does not raise: the change is confirmed and live
            assert drv.read_state().target == "ministry"
            warnings: list[str] = []
            assert ensure_saved(drv, warnings) == ""
            assert len(warnings) == 1 and "not saved" in warnings[0] and "egressctl.nft" in warnings[0]
        finally:
            drv.run("umount /etc/egressctl")
        assert ensure_saved(drv, []) == persist.SAVED_NOTE  # writable again: saved now
    assert "ministry" in (etc / "egressctl" / "egressctl.nft").read_text()
    commit(site, BOX, "normal", confirm=True)


def _ministry(site: Site):  # type: ignore[no-untyped-def]
    from egressctl.policy import compute_policy

    return compute_policy(site, "ministry")


def test_a_shell_in_a_namespace_of_its_own_never_writes_the_hosts_etc(tmp_path: Path) -> None:
    """``ip netns exec`` gives a shell another network namespace but the host's /etc: saving there would
    change the host's boot firewall (and still lose the box's table), so the script refuses."""
    import subprocess

    script = tmp_path / persist.SCRIPT_NAME
    script.write_text(persist.SCRIPT)
    ns = "h2-guard"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "add table inet egressctl"], check=True)
        before = _digest(HOST_CONF)
        for mode in ("save", "check"):
            res = subprocess.run(["ip", "netns", "exec", ns, "sh", str(script), mode, str(tmp_path)],
                                 capture_output=True, text=True, timeout=30, check=False)
            assert res.returncode == 1 and "EGRESSCTL-FAILED: this shell's network namespace" in res.stdout
        assert _digest(HOST_CONF) == before and not Path(persist.FILE).exists()
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False)
