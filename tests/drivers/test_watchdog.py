"""The controller-side watchdog shared by PAN-OS and the ASA (drivers/common/watchdog.py): real timers.

Its state lives in a private state directory (``EGRESSCTL_STATE_DIR`` = the test's tmp_path); no device.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from egressctl_drivers.common.marker import PendingMarker
from egressctl_drivers.common.watchdog import Watchdog


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PendingMarker:
    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(tmp_path))
    return PendingMarker("test_platform", "fw-a")


def _fired(dog: Watchdog) -> bool:
    for _ in range(40):  # bounded: 4 s at most for a 1 s timer
        if not dog.waiting:
            return True
        threading.Event().wait(0.1)
    return False


def test_fires_once_and_records_the_rollback(marker: PendingMarker) -> None:
    """Unconfirmed in time: the undo runs once; a late cancel says it was not waiting."""
    calls: list[int] = []
    marker.write(undo=["x"])
    dog = Watchdog(marker, lambda: calls.append(1))
    dog.arm(1)
    assert dog.waiting and dog.outcome is None
    assert _fired(dog) and calls == [1] and dog.outcome == "rolled back"
    assert not dog.cancel()


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_cancel_in_time_means_no_rollback(marker: PendingMarker) -> None:
    """A confirm in time cancels the timer: nothing runs, no outcome."""
    calls: list[int] = []
    marker.write(undo=["x"])
    dog = Watchdog(marker, lambda: calls.append(1))
    dog.arm(1)
    assert dog.cancel() and not dog.waiting
    threading.Event().wait(1.3)
    assert calls == [] and dog.outcome is None


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_settled_elsewhere_and_failed_rollback_are_recorded(marker: PendingMarker) -> None:
    """No marker: settled on another session (no undo); an undo that raises is recorded, redacted."""
    calls: list[int] = []
    dog = Watchdog(marker, lambda: calls.append(1))
    dog.arm(0)  # at least 1 s
    assert _fired(dog) and calls == [] and dog.outcome == "already settled on another session"

    def boom() -> None:
        raise RuntimeError("session lost")

    marker.write(undo=["x"])
    dog = Watchdog(marker, boom)
    dog.arm(1)
    assert _fired(dog) and dog.outcome == "rollback failed: session lost"
