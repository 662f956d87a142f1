"""cisco_asa: isolate, stages and full restore on the emulated ASA, proven with packets; connections kept
by the ASA until ``clear conn``; the management rule dropped by a bad change and the revert job, run on a
second host with the controller gone, putting it back.

The driver (netmiko ``cisco_asa``, the executor's lifecycle: read, render, commit, read back, a fresh
session, confirm) changes the ASA emulator running in namespace ``h9-fw``, whose ACLs are real nftables
rules there behind the connection table (:mod:`tests.support.device_netns`, the clinic described by
:data:`CLINIC`). Packets from the clinic (``h9-in``) toward the far side of the uplink (``h9-up``) show what
the ACL lets through; a connection held open across the cut keeps working (the ASA checks ACLs at set-up
only) until the driver's ``clear_sessions`` ends it. Namespace prefix ``h9-``, port 27820.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.cisco_asa import revert
from egressctl_drivers.common.marker import PendingMarker

from egressctl.driver import SessionHandling
from egressctl.policy import Policy, compute_policy
from tests.support.device_netns import DeviceNet
from tests.support.emulator_in_netns import lab_available
from tests.support.netns_change import Rig, bad_isolation, running_rig
from tests.support.netns_probes import echoes

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 27820
#: h9-in (10.78.1.2: the operators' station and a workstation) -- h9-fw (gi1 = GigabitEthernet0/1, nameif
#: inside, security 100; gi0 = GigabitEthernet0/0, nameif outside, security 0) -- h9-up (10.78.2.2: the NOC's
#: jump host on 22, also the *revert host*, the second machine the revert job runs on). The emulator listens
#: on every address of h9-fw: the revert job reaches it on the outside address, as a bastion reaches a
#: firewall's management.
CLINIC = DeviceNet(prefix="h9", role="fw", platform="cisco_asa", lan_port="gi1", wan_port="gi0",
                   spec={"name": "asa-h9", "hostname": "asa-h9", "username": "admin",
                         "interfaces": {"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
                         "options": {"nameif:GigabitEthernet0/0": "outside",
                                     "nameif:GigabitEthernet0/1": "inside",
                                     "address:GigabitEthernet0/0": "10.78.2.1/24",
                                     "address:GigabitEthernet0/1": "10.78.1.1/24"}},
                   probes={"noc-jump": ("in", "10.78.2.2", 22)}, listen="0.0.0.0", time_scale=None)
ASA_OUTSIDE = CLINIC.names["out4"]
ALL_OPEN = CLINIC.expect()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(CLINIC, INVENTORY, "h9net", "asa-h9", tmp_path_factory.mktemp("h9-clinic"), PORT) as rig:
        yield rig


def change(rig: Rig, policy: Policy, *, confirm: bool = True) -> list[str]:
    """The executor's lifecycle for one device on the firewall's namespace thread; returns the undo lines.

    Unconfirmed, the controller "dies": its watchdog is cancelled and the session closed, so nothing of the
    controller can revert the change any more.
    """
    def undo(drv: Any) -> list[str]:
        if not confirm:
            drv._watchdog.cancel()
        return list(drv._undo)

    return rig.change(policy, confirm=confirm, then=undo)  # type: ignore[no-any-return]


def test_isolate_clear_conn_stage_and_full_restore_with_packets(clinic: Rig) -> None:
    net, site = clinic.net, clinic.site
    assert net.reach() == ALL_OPEN
    before = clinic.snapshot()
    with clinic.held_session("the held connection works before the cut") as session:
        iso = compute_policy(site, "isolated")
        change(clinic, iso)
        assert 'oifname "gi0" jump' in net.nft_table()
        assert net.reach() == CLINIC.expect("web4", "web6", "other4")
        session.settimeout(2.0)
        assert echoes(session, b"kept\n"), "the ASA keeps an established connection across an ACL change"
        report = clinic.with_driver(lambda d: d.clear_sessions(iso, site.inside))
        assert report.handling is SessionHandling.KEPT and report.cleared >= 1, report
        assert not echoes(session, b"after clear conn\n"), "clear conn did not end the denied connection"
    change(clinic, compute_policy(site, "web"))
    assert net.reach() == CLINIC.expect("other4")
    change(clinic, compute_policy(site, "normal"))
    assert net.reach() == ALL_OPEN
    assert clinic.state().is_normal
    assert clinic.snapshot() == before, "the restore left something"


def test_management_rule_dropped_is_reverted_by_the_job_on_a_second_host(clinic: Rig) -> None:
    net, device, secret = clinic.net, clinic.device, clinic.secret
    iso, bad = bad_isolation(clinic.site)
    change(clinic, iso)
    assert net.reach()["noc-jump"]
    # a bad change: the isolated policy without its management rules, never confirmed (the controller dies)
    undo = change(clinic, bad, confirm=False)
    PendingMarker("cisco_asa", device.name).clear()  # the controller's own record dies with it here
    assert not net.probe("noc-jump"), "the bad change should cut the operators' path"
    assert net.probe("https4"), "the rest of the isolated policy is in force"
    with tempfile.TemporaryDirectory(prefix="h9-revert-") as tmp:  # the revert host's job directory
        d = Path(tmp)
        there = device.model_copy(update={"mgmt_address": ASA_OUTSIDE, "options": {"revert_port": PORT}})
        for name, content in revert.files(there, 2, secret, undo, "op=h9 owner=test"):
            (d / name).write_text(content)
            (d / name).chmod(0o700 if name in ("job.sh", "askpass") else 0o600)
        started = time.monotonic()
        done = net.run("up", ["sh", str(d / "job.sh")], timeout=120)
        took = time.monotonic() - started
        result = (d / "result").read_text().strip() if (d / "result").exists() else ""
        transcript = (d / "out").read_text(errors="replace") if (d / "out").exists() else ""
    assert done.returncode == 0 and result == "fired-ok", transcript[-2000:]
    assert secret.password and secret.password not in transcript
    print(f"revert job on h9-up: fired after 2 s, done in {took:.1f} s")
    assert net.probe("noc-jump"), "the revert job did not put the management path back"
    clinic.isolated_and_settled()
    change(clinic, compute_policy(clinic.site, "normal"))
    assert net.reach() == ALL_OPEN
