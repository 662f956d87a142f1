"""The lifecycle's ``ensure_saved`` hook over the engine double and a real journal (issue 14 kind B).

A device whose platform boots from a saved configuration (IOS, Linux) is saved on every device an operation
leaves at its target: after the confirm, and on a re-run that finds it there. A failed save never undoes the
confirmed change: the device stays at the target, journaled there, and the operation needs attention.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from egressctl.driver import DeviceState
from egressctl.engine import Engine
from egressctl.errors import DeviceError
from egressctl.persistence import NOT_SAVED, ensure_saved
from tests.support.engine_double import PASSWORD, FakeDriver, FakeNet, write_inventory


class SavingDriver(FakeDriver):
    """A platform that boots from a saved copy: ``saved`` is what survives its reboot."""

    saved: ClassVar[dict[str, DeviceState]] = {}
    broken: ClassVar[set[str]] = set()  # devices whose save fails

    def ensure_saved(self) -> str:
        name, now = self.device.name, self.net.box(self.device.name).state
        assert not now.pending_commit, "never saved while a commit waits"
        if self.saved.get(name) == now:
            return ""
        if name in self.broken:
            raise DeviceError(name, "write memory failed", device_output="% NVRAM full")
        self.saved[name] = now
        return "saved for the next boot"


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, FakeNet]:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)
    SavingDriver.saved, SavingDriver.broken = {}, set()
    net = FakeNet(driver=SavingDriver)
    inv = write_inventory(tmp_path, devices=3)
    eng = Engine(inv, state_dir=tmp_path / "state", driver_factory=net.factory)
    return eng, net


def test_every_device_left_at_the_target_is_saved_once(engine: tuple[Engine, FakeNet]) -> None:
    eng, _ = engine
    res = eng.isolate("hq")
    assert (res.outcome, res.exit_code, res.warnings) == ("ok", 0, [])
    assert {k: s.target for k, s in SavingDriver.saved.items()} == dict.fromkeys(("dev1", "dev2", "dev3"),
                                                                                 "isolated")
    done = eng.status("hq").devices
    assert all("saved for the next boot" in d["detail"] for d in done.values()), done
    again = eng.isolate("hq")  # nothing differs: nothing saved, nothing said
    assert (again.outcome, again.exit_code) == ("noop", 0)
    assert not any("saved" in d["detail"] for d in eng.status("hq").devices.values())


def test_a_rerun_saves_a_device_confirmed_but_never_saved(engine: tuple[Engine, FakeNet]) -> None:
    eng, _ = engine
    SavingDriver.broken = {"dev2"}
    eng.isolate("hq")
    SavingDriver.broken = set()
    again = eng.isolate("hq")
    assert (again.outcome, again.exit_code, again.warnings) == ("noop", 0, [])
    assert SavingDriver.saved["dev2"].target == "isolated"
    assert "saved for the next boot" in eng.status("hq").devices["dev2"]["detail"]


def test_a_failed_save_keeps_the_cut_and_needs_attention(engine: tuple[Engine, FakeNet]) -> None:
    eng, net = engine
    SavingDriver.broken = {"dev2"}
    res = eng.isolate("hq")
    assert res.exit_code == 5 and res.state == "isolated"  # the cut stays: fail-closed
    assert {b.state.target for b in net.boxes.values()} == {"isolated"}
    assert not any(s == ("dev2", "rollback") for s in net.sent)
    assert res.warnings == ["dev2: " + NOT_SAVED.format(why="dev2: write memory failed: % NVRAM full")], \
        res.warnings
    assert "needs attention" in res.message and "not saved" in res.message
    status = eng.status("hq")
    assert status.device_states["dev2"] == "isolated" and "not saved" in status.devices["dev2"]["detail"]


def test_drivers_without_the_hook_are_not_asked() -> None:
    warnings: list[str] = []
    assert ensure_saved(object(), warnings) == "" and warnings == []
