"""Headless pilot and snapshot tests of every TUI screen (recorded backend; see static_backend.py)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from egressctl.tui.app import EgressApp, make_app
from egressctl.tui.format import age, countdown
from egressctl.tui.grid import Grid
from egressctl.tui.screens.operation import OperationScreen
from egressctl.tui.screens.site import SiteScreen
from egressctl.tui.screens.watch import WatchScreen, watch_summary
from tests.egressctl.tui.static_backend import StaticBackend


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_sites_screen_lists_and_filters() -> None:
    app = make_app(StaticBackend())
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        table = app.screen.query_one("#sites", DataTable)
        assert table.row_count == 2
        await pilot.press("slash", *"nord")
        assert table.row_count == 1


async def test_estate_lists_every_site_and_filters_by_state_and_verdict() -> None:
    app = make_app(StaticBackend(estate=10))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        table = app.screen.query_one("#sites", DataTable)
        assert table.row_count == 10
        hint = str(app.screen.query_one("#sites-hint").render())
        assert hint.startswith("10 site(s): 5 normal, 2 isolated") and "3 never verified" in hint, hint
        for needle, expected in (("isolated", 2), ("leak", 1), ("never", 3), ("ops1", 1)):
            app.screen.query_one("#site-filter", Input).value = needle
            await pilot.pause()
            assert table.row_count == expected, (needle, table.row_count)


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
async def test_isolate_requires_exact_site_name() -> None:
    backend = StaticBackend()
    app = make_app(backend, site="lab")
    async with app.run_test(size=(100, 40)) as pilot:
        await _settle(pilot)
        assert isinstance(app.screen, SiteScreen)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press(*"lbb", "enter")  # typo: nothing may start
        await _settle(pilot)
        assert backend.applied == []
        await pilot.press("escape")  # cancel
        await _settle(pilot)
        assert backend.applied == [] and isinstance(app.screen, SiteScreen)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await _settle(pilot)
        assert backend.applied == ["isolated"]
        assert isinstance(app.screen, OperationScreen)
        assert "ok" in str(app.screen.query_one("#op-title").render())
        grid = app.screen.query_one("#op-devices", Grid)
        sessions = {grid.row_text(i)[0]: grid.row_text(i)[-2] for i in range(grid.row_count)}
        assert sessions == {"fw-a": "2/2 cleared", "ce-a": "stateless", "core-b": "FAILED",
                            "fw-b": "2/3 cleared", "ce-b": "SURVIVE"}, sessions
        warnings = str(app.screen.query_one("#op-warnings").render())
        assert "core-b: sessions could not be ended" in warnings, warnings
        assert "held sessions: 2/2 as expected" in str(app.screen.query_one("#op-verdict").render())


async def test_confirm_shows_plan_warnings_before_the_name_prompt() -> None:
    app = make_app(StaticBackend(), site="lab")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        warnings = str(app.screen.query_one("#confirm-warnings").render())
        assert "ce-b: established sessions survive this cut" in warnings, warnings
        assert "fw-a: the dead-man switch lives in the controller" in warnings, warnings
        body = str(app.screen.query_one("#dialog-body Static").render())
        assert "SESSIONS SURVIVE" in body and "ends sessions" in body and "stateless" in body, body


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
async def test_operation_screen_reopens_over_the_same_progress() -> None:
    app = make_app(StaticBackend(), site="lab")
    async with app.run_test(size=(100, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await _settle(pilot)
        first = app.screen
        await pilot.press("escape")
        await _settle(pilot)
        assert isinstance(app.screen, SiteScreen)
        await pilot.press("o")
        await _settle(pilot)
        assert isinstance(app.screen, OperationScreen) and app.screen is not first
        grid = app.screen.query_one("#op-devices", Grid)
        assert grid.row_count == 5 and grid.row_text(0)[-1] == "done"
        assert "held session" not in str(app.screen.query_one("#op-log").lines[-1].text)


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
async def test_full_restore_asks_twice() -> None:
    backend = StaticBackend(target="allowlist")
    app = make_app(backend, site="lab")
    async with app.run_test(size=(100, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("f")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await _settle(pilot)
        assert backend.applied == []  # second question pending
        await pilot.press("escape")  # "No"
        await _settle(pilot)
        assert backend.applied == []
        await pilot.press("f")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await _settle(pilot)
        await pilot.press("y")
        await _settle(pilot)
        assert backend.applied == ["normal"]


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
async def test_restore_next_stage_from_isolated() -> None:
    backend = StaticBackend(target="isolated")
    app = make_app(backend, site="lab")
    async with app.run_test(size=(100, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("n")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await _settle(pilot)
        assert backend.applied == ["ministry"]


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
async def test_quit_during_operation_asks_first() -> None:
    backend = StaticBackend(step_delay=0.05)
    app = make_app(backend, site="lab")
    async with app.run_test(size=(100, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await pilot.pause()
        assert app.running_site == "lab"
        await pilot.press("q")
        await pilot.pause()
        assert "dead-man" in str(app.screen.query_one("#dialog-title").render())
        await pilot.press("escape")
        await _settle(pilot)
        assert app.is_running


async def test_watch_liveness_is_never_a_verdict_while_running() -> None:
    app = make_app(StaticBackend(), site="lab")
    async with app.run_test(size=(100, 32)) as pilot:
        await _settle(pilot)
        await pilot.press("w")
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        live = {"backup": {"status": "unverified", "site_packets": 0, "allowed_packets": 0, "reason": "r"}}
        screen.show({"packets": 5, "liveness": live}, running=True)
        await pilot.pause()
        text = str(screen.query_one("#watch-liveness").render())
        assert "not proven live yet" in text and "UNVERIFIED" not in text, text
        screen.show({"packets": 5, "liveness": live}, running=False)
        await pilot.pause()
        assert "backup: UNVERIFIED: r" in str(screen.query_one("#watch-liveness").render())


def test_format_helpers() -> None:
    assert age(100.0, now=160.0) == "1m"
    assert age(None) == "-"
    assert countdown(None) == "-"
    assert countdown(110.0, now=100.0) == "reverts in 10s"
    assert "NOT CLEAN" in watch_summary({"packets": 10, "drops": 3}, running=True)
    assert "no leak" in watch_summary({"packets": 10}, running=False)
    assert "no traffic" in watch_summary({}, running=True)
    unproven = {"packets": 10, "liveness": {"backup": {"status": "unverified"}}}
    assert "not proven live" in watch_summary(unproven, running=False)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_snapshot_sites(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(StaticBackend()), terminal_size=size, run_before=_wait)


@pytest.mark.parametrize("size", [(80, 24), (120, 30)])
def test_snapshot_estate_of_ten_sites(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(StaticBackend(estate=10)), terminal_size=size, run_before=_wait)


def test_snapshot_site(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        make_app(StaticBackend(target="isolated"), site="lab"), terminal_size=(100, 32), run_before=_wait
    )


@pytest.mark.parametrize("size", [(100, 32), (80, 24)])
def test_snapshot_confirm_modal(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)

    assert snap_compare(make_app(StaticBackend(), site="lab"), terminal_size=size, run_before=before)


def test_snapshot_operation(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await _settle(pilot)

    assert snap_compare(make_app(StaticBackend(), site="lab"), terminal_size=(100, 32), run_before=before)


def test_snapshot_watch_and_history(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("w")
        await _settle(pilot)

    assert snap_compare(make_app(StaticBackend(), site="lab"), terminal_size=(100, 32), run_before=before)


def test_snapshot_history(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("h")
        await _settle(pilot)

    assert snap_compare(make_app(StaticBackend(), site="lab"), terminal_size=(100, 32), run_before=before)


async def _wait(pilot) -> None:  # type: ignore[no-untyped-def]
    await _settle(pilot)


def test_app_class() -> None:
    assert isinstance(make_app(StaticBackend()), EgressApp)


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
async def test_quit_during_operation_stops_it_first() -> None:
    class Interruptible(StaticBackend):
        def __init__(self) -> None:
            super().__init__(step_delay=0.05)
            self.interrupted = False

        def interrupt(self) -> bool:
            self.interrupted = True
            return True

    backend = Interruptible()
    app = make_app(backend, site="lab")
    exits: list[bool] = []
    async with app.run_test(size=(100, 40)) as pilot:
        original = app.exit
        app.exit = lambda *a, **k: (exits.append(True), original(*a, **k))  # type: ignore[method-assign]
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press(*"lab", "enter")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert backend.interrupted and app.exit_after_operation
        assert not exits  # it waits for the devices in flight...
        while app.running_site:
            await pilot.pause(0.05)
        await pilot.pause()
        assert exits  # ...then exits once the operation has ended
    assert backend.applied == ["isolated"]
