"""The driver lifecycle every platform's integration test runs against a real SSH device (DRV1).

A subclass provides the fixtures ``device`` (an inventory ``Device`` reachable now), ``secret`` (or, through
:class:`EmulatedLifecycleSuite`, one module fixture ``emulated`` that serves both) and the
attribute ``revert_wait`` (seconds after which a ``commit(revert_in=REVERT_IN)`` left unconfirmed has
certainly reverted on that device), plus ``rejected_line(drv)``: a call that makes the device refuse a line.
Tests run in file order and share the device, so each starts by reading the device's state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from egressctl_lab import hostkeys

from egressctl.driver import DeviceState
from egressctl.errors import AuthError, CommandRejected, ConfirmError, HostKeyMismatch
from egressctl.inventory.credentials import Secret
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy, equivalent
from egressctl.registry import driver_class
from tests.integration.d1_emulated import Emulated

REVERT_IN = 60


def lab_site() -> Site:
    from pathlib import Path

    return load_inventory(Path(__file__).resolve().parents[2] / "inventory" / "lab.yaml").site("lab")


def make(device: Device, timeout: float = 20.0) -> Any:
    """A driver instance for ``device`` (constructor per the agreed interface, not the Protocol)."""
    cls: Any = driver_class(device.platform)
    return cls(device, timeout=timeout)


def at(state: DeviceState, policy: Policy) -> bool:
    return state.target == policy.target and state.fingerprint == policy.fingerprint() and equivalent(
        state.rules, policy.rules) if not policy.is_normal else state.is_normal


class LifecycleSuite:
    """Not collected by itself; subclasses are ``Test...`` classes."""

    revert_wait: ClassVar[float]

    def rejected_line(self, drv: Any) -> None:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def site(self) -> Site:
        return lab_site()

    @pytest.fixture
    def drv(self, device: Device, secret: Secret) -> Iterator[Any]:
        d = make(device)
        d.open(secret)
        try:
            yield d
        finally:
            d.close()

    def apply(self, d: Any, policy: Policy, revert_in: int = REVERT_IN) -> DeviceState:
        state: DeviceState = d.read_state()
        d.load_candidate(policy, state)
        d.commit(revert_in)
        return state

    # ---------------------------------------------------------------------------------------------
    def test_01_full_lifecycle_isolate(self, drv: Any, device: Device, secret: Secret, site: Site) -> None:
        policy = compute_policy(site, "isolated")
        before = drv.read_state()
        assert not before.pending_commit
        drv.load_candidate(policy, before)
        assert drv.diff().strip()
        drv.commit(REVERT_IN)
        assert drv.has_pending_commit()
        after = drv.read_state()
        assert at(after, policy) and after.pending_commit
        # a fresh management session reaches the device and sees the same state
        fresh = make(device)
        fresh.open(secret)
        try:
            assert at(fresh.read_state(), policy)
        finally:
            fresh.close()
        drv.confirm()
        assert not drv.has_pending_commit()
        assert at(drv.read_state(), policy)

    def test_02_second_apply_sends_nothing(self, drv: Any, site: Site) -> None:
        policy = compute_policy(site, "isolated")
        state = drv.read_state()
        assert at(state, policy)
        assert drv.render(policy, state) == []
        drv.load_candidate(policy, state)
        assert drv.diff().strip() == ""
        drv.commit(REVERT_IN)
        assert not drv.has_pending_commit()

    def test_03_unconfirmed_commit_reverts(self, drv: Any, site: Site) -> None:
        iso, ministry = compute_policy(site, "isolated"), compute_policy(site, "ministry")
        self.apply(drv, ministry, revert_in=3)
        assert at(drv.read_state(), ministry)
        deadline = time.monotonic() + self.revert_wait + 30
        while drv.has_pending_commit() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(0.5)
        assert at(drv.read_state(), iso), "the dead-man switch did not restore the previous state"
        with pytest.raises(ConfirmError):
            drv.confirm()

    def test_04_rollback_now(self, drv: Any, site: Site) -> None:
        iso, allow = compute_policy(site, "isolated"), compute_policy(site, "allowlist")
        self.apply(drv, allow)
        assert at(drv.read_state(), allow)
        drv.rollback()
        assert not drv.has_pending_commit()
        assert at(drv.read_state(), iso)

    def test_05_stage_then_normal(self, drv: Any, site: Site) -> None:
        for target in ("allowlist", "normal"):
            policy = compute_policy(site, target)
            self.apply(drv, policy)
            drv.confirm()
            assert at(drv.read_state(), policy)
        assert drv.read_state().is_normal

    def test_06_rejected_line_carries_device_text(self, drv: Any, device: Device) -> None:
        with pytest.raises(CommandRejected) as ei:
            self.rejected_line(drv)
        assert ei.value.device == device.name
        assert ei.value.device_output and ei.value.device_output.strip()

    def test_07_wrong_host_key(self, device: Device, secret: Secret) -> None:
        bad = device.model_copy(update={"host_key": hostkeys.public_line("d1-not-this-device")})
        d = make(bad, 10.0)
        with pytest.raises(HostKeyMismatch) as ei:
            d.open(secret)
        assert ei.value.device == device.name

    def test_08_wrong_password(self, device: Device) -> None:
        d = make(device, 10.0)
        with pytest.raises(AuthError) as ei:
            d.open(Secret(password="d1-definitely-wrong"))
        assert ei.value.device == device.name


class EmulatedLifecycleSuite(LifecycleSuite):
    """The suite against an emulated device: ``device`` and ``secret`` come from the module's ``emulated``."""

    @pytest.fixture(scope="class")
    def device(self, emulated: Emulated) -> Device:
        return emulated.device

    @pytest.fixture(scope="class")
    def secret(self, emulated: Emulated) -> Secret:
        return emulated.secret
