"""cisco_ios driver against the emulated IOS router over real SSH (netmiko ``cisco_ios``).

Part 1 (DRV1): the shared lifecycle on an emulator served on loopback. Part 2 (FIX-IOS): ce-a on the real
lab, managed in band, so the controller's own session crosses the ACL being replaced.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_for_timer

from egressctl.errors import DeviceError
from egressctl.inventory.credentials import Secret, resolve
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import compute_policy
from tests.support import emulated_device as emu
from tests.support.lab_lifecycle import LabEmulatedLifecycleSuite, LifecycleSuite, at, make

pytestmark = pytest.mark.skipif(not emu.available("cisco_ios"), reason="cisco_ios emulator not available")

SPEC = {"interfaces": {"GigabitEthernet0/0": "gi0-0", "GigabitEthernet0/1": "gi0-1"}}


@pytest.fixture(scope="module")
def emulated() -> Iterator[emu.Emulated]:
    with emu.serve_lab_device("ce-a", 23710, SPEC, tag="ios") as e:
        yield e


class TestCiscoIosLifecycle(LabEmulatedLifecycleSuite):
    revert_wait = 60 * emu.TIME_SCALE["cisco_ios"]

    def rejected_line(self, drv: Any) -> None:
        drv.send_config(["ip access-list extended FI-REJECT", " permit tcp host 10.0.0.1 eq nosuch any"])

    def test_09_archive_added_for_the_timer_is_removed_at_normal_and_a_sites_is_kept(
        self, drv: Any, site: Site
    ) -> None:
        """The archive path egressctl adds lives as long as egressctl's ACLs; a site's is untouched."""
        def archive() -> str:
            return str(drv.send("show running-config | section ^archive"))

        def go(target: str) -> None:
            self.apply(drv, compute_policy(site, target))
            drv.confirm()

        if not drv.read_state().is_normal:
            go("normal")
        before = drv.snapshot()
        assert archive() == ""
        go("isolated")
        assert "path flash:egressctl-revert" in archive()
        go("normal")
        assert archive() == "" and drv.snapshot() == before
        # a site with its own archive: egressctl uses it and never removes it
        drv.send_config(["archive", " path flash:site-archive", " maximum 5"])
        before = drv.snapshot()
        go("isolated")
        assert "egressctl" not in archive()
        go("normal")
        assert drv.snapshot() == before
        # a site archive without a path: egressctl adds its path, then removes only that line
        drv.send_config(["archive", " no path"])
        before = drv.snapshot()
        go("ministry")
        assert "path flash:egressctl-revert" in archive() and "maximum 5" in archive()
        go("normal")
        assert drv.snapshot() == before
        drv.send_config(["no archive"])


# -- in band on the real lab: the session that types the change crosses the ACL it changes -----------------
# ce-a is managed in band: the controller reaches it through the lab's forwarder, which originates from the
# operators' station (10.10.1.50) and enters ce-a on its inside interface GigabitEthernet0/1, exactly where
# egressctl's ACLs are applied inbound. Editing the applied ACL in place cuts that session after the first
# entry; the driver must build the new ACL aside and swap it in.
LAB_PORT_BASE = 23720
LAB_TIME_SCALE = 0.05  # one device minute = 3 s
IN_BAND_CHAIN = ["isolated", "ministry", "allowlist", "ministry", "normal"]
REVERT_MINUTES = 3  # 9 s at LAB_TIME_SCALE: room for the two steps of the negative control


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.labkit import running_lab

    with running_lab(tmp_path_factory, "fi-", LAB_PORT_BASE, export_state=False,
                     time_scale=LAB_TIME_SCALE) as instance:
        yield instance


@pytest.fixture(scope="module")
def in_band(lab: Any) -> tuple[Device, Secret, Site]:
    site = load_inventory(lab.inventory_path).site("lab")
    device = site.device("ce-a")
    return device, resolve(device.credential), site


def node_run(lab: Any, node: str, argv: list[str], timeout: float = 15) -> subprocess.CompletedProcess[str]:
    from egressctl_lab import node_exec_prefix

    return subprocess.run([*node_exec_prefix(node, state_dir=lab.paths.state), *argv], capture_output=True,
                          text=True, timeout=timeout, check=False)


def tcp_from(lab: Any, node: str, host: str, port: int) -> bool:
    """One bounded TCP connect from inside ``node``'s namespace (IPv4 or IPv6)."""
    code = ("import socket,sys\nfam=socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET\n"
            "s=socket.socket(fam);s.settimeout(2.0)\n"
            "sys.exit(0 if s.connect_ex((sys.argv[1],int(sys.argv[2])))==0 else 1)")
    return node_run(lab, node, [sys.executable, "-c", code, host, str(port)]).returncode == 0


def bound_acls(drv: Any) -> list[str]:
    return [ln.split()[-2] for ln in drv.send("show running-config | include access-group|traffic-filter")
            .splitlines() if ln.strip().startswith(("ip access-group", "ipv6 traffic-filter"))]


