"""fortinet and paloalto_panos drivers on the real lab: real SSH, real nftables, real packets (DRV2).

The lab (namespaces named ``d2-*``) runs EMU2's emulators inside their device namespaces, enforcing their
configuration with nft. Each driver takes its firewall to ``isolated`` and back to ``normal`` directly (no
engine), and a bounded TCP connect from the inside host whose traffic crosses that firewall proves what the
rendered policy really does: the web canary is cut, the always-allowed DNS forwarder is not.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_for_timer

from egressctl.inventory.credentials import resolve
from egressctl.inventory.loader import load_inventory
from egressctl.policy import compute_policy
from egressctl.registry import driver_class
from tests.support.labkit import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
WEB, DNS_TCP, MAIL = ("192.0.2.80", 80), ("203.0.113.53", 53), ("203.0.113.25", 25)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_lab(tmp_path_factory, "d2-", 23530) as instance:
        yield instance


def reachable(lab: Any, node: str, target: tuple[str, int]) -> bool:
    """One bounded TCP connect from inside ``node``'s namespace."""
    from egressctl_lab import node_exec_prefix

    code = ("import socket,sys\ns=socket.socket();s.settimeout(1.5)\n"
            f"sys.exit(0 if s.connect_ex(({target[0]!r},{target[1]}))==0 else 1)")
    argv = [*node_exec_prefix(node, state_dir=lab.state), sys.executable, "-c", code]
    return subprocess.run(argv, capture_output=True, timeout=10, check=False).returncode == 0


def apply(lab: Any, device: str, target: str) -> None:
    site = load_inventory(lab.inventory_path).site("lab")
    dev = site.device(device)
    drv = driver_class(dev.platform)(dev, timeout=30.0)
    drv.open(resolve(dev.credential))
    try:
        policy = compute_policy(site, target)
        state = drv.read_state()
        drv.snapshot()
        drv.load_candidate(policy, state)
        drv.commit(120)
        after = drv.read_state()
        assert after.target == target or (target == "normal" and after.is_normal)
        drv.confirm()
        assert not drv.has_pending_commit()
    finally:
        drv.close()


@pytest.mark.parametrize(("device", "vantage"), [("fw-b", "srv1"), ("fw-a", "ws1")])
def test_isolate_then_normal_with_packets(lab: Any, device: str, vantage: str) -> None:
    assert reachable(lab, vantage, WEB), f"baseline: {vantage} reaches the web canary"
    apply(lab, device, "isolated")
    assert not reachable(lab, vantage, WEB), f"{device} isolated but {vantage} still reaches the web canary"
    assert not reachable(lab, vantage, MAIL)
    assert reachable(lab, vantage, DNS_TCP), "the always-allowed DNS forwarder must stay open"
    apply(lab, device, "ministry")
    assert reachable(lab, vantage, MAIL) and not reachable(lab, vantage, WEB)
    apply(lab, device, "normal")
    assert reachable(lab, vantage, WEB), f"{device} back to normal but {vantage} is still cut"


def test_fortios_unconfirmed_isolation_reverts_by_itself(lab: Any) -> None:
    """The dead-man switch on the wire: an unconfirmed cut on fw-b lifts itself after cfg-revert-timeout."""
    import time

    site = load_inventory(lab.inventory_path).site("lab")
    dev = site.device("fw-b")
    drv = driver_class(dev.platform)(dev, timeout=30.0)
    drv.open(resolve(dev.credential))
    try:
        drv.load_candidate(compute_policy(site, "isolated"), drv.read_state())
        drv.commit(20)  # 20 device seconds = 5 s at the lab's time scale
        armed = time.monotonic()
        assert not reachable(lab, "srv1", WEB)
        assert wait_for_timer(lambda: reachable(lab, "srv1", WEB), armed_at=armed,
                              due_after=20 * lab.time_scale), "the unconfirmed cut never reverted"
        assert drv.read_state().is_normal and not drv.has_pending_commit()
        drv.rollback()  # puts the save mode back
    finally:
        drv.close()
