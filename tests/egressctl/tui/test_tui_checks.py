"""The site screen's ``c``: the same checks as ``egressctl check``, failures first, with each safety net."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from egressctl.tui.app import make_app
from egressctl.tui.screens.checks import ChecksScreen, check_rows, effect_lines
from egressctl.tui.screens.site import SiteScreen
from tests.egressctl.tui.static_backend import StaticBackend


def one(name: str, status: str, detail: str) -> dict[str, str]:
    return {"name": name, "status": status, "detail": detail, "safety_net_effect": ""}


DOC: dict[str, Any] = {
    "site": "lab", "status": "fail", "summary": "lab: 1 failed, 1 warnings, 3 passed", "elapsed_s": 2.1,
    "subjects": [
        {"kind": "site", "name": "lab", "info": {}, "checks": [one("inventory", "ok", "valid")]},
        {"kind": "device", "name": "ce-a", "info": {"safety_net_effect": "the router restores the archive"},
         "checks": [one("reachable", "ok", "logged in"), one("archive", "warn", "no archive path")]},
        {"kind": "device", "name": "ce-b", "info": {"safety_net_effect": "Junos rolls back"},
         "checks": [one("candidate", "fail", "someone else's [bold]changes[/bold]")]},
    ],
}


class CheckingBackend(StaticBackend):
    def __init__(self) -> None:
        super().__init__(target="normal")
        self.checked: list[str] = []

    def check(self, name: str) -> dict[str, Any]:
        self.checked.append(name)
        return DOC


def test_rows_put_failures_first_and_name_each_safety_net() -> None:
    rows = check_rows(DOC)
    assert [r[:3] for r in rows] == [("fail", "ce-b", "candidate"), ("warn", "ce-a", "archive"),
                                     ("ok", "lab", "inventory"), ("ok", "ce-a", "reachable")]
    assert effect_lines(DOC) == ["ce-a: the router restores the archive", "ce-b: Junos rolls back"]


async def test_c_on_the_site_screen_runs_the_check() -> None:
    backend = CheckingBackend()
    app = make_app(backend, site="lab")
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, SiteScreen)
        await pilot.press("c")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ChecksScreen) and backend.checked == ["lab"]
        table = app.screen.query_one("#checks", DataTable)
        assert table.row_count == 4
        first = [str(c) for c in table.get_row_at(0)]
        assert first[1:3] == ["ce-b", "candidate"] and "[bold]changes[/bold]" in first[3]  # text, not markup
        assert "1 failed" in str(app.screen.query_one("#check-summary", Static).render())
        await pilot.press("r")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert backend.checked == ["lab", "lab"]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SiteScreen)
