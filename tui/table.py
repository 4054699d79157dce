"""Keeping a DataTable's frames cheap: cell updates that repaint only their rows.

Textual 8.2.8 (pinned) repaints a whole DataTable for any `update_cell`. The short lists (workers, faults,
queues, schedules) stay DataTables, updated through `set_rows` and `update_cells`; the workflow list, a
window that shifts under a burst, is a line-API table (`tui.linetable`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


def set_rows(
    table: DataTable[Any],
    rows: Sequence[tuple[Hashable, Sequence[Any]]],
    column_keys: Sequence[str],
    keep: Hashable | None = None,
) -> None:
    """Show `rows` (key, cells): cells change in place when the keys are the same, else the table is
    rebuilt (cheap: it only ever holds one window). The cursor stays on `keep` when it is still there."""
    keys = [str(k) for k, _ in rows]
    current = [rk.value for rk in table.rows]
    if keys == current:
        update_cells(table, ((key, c, v) for key, cells in rows for c, v in zip(column_keys, cells, strict=True)))
        return
    row = table.cursor_row
    release_render_caches(table)
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=str(key))
    if keep is not None and str(keep) in keys:
        row = keys.index(str(keep))
    if table.row_count:
        table.move_cursor(row=min(max(row, 0), table.row_count - 1), animate=False)


def update_cells(table: DataTable[Any], changes: Iterable[tuple[Hashable, str, Any]]) -> int:
    """Put (row key, column key, value) into the table, repainting only the rows whose cells changed; the
    number of rows repainted. Unknown rows or columns are skipped (a tick may race a rebuild).

    Why not `DataTable.update_cell`: in Textual 8.2.8 (pinned) each call repaints the whole table, and a
    table re-renders every visible cell (~0.2-0.5 ms each here): one status changing on a 40-row page held
    the next frame back 60-200 ms. The render caches are keyed by `_update_count`, so one bump per batch
    keeps them right: a row not repainted now is rendered afresh whenever it is next painted.
    """
    data = table._data
    dirty: set[RowKey] = set()
    for row, column, value in changes:
        cells = data.get(RowKey(str(row)))
        column_key = ColumnKey(column)
        if cells is None or column_key not in cells or same(cells[column_key], value):
            continue
        cells[column_key] = value
        dirty.add(RowKey(str(row)))
    if dirty:
        table._update_count += 1
        for row_key in dirty:
            table.refresh_row(table.get_row_index(row_key))
    return len(dirty)


def same(a: object, b: object) -> bool:
    """Whether two cell values look the same (rich's `Text ==` ignores the style: a red mark would stay)."""
    if isinstance(a, Text) and isinstance(b, Text):
        return (a.plain, a.spans, a.style, a.justify, a.overflow) == (b.plain, b.spans, b.style, b.justify, b.overflow)
    return type(a) is type(b) and a == b


def release_render_caches(table: DataTable[Any]) -> None:
    """Empty the table's render caches so that reference counting frees them at once.

    Textual's `LRUCache.clear()` (which `DataTable.clear()` calls) drops its index but leaves its ring of
    links, each holding rendered segments, as cyclic garbage that only a full collection frees. A table
    rebuilt 10+ times a second (a burst) made gen-2 collections of 40-60k objects that stalled the UI
    loop for 100-400 ms. Unlinking the ring first (Textual is pinned: `_cache` is its link index) avoids it.
    """
    for cache in vars(table).values():
        if isinstance(cache, LRUCache):
            for link in cache._cache.values():
                link.clear()
            cache.clear()
