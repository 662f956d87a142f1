"""The bounded log: appends without laying out the screen, keeps the last lines, wraps at its width."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.screen import Screen

from egressctl.tui.logview import BoundedLog


class LogApp(App[None]):
    CSS = "BoundedLog { height: 6; }"

    def compose(self) -> ComposeResult:
        yield BoundedLog(id="log", max_lines=5)


async def test_writes_never_lay_out_and_keep_the_last_lines() -> None:
    app = LogApp()
    layouts = 0
    original = Screen._refresh_layout

    def counting(screen: Screen[object], *args: object, **kw: object) -> None:
        nonlocal layouts
        layouts += 1
        original(screen, *args, **kw)  # type: ignore[arg-type]

    async with app.run_test(size=(30, 10)) as pilot:
        await pilot.pause()
        log = app.query_one(BoundedLog)
        Screen._refresh_layout = counting  # type: ignore[method-assign]
        try:
            for i in range(8):
                log.write_lines([(f"line {i}", "b red" if i % 2 else "")])
                await pilot.pause()
        finally:
            Screen._refresh_layout = original  # type: ignore[method-assign]
        assert layouts == 0
        assert [s.text.rstrip() for s in log.lines] == [f"line {i}" for i in range(3, 8)]
        assert log.scroll_y == log.max_scroll_y  # follows the end


async def test_long_lines_wrap_at_the_width_and_rewrap_on_resize() -> None:
    app = LogApp()
    async with app.run_test(size=(30, 10)) as pilot:
        await pilot.pause()
        log = app.query_one(BoundedLog)
        log.write_lines([("word " * 12, "")])
        await pilot.pause()
        width = log.scrollable_content_region.width
        assert len(log.lines) > 1 and all(s.cell_length <= width for s in log.lines)
        narrow = len(log.lines)
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert len(log.lines) < narrow
