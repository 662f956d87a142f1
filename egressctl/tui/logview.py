"""A bounded, append-only log whose writes never cost a layout of the whole screen.

Textual's ``RichLog.write`` assigns ``virtual_size``, a reactive declared with ``layout=True``: every write
(every batch of operation events) made the screen lay out and repaint *every* widget. Measured on the lab
during an isolate with the watch running, that was 33 full-screen frames per operation, 21 ms of UI
thread each and up to 84 ms (far more when the two cores are busy), while a frame that only redraws
what changed costs about 1 ms. Here the log's box is fixed by its CSS (its height never depends on its
content), so a write updates the scroll range and the scrollbar in place (``set_reactive``) and redraws
the log's own lines: one small frame, never a reflow. Lines are plain ``(text, style)`` pairs, wrapped
once at the widget's width (again only when its width changes), and at most ``max_lines`` are kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

Styled = tuple[str, str]


@lru_cache(maxsize=64)
def _style(spec: str) -> Style | None:
    return Style.parse(spec) if spec else None


class BoundedLog(ScrollView, can_focus=True):
    """Appends ``(text, style)`` lines, keeps the last ``max_lines``, follows the end unless scrolled up."""

    DEFAULT_CSS = """
    BoundedLog {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        overflow-x: hidden;
        &:focus { background-tint: $foreground 5%; }
    }
    """

    def __init__(self, *, max_lines: int = 500, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self._raw: deque[Styled] = deque(maxlen=max_lines)
        self._wrapped: deque[list[Strip]] = deque()
        self._wrap_width = 0
        self.lines: list[Strip] = []
        """Every visible (wrapped) line, oldest first (``Strip.text`` reads one back)."""

    def write_lines(self, items: Iterable[Styled]) -> None:
        """Append lines; redraw the log only (the scroll range changes in place, the layout does not)."""
        new = list(items)
        if not new:
            return
        follow = self.scroll_y >= self.max_scroll_y
        for item in new:
            if len(self._raw) == self.max_lines:
                self._raw.popleft()
                self._wrapped.popleft()
            self._raw.append(item)
            self._wrapped.append(self._wrap(item) if self._wrap_width else [])
        self._relines(follow)

    def on_resize(self, event: Resize) -> None:
        """Wrap every kept line again at the new width (the only time old lines are re-wrapped)."""
        width = self.scrollable_content_region.width
        if width != self._wrap_width and width > 0:
            self._wrap_width = width
            self._wrapped = deque(self._wrap(item) for item in self._raw)
            self._relines(follow=True)

    def _wrap(self, item: Styled) -> list[Strip]:
        text, style = item
        console = self.app.console
        base = _style(style)
        out = []
        for line in Text(text, end="").wrap(console, self._wrap_width):
            segments = list(Segment.apply_style(line.render(console), base))
            out.append(Strip(segments, line.cell_len))
        return out or [Strip.blank(0)]

    def _relines(self, follow: bool) -> None:
        self.lines = [strip for strips in self._wrapped for strip in strips]
        size = Size(self._wrap_width, len(self.lines))
        if size != self.virtual_size:
            self.set_reactive(Widget.virtual_size, size)  # no layout: the box's size is the CSS's
            self._scroll_update(size)
        if follow:
            self.scroll_to(y=self.max_scroll_y, animate=False)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        strip = self.lines[index].crop_extend(scroll_x, scroll_x + width, self.rich_style)
        return strip.apply_style(self.rich_style)
