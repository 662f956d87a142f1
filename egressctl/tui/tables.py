"""Keeping a DataTable in step with fresh rows without rebuilding it.

``clear()`` then ``add_row()`` for every row re-measures every column, re-renders every cell and throws the
operator's cursor back to the top; on a watch refreshed every second, or an estate of sites refreshed on
demand, that is work on the UI thread for rows that did not change. :func:`sync_rows` updates the cells
that changed in place, appends new rows, and rebuilds only when rows vanished or moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widgets import DataTable

Row = tuple[str, Sequence[Any]]


def sync_rows(table: DataTable[Any], rows: Sequence[Row]) -> None:
    """Make ``table`` show ``rows`` (``(key, cells)``, in order), touching only what changed."""
    keys = [key for key, _ in rows]
    current = [str(rk.value) for rk in table.rows]
    if current != keys[: len(current)]:
        cursor = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        return
    columns = list(table.columns)
    for key, cells in rows[: len(current)]:
        for column, value in zip(columns, cells, strict=False):
            if table.get_cell(key, column) != value:
                table.update_cell(key, column, value)
    for key, cells in rows[len(current):]:
        table.add_row(*cells, key=key)
