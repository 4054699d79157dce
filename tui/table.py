"""Keeping a DataTable's frames cheap: cell updates that repaint only their rows, and rendering by look.

Textual 8.2.8 (pinned) repaints a whole DataTable for any `update_cell` and keys its render caches by
row and by an update counter, so a window whose rows shift (arrivals at the top) re-renders every cell
through rich's console. Measured here: 80-110 ms of CPU per frame for 40 rows × 8 columns, one frame
stalling the UI loop (key presses, paints) that long. `update_cells` repaints only changed rows and
`LookTable` renders a row or cell once per look, wherever it is.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.coordinate import Coordinate
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


def show_window(
    table: DataTable[Any], rows: Sequence[Sequence[Any]], column_keys: Sequence[str], cursor: int | None = None
) -> None:
    """Show `rows` keyed by their position ("0", "1", ...): a window whose rows shift (arrivals at the top)
    changes cells, never keys, so the table is never cleared and only the rows that differ are repainted.
    The cursor stays on its line unless `cursor` (a row index) is given."""
    held = table.row_count
    if len(rows) < held:
        if not rows:
            release_render_caches(table)
            table.clear()
        for index in range(held - 1, len(rows) - 1, -1):
            table.remove_row(str(index))
    kept = enumerate(rows[:held])
    update_cells(table, ((str(i), c, v) for i, cells in kept for c, v in zip(column_keys, cells, strict=True)))
    for index in range(held, len(rows)):
        table.add_row(*rows[index], key=str(index))
    if cursor is not None and table.row_count:
        table.move_cursor(row=min(max(cursor, 0), table.row_count - 1), animate=False)


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


def cell_look(value: object) -> Hashable | None:
    """What a str or rich Text cell looks like, as a hashable key (None: another kind, not cached)."""
    if isinstance(value, Text):
        return ("text", value.plain, tuple(value.spans), value.style, value.justify, value.overflow, value.no_wrap)
    if isinstance(value, str):
        return ("str", value)
    return None


class Moved:
    """Rendered lines given the coordinates of another cell: the style meta (row, column) that clicks and the
    hover read merges, so only `row` and `column` change. The few styles a table uses, by coordinates, are
    kept: moving a row costs dict look-ups, not rich style arithmetic."""

    def __init__(self, size: int = 2048):
        self.styles: LRUCache[tuple[Style | None, int, int | None], Style] = LRUCache(size)

    def __call__(self, line: list[Segment], row: int, column: int | None) -> list[Segment]:
        """`column` None: the filler after the last column keeps its own (and its out-of-bounds mark)."""
        out = []
        for text, style, control in line:
            if control:
                out.append(Segment(text, None, control))
                continue
            key = (style, row, column)
            new = self.styles.get(key)
            if new is None:
                meta = Style.from_meta({"row": row} if column is None else {"row": row, "column": column})
                new = self.styles[key] = style + meta if style else meta
            out.append(Segment(text, new))
        return out


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


class LookTable(DataTable[Any]):
    """A DataTable rendering each data row (and cell) once per look: see `_render_line_in_row`."""

    CACHE = 512

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        # Textual sizes its caches for a table of thousands of rows (10,000 cells); this one holds one window,
        # and every entry is kept alive for the cyclic collector to walk (a full collection stalls the loop).
        self._cell_render_cache = LRUCache(self.CACHE)
        self._row_render_cache = LRUCache(self.CACHE // 4)
        self._line_cache = LRUCache(self.CACHE // 2)
        self._looks: LRUCache[Hashable, tuple[int, Any]] = LRUCache(self.CACHE)
        """Rendered rows and cells by how they look (values, widths, styles), with the row they were rendered
        on: see `_render_line_in_row`."""
        self._moved = Moved()

    def _render_line_in_row(
        self, row_key: RowKey, line_no: int, base_style: Style, cursor_location: Coordinate, hover_location: Coordinate
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        """A line of a data row, rendered once per look, whatever row it is on.

        Why: DataTable caches a row by its key and `_update_count`, so when arrivals shift the window (every
        row's cells change) each row misses: three component styles resolved and each cell through rich's
        console, ~2.5 ms a row here, 80-110 ms of CPU a frame for 40 rows. A value shifted to another row
        looks the same there (same parity of the zebra stripes, same cursor state), so it is rendered once
        and only given its new coordinates (the style meta that clicks read). Header, labels and fixed
        columns take Textual's own path.
        """
        row = self._row_locations.get(row_key) if row_key in self._row_locations else None
        if row is None or self.fixed_columns or (self._labelled_row_exists and self.show_row_labels):
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        cells = self._data[row_key]
        looks = tuple(cell_look(cells.get(column.key)) for column in self.ordered_columns)
        if None in looks:
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        key = (
            "row",
            looks,
            line_no,
            base_style,
            row % 2,
            row < self.fixed_rows,
            (cursor_location.row == row, cursor_location.column),
            (hover_location.row == row, hover_location.column),
            self.cursor_type,
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
            self.size.width,
            tuple(column.get_render_width(self) for column in self.ordered_columns),
        )
        hit = self._looks.get(key)
        if hit is None:
            fixed, scrollable = super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
            self._looks[key] = (row, scrollable)
            return fixed, scrollable
        was, scrollable = hit
        if was != row:
            scrollable = [self._moved(line, row, column) for column, line in enumerate(scrollable[:-1])] + [
                self._moved(scrollable[-1], row, None)
            ]
        return [], scrollable

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """A data cell, rendered once per look (value, width, row style, cursor), whatever row it is on: a row
        seen for the first time is mostly made of cells seen before ("ENQUEUED", a name...)."""
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        column_key = self._column_locations.get_key(column_index) if column_index >= 0 else None
        look = None if row_key is None or column_key is None else cell_look(self._data[row_key].get(column_key))
        if row_key is None or look is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        height = self.rows[row_key].height
        key = ("cell", look, width, base_style, cursor, hover, self.show_cursor, self._show_hover_cursor, fixed, height)
        hit = self._looks.get(key)
        if hit is None:
            lines: list[list[Segment]] = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._looks[key] = (row_index, lines)
            return lines
        was, lines = hit
        return lines if was == row_index else [self._moved(line, row_index, column_index) for line in lines]

    def notify_style_update(self) -> None:
        self._looks.clear()
        super().notify_style_update()
