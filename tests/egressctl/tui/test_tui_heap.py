"""Full garbage collections are held back while an operation runs, and the thresholds come back after."""

from __future__ import annotations

import gc

import pytest

from egressctl.tui.app import make_app
from egressctl.tui.heap import HELD_THRESHOLD, FullCollections
from egressctl.tui.screens.operation import OperationScreen
from tests.egressctl.tui.static_backend import StaticBackend


def test_hold_raises_only_the_full_threshold_and_release_puts_it_back() -> None:
    before = gc.get_threshold()
    held = FullCollections()
    held.hold()
    held.hold()  # a second hold keeps the first saved value
    try:
        assert gc.get_threshold() == (before[0], before[1], HELD_THRESHOLD) and held.held
    finally:
        held.release()
    held.release()
    assert gc.get_threshold() == before and not held.held


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
async def test_an_operation_holds_full_collections_until_its_result() -> None:
    before = gc.get_threshold()
    app = make_app(StaticBackend(), site="lab")
    seen: list[tuple[int, int, int]] = []
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause(0.2)
        original = app._apply

        def spy(*args: object) -> None:
            seen.append(gc.get_threshold())
            original(*args)  # type: ignore[arg-type]

        app._apply = spy  # type: ignore[method-assign]
        await pilot.press("i")
        await pilot.pause(0.3)
        await pilot.press(*"lab", "enter")
        for _ in range(100):
            if isinstance(app.screen, OperationScreen) and app.screen.finished:
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, OperationScreen) and app.screen.finished
        assert seen == [(before[0], before[1], HELD_THRESHOLD)]
        assert gc.get_threshold() == before
    assert gc.get_threshold() == before
