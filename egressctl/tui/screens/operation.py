"""Live progress of one operation: a row per device, a column per step, sessions ended, errors in place.

The operation runs in a thread worker owned by the app, which folds its events into an
:class:`~egressctl.tui.progress.OperationProgress` off the UI thread; this screen only shows that model.
It applies what changed at most every :data:`~egressctl.tui.coalesce.INTERVAL` seconds, in one batch
(cells that changed are updated in place in a :class:`~egressctl.tui.grid.Grid`, which redraws only their
rows; log lines go in one write), so a burst of events from five devices costs one small frame instead of
a full table render per event. Leaving the screen never stops the operation, and ``o`` brings a fresh
screen over the same model back.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from egressctl.tui.coalesce import Pacer
from egressctl.tui.format import content
from egressctl.tui.grid import Column, Grid
from egressctl.tui.logview import BoundedLog
from egressctl.tui.progress import COLUMNS, STEP_COLUMNS, Delta, OperationProgress

__all__ = ["STEP_COLUMNS", "OperationScreen"]

# Short headers and fixed widths: the table fits 80 columns and a cell update never re-measures a column.
_COLUMN_LABELS = {"snapshot": "snap", "readback": "read", "mgmt-check": "mgmt", "connect": "conn",
                  "confirm": "conf"}
_COLUMN_WIDTHS = {"sessions": 13, "result": 11}


def grid_columns(devices: list[str]) -> list[Column]:
    """Device, one column per step, sessions, result: fixed widths (the widest device name)."""
    width = max([6, *(len(d) for d in devices)])
    steps = [(c, _COLUMN_LABELS.get(c, c), _COLUMN_WIDTHS.get(c, max(4, len(_COLUMN_LABELS.get(c, c)))))
             for c in COLUMNS]
    return [("device", "Device", width), *steps]


def set_text(box: Static, value: Content) -> None:
    """Show ``value`` in a height-auto box; lay the screen out again only when the box's height changes.

    ``Static.update`` lays out the whole screen by default (every widget measured and repainted: 20-80 ms
    of UI thread in the lab), which the title and the verdict line only need when they wrap onto more or
    fewer lines than before.
    """
    box.update(value, layout=False)
    region = box.content_region
    lines = box.get_content_height(box.container_size, box.app.size, region.width)
    floor = box.styles.min_height  # a box with a minimum height (the verdict) never shrinks below it
    if floor is not None and floor.is_cells:
        lines = max(lines, int(floor.value))
    if lines != region.height:
        box.refresh(layout=True)


class OperationScreen(Screen[None]):
    """Progress of the running (or last) operation on a site."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("w", "watch", "Watch the cut")]

    def __init__(self, progress: OperationProgress) -> None:
        super().__init__()
        self.progress = progress
        self.site = progress.site
        self.target = progress.target
        self._pacer = Pacer()
        self._timer: Timer | None = None

    @property
    def finished(self) -> bool:
        """True once the operation's result is in (and shown)."""
        return self.progress.finished and self._timer is None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="op-title")
        yield Grid(grid_columns(self.progress.devices), id="op-devices")
        yield Static("", id="op-warnings")
        yield BoundedLog(id="op-log", max_lines=500)
        yield Static("", id="op-verdict")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"egressctl - {self.site}"
        self._apply(self.progress.snapshot())

    # ----- coalesced updates --------------------------------------------------------------------------
    def progressed(self) -> None:
        """The model changed (called by the app on the UI thread): apply now, or in the next slot."""
        if self._timer is not None:
            return  # already scheduled: the changes will be taken then
        delay = self._pacer.delay()
        if delay <= 0:
            self.apply_now()
        else:
            self._timer = self.set_timer(delay, self.apply_now)

    def apply_now(self) -> None:
        """Take every change since the last look and show it in one batch."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._pacer.applied()
        self._apply(self.progress.take())

    def _apply(self, delta: Delta) -> None:
        if not delta:
            return
        with self.app.batch_update():
            grid = self.query_one("#op-devices", Grid)
            for device, row in delta.rows:
                grid.add_row(device, [(device, ""), *(row[c] for c in COLUMNS)])
            for (device, column), value in delta.cells.items():
                grid.update_cell(device, column, value)
            if delta.log:
                self.query_one("#op-log", BoundedLog).write_lines(delta.log)
            if delta.title is not None:
                set_text(self.query_one("#op-title", Static), content(*delta.title))
            if delta.verdict is not None:
                set_text(self.query_one("#op-verdict", Static), content(*delta.verdict))
            if delta.warnings is not None:
                self._show_warnings(delta.warnings)

    def _show_warnings(self, warnings: list[str]) -> None:
        box = self.query_one("#op-warnings", Static)
        box.display = bool(warnings)
        box.update(content(("Needs attention:", "b yellow"), *(f"\n  {w}" for w in warnings)))

    # ----- actions ------------------------------------------------------------------------------------
    def action_watch(self) -> None:
        """Watch the upstream links while the devices change (judged against this operation's target)."""
        self.app.open_watch(self.site)  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()

