"""The CLI's result table says what each isolation did to established sessions, and lists the warnings."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from egressctl.cli.output import render_result


def _result(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"plan": None, "verification": None, "outcome": "ok", "message": "hq is isolated",
                            "exit_code": 0, "warnings": [], "devices": []}
    return {**base, **kw}


def _device(name: str, sessions: dict[str, Any] | None) -> dict[str, Any]:
    return {"device": name, "outcome": "changed", "before": "normal", "after": "isolated",
            "failed_step": None, "error": "", "sessions": sessions, "warnings": []}


def _render(res: dict[str, Any]) -> str:
    console = Console(file=io.StringIO(), width=160, markup=False, emoji=False)
    render_result(console, res)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_sessions_column_and_warnings() -> None:
    devices = [
        _device("fw", {"ok": True, "handling": "rechecked", "matched": 2, "cleared": 2, "detail": ""}),
        _device("acl", {"ok": True, "handling": "stateless", "matched": 0, "cleared": 0, "detail": ""}),
        _device("srx", {"ok": False, "error": "timed out"}),
        _device("edge", None),
    ]
    warning = "srx: sessions could not be ended (the cut stays): timed out"
    out = _render(_result(devices=devices, warnings=[warning], exit_code=5))
    rows = {ln.split()[1]: ln for ln in out.splitlines() if ln.startswith("│") and "changed" in ln}
    assert "2/2 cleared" in rows["fw"] and "stateless" in rows["acl"] and "FAILED" in rows["srx"], out
    assert " - " in rows["edge"], out
    assert f"needs attention: {warning}" in out.splitlines(), out


def test_no_warning_line_without_warnings() -> None:
    out = _render(_result(devices=[_device("fw", None)]))
    assert "needs attention" not in out and "sessions" in out