@pytest.mark.lab
@pytest.mark.slow
def test_stage_changes_over_a_session_that_crosses_the_acl(
        lab: Any, in_band: tuple[Device, Secret, Site]) -> None:
    device, secret, site = in_band
    drv = make(device, timeout=15.0)
    drv.open(secret)  # ONE session for the whole chain: it must survive every swap
    try:
        seen: list[list[str]] = []
        for target in IN_BAND_CHAIN:
            policy = compute_policy(site, target)
            state = drv.read_state()
            drv.load_candidate(policy, state)
            drv.commit(120)
            assert drv.has_pending_commit()
            assert at(drv.read_state(), policy), f"read-back over the same session at {target}"
            drv.confirm()
            seen.append(bound_acls(drv))
        assert drv.read_state().is_normal
    finally:
        drv.close()
    assert seen == [["EGRESSCTL-V4-A", "EGRESSCTL-V6-A"], ["EGRESSCTL-V4-B", "EGRESSCTL-V6-B"],
                    ["EGRESSCTL-V4-A", "EGRESSCTL-V6-A"], ["EGRESSCTL-V4-B", "EGRESSCTL-V6-B"], []]


@pytest.mark.lab
@pytest.mark.slow
def test_isolated_acl_filters_the_router_itself_and_keeps_ipv6_neighbour_discovery(
        lab: Any, in_band: tuple[Device, Secret, Site]) -> None:
    device, secret, site = in_band
    drv = make(device, timeout=15.0)
    drv.open(secret)
    try:
        LifecycleSuite().apply(drv, compute_policy(site, "isolated"))
        drv.confirm()
        # the ACL really stands between the site and the router's SSH: ops may pass, a workstation may not
        assert tcp_from(lab, "ops", "10.10.101.2", 22)
        assert not tcp_from(lab, "ws1", "10.10.101.2", 22)
        # IPv6 through exit primary needs neighbour discovery across the ACL: forget every neighbour first
        for node in ("fw-a", "ce-a"):
            node_run(lab, node, ["ip", "-6", "neigh", "flush", "all"])
        assert tcp_from(lab, "ws1", "2001:db8:c::d53", 53), "always-allowed IPv6 DNS forwarder via ce-a"
        assert not tcp_from(lab, "ws1", "2001:db8:c::80", 80), "IPv6 web must stay cut"
        reached = node_run(lab, "fw-a", ["ip", "-6", "neigh", "show", "fd10:0:101::2"]).stdout
        assert "lladdr" in reached, reached
    finally:
        with contextlib.suppress(Exception):
            LifecycleSuite().apply(drv, compute_policy(site, "normal"))
            drv.confirm()
        drv.close()


@pytest.mark.lab
@pytest.mark.slow
def test_in_place_rebuild_would_cut_the_session_and_the_revert_timer_recovers(
        lab: Any, in_band: tuple[Device, Secret, Site]) -> None:
    """Negative control: the pre-fix way (edit the applied ACL in place) loses the session mid-change."""
    device, secret, site = in_band
    iso = compute_policy(site, "isolated")
    drv = make(device, timeout=15.0)
    drv.open(secret)
    try:
        LifecycleSuite().apply(drv, iso)
        drv.confirm()
    finally:
        drv.close()
    victim = make(device, timeout=5.0)
    victim.open(secret)
    try:
        victim.send_config(["archive", " path flash:archive"])
        victim.conn.config_mode(config_command=f"configure terminal revert timer {REVERT_MINUTES}")
        armed = time.monotonic()
        # the first entry of the re-created, still applied ACL takes effect once its prompt is back ...
        first = ["no ip access-list extended EGRESSCTL-V4-A", "ip access-list extended EGRESSCTL-V4-A",
                 " permit tcp host 10.10.1.50 host 10.99.0.1 eq 22"]
        victim.send_config(first, enter_config_mode=False, exit_config_mode=False)
        # ... and its implicit deny drops the very next line, the one that would have let the session in
        with pytest.raises(DeviceError):
            victim.send_config([" permit tcp host 10.10.1.50 host 10.10.101.2 eq 22"],
                               enter_config_mode=False)
    finally:
        victim.close()
    # when the timer fires the archived configuration is back and the controller is let in again
    assert wait_for_timer(lambda: tcp_from(lab, "ops", "10.10.101.2", 22), armed_at=armed,
                          due_after=REVERT_MINUTES * 60 * LAB_TIME_SCALE), "the revert timer never fired"
    drv = make(device, timeout=15.0)
    drv.open(secret)
    try:
        back = drv.read_state()
        assert back.target == "isolated" and " ip access-group EGRESSCTL-V4-A in" in back.raw, back.raw
        # The dead session's last line was only delayed: once the revert let it in, TCP delivered it and the
        # router appended it to the restored ACL (real IOS would too). The read-back sees the difference,
        # so applying the target again (make-before-break) restores it exactly.
        if not at(back, iso):
            LifecycleSuite().apply(drv, iso)
            drv.confirm()
        assert at(drv.read_state(), iso)
        LifecycleSuite().apply(drv, compute_policy(site, "normal"))
        drv.confirm()
        assert drv.read_state().is_normal
    finally:
        drv.close()
