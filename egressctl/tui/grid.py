"""A small table drawn line by line, for the operation screen's device x step progress.

Textual's DataTable invalidates the render cache of *every* cell when any one cell changes (one update
counter for the whole table) and renders each cell through a Rich console. During an isolation the
progress table changes several times a second, so every frame re-rendered all of it: about 9 ms of UI
thread per frame in the lab, far more once the two cores are busy with SSH and capture agents. This grid
keeps one ready-made :class:`~textual.strip.Strip` per row, rebuilt only when a cell of that row changes;
moving the cursor redraws two lines. Cells are plain ``(text, style)`` pairs (never markup), columns have
fixed widths, the header stays on top when the rows scroll.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Styled = tuple[str, str]
Column = tuple[str, str, int]
"""A column: key, header label, width in cells."""


@lru_cache(maxsize=64)
def _style(spec: str) -> Style:
    return Style.parse(spec) if spec else Style()


class Grid(ScrollView, can_focus=True):
    """Rows of ``(text, style)`` cells under fixed-width columns, with a row cursor."""

    DEFAULT_CSS = """
    Grid {
        background: $surface;
        color: $foreground;
        height: auto;
        & > .grid--header { text-style: bold; background: $panel; color: $foreground; }
        & > .grid--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .grid--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {"grid--header", "grid--cursor"}
    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
    ]

    cursor_row: reactive[int] = reactive(0)

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = list(columns)
        self._index = {key: i for i, (key, _, _) in enumerate(self.columns)}
        self._keys: list[str] = []
        self._cells: dict[str, list[Styled]] = {}
        self._strips: dict[tuple[int, bool], Strip] = {}
        self._width = sum(w + 2 for _, _, w in self.columns)

    # ----- data ---------------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        """Number of rows (the header not counted)."""
        return len(self._keys)

    def add_row(self, key: str, cells: Sequence[Styled]) -> None:
        """Append a row (one cell per column); the only change that resizes the grid."""
        self._keys.append(key)
        self._cells[key] = list(cells)
        self.virtual_size = Size(self._width, len(self._keys) + 1)
        self.refresh_line(len(self._keys))

    def update_cell(self, key: str, column: str, value: Styled) -> None:
        """Change one cell; only its row is drawn again."""
        row = self._cells[key]
        i = self._index[column]
        if row[i] != value:
            row[i] = value
            index = self._keys.index(key)
            self._forget(index)
            self.refresh_line(index + 1)

    def row_text(self, index: int) -> list[str]:
        """The plain text of row ``index`` (for tests and copy-out)."""
        return [text for text, _ in self._cells[self._keys[index]]]

    # ----- cursor ---------------------------------------------------------------------------------------
    def action_cursor_up(self) -> None:
        self.cursor_row = max(0, self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.cursor_row = min(max(0, self.row_count - 1), self.cursor_row + 1)

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._forget(old)
        self._forget(new)
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        height = self.scrollable_content_region.height
        if new < self.scroll_offset.y:
            self.scroll_to(y=new, animate=False)
        elif height > 1 and new + 2 - height > self.scroll_offset.y:
            self.scroll_to(y=new + 2 - height, animate=False)

    # ----- drawing ------------------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _forget(self, index: int) -> None:
        self._strips.pop((index, False), None)
        self._strips.pop((index, True), None)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            strip = self._header()
        elif 0 <= (index := y - 1 + scroll_y) < len(self._keys):
            strip = self._row(index)
        else:
            return Strip.blank(width, self.rich_style)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _header(self) -> Strip:
        if (strip := self._strips.get((-1, False))) is None:
            style = self.rich_style + self.get_component_rich_style("grid--header")
            cells = [(label, "") for _, label, _ in self.columns]
            strip = self._strips[(-1, False)] = self._draw(cells, style)
        return strip

    def _row(self, index: int) -> Strip:
        cursor = index == self.cursor_row
        if (strip := self._strips.get((index, cursor))) is None:
            base = self.rich_style
            if cursor:
                base += self.get_component_rich_style("grid--cursor")
            strip = self._strips[(index, cursor)] = self._draw(self._cells[self._keys[index]], base)
        return strip

    def _draw(self, cells: Sequence[Styled], base: Style) -> Strip:
        segments = [
            Segment(f" {text[:width]:<{width}} ", base + _style(style))
            for (text, style), (_, _, width) in zip(cells, self.columns, strict=False)
        ]
        return Strip(segments, self._width)
