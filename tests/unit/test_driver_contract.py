"""Conformance suite every driver's tests subclass (NAPALM-style ``BaseTestGetters``).

A subclass sets ``driver_cls``, ``device_name`` (the lab device of its platform) and ``baseline`` (the
read-back text of that device before egressctl touched it), and implements :meth:`readback`: the text
the device would show once ``lines`` were applied to the baseline. The suite then checks the contract's
shape (signatures against :class:`egressctl.driver.Driver`), purity and determinism of ``render``,
round-trips through the driver's own parser, idempotence (a device already at the target renders no
lines), ownership of every name, and the golden files ``tests/golden/<platform>/<target>.txt``
(regenerate with ``EGRESSCTL_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from egressctl.driver import Capability, DeviceState, Driver, SafetyNet, missing_capabilities
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy, equivalent
from egressctl.registry import driver_class

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
TARGETS = ["isolated", "ministry", "allowlist"]
PROTOCOL_METHODS = ["render", "open", "close", "read_state", "snapshot", "load_candidate", "diff", "commit",
                    "confirm", "rollback", "discard", "has_pending_commit"]


def lab_site() -> Site:
    return load_inventory(ROOT / "inventory" / "lab.yaml").site("lab")


def check_golden(platform: str, name: str, lines: list[str]) -> None:
    path = GOLDEN / platform / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if os.environ.get("EGRESSCTL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden {path}; run with EGRESSCTL_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"render differs from {path} (EGRESSCTL_UPDATE_GOLDEN=1 to accept)"


class DriverContract:
    """Base class: not collected by itself (no ``Test`` prefix)."""

    driver_cls: ClassVar[type[Any]]
    device_name: ClassVar[str]
    baseline: ClassVar[str] = ""

    # -- what a subclass provides ------------------------------------------------------------------
    def readback(self, drv: Any, lines: list[str]) -> str:
        """Device text after applying ``lines`` to the baseline."""
        raise NotImplementedError

    def parse(self, drv: Any, raw: str) -> DeviceState:
        """The driver's own parser applied to ``raw`` (no session)."""
        raise NotImplementedError

    # -- fixtures ----------------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    def site(self) -> Site:
        return lab_site()

    @pytest.fixture(scope="class")
    def device(self, site: Site) -> Device:
        return site.device(self.device_name)

    @pytest.fixture
    def drv(self, device: Device) -> Any:
        return self.driver_cls(device, timeout=5.0)

    def normal_state(self, drv: Any) -> DeviceState:
        return self.parse(drv, self.baseline)

    def state_at(self, drv: Any, policy: Policy) -> DeviceState:
        """The read-back of the device after going from its baseline to ``policy``."""
        lines = drv.render(policy, self.normal_state(drv))
        return self.parse(drv, self.readback(drv, lines))

    # -- shape -------------------------------------------------------------------------------------
    def test_registered_under_its_platform(self, device: Device) -> None:
        assert driver_class(device.platform) is self.driver_cls
        assert self.driver_cls.platform == device.platform

    def test_class_attributes(self) -> None:
        cls = self.driver_cls
        assert isinstance(cls.netmiko_device_type, str) and cls.netmiko_device_type
        assert isinstance(cls.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in cls.capabilities)
        assert isinstance(cls.safety_net, SafetyNet)

    def test_method_signatures_match_the_protocol(self) -> None:
        errors = []
        for name in PROTOCOL_METHODS:
            want = inspect.signature(getattr(Driver, name))
            got = inspect.signature(getattr(self.driver_cls, name))
            want_params = [(p.name, p.kind, p.default) for p in want.parameters.values()]
            got_params = [(p.name, p.kind, p.default) for p in got.parameters.values()]
            if want_params != got_params or str(want.return_annotation) != str(got.return_annotation):
                errors.append(f"{name}: expected {want}, got {got}")
        assert not errors, "Some methods vary from egressctl.driver.Driver:\n" + "\n".join(errors)

    def test_constructor_and_protocol(self, device: Device) -> None:
        drv = self.driver_cls(device, timeout=1.5)
        assert drv.device is device
        assert isinstance(drv, Driver)

    def test_close_without_open_never_raises(self, drv: Any) -> None:
        drv.close()
        drv.close()

    # -- render ------------------------------------------------------------------------------------
    @pytest.mark.parametrize("target", TARGETS)
    def test_every_target_is_expressible(self, drv: Any, site: Site, target: str) -> None:
        assert missing_capabilities(drv.capabilities, compute_policy(site, target)) == []

    @pytest.mark.parametrize("target", TARGETS)
    def test_render_is_pure_and_deterministic(self, drv: Any, site: Site, target: str) -> None:
        policy = compute_policy(site, target)
        first = drv.render(policy, self.normal_state(drv))
        assert first and first == drv.render(policy, self.normal_state(drv))
        assert drv._conn is None  # no session was needed

    @pytest.mark.parametrize("target", TARGETS)
    def test_round_trip_through_the_parser(self, drv: Any, site: Site, target: str) -> None:
        policy = compute_policy(site, target)
        state = self.state_at(drv, policy)
        assert state.target == target
        assert state.fingerprint == policy.fingerprint()
        assert equivalent(state.rules, policy.rules)
        assert state.rules[0].kind == "management", "management rules must come first"

    @pytest.mark.parametrize("target", TARGETS)
    def test_idempotent_at_target(self, drv: Any, site: Site, target: str) -> None:
        policy = compute_policy(site, target)
        assert drv.render(policy, self.state_at(drv, policy)) == []

    def test_normal_from_normal_sends_nothing(self, drv: Any, site: Site) -> None:
        assert self.normal_state(drv).is_normal
        assert drv.render(compute_policy(site, "normal"), self.normal_state(drv)) == []

    @pytest.mark.parametrize("target", TARGETS)
    def test_normal_removes_everything_owned(self, drv: Any, site: Site, target: str) -> None:
        state = self.state_at(drv, compute_policy(site, target))
        lines = drv.render(compute_policy(site, "normal"), state)
        assert lines
        after = self.parse(drv, self.readback_from(drv, state, lines))
        assert after.is_normal

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        """Device text after applying ``lines`` to a device whose read-back is ``state.raw``."""
        raise NotImplementedError

    def test_change_between_stages_is_not_empty(self, drv: Any, site: Site) -> None:
        state = self.state_at(drv, compute_policy(site, "isolated"))
        lines = drv.render(compute_policy(site, "ministry"), state)
        assert lines
        after = self.parse(drv, self.readback_from(drv, state, lines))
        assert after.target == "ministry"
        assert equivalent(after.rules, compute_policy(site, "ministry").rules)

    # -- golden ------------------------------------------------------------------------------------
    @pytest.mark.parametrize("target", TARGETS)
    def test_golden(self, drv: Any, site: Site, target: str) -> None:
        check_golden(drv.platform, target, drv.render(compute_policy(site, target), self.normal_state(drv)))

    def test_golden_normal_from_allowlist(self, drv: Any, site: Site) -> None:
        state = self.state_at(drv, compute_policy(site, "allowlist"))
        check_golden(drv.platform, "normal", drv.render(compute_policy(site, "normal"), state))


class ModelContract(DriverContract):
    """The contract for a platform whose read-back a pure text model of its configuration computes.

    ``model(raw)`` parses a read-back; ``.apply(lines)`` applies configuration lines to it; ``.text()`` is the
    read-back the device would then show. Not collected by itself (no ``Test`` prefix).
    """

    model: ClassVar[Callable[[str], Any]]

    def readback(self, drv: Any, lines: list[str]) -> str:
        return self.readback_text(self.baseline, lines)

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        return self.readback_text(state.raw, lines)

    def readback_text(self, raw: str, lines: list[str]) -> str:
        return str(type(self).model(raw).apply(lines).text())
