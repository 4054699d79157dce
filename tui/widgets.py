"""Widgets shared by the screens: the connection bar and a DataTable that shows a window of a long list."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey, RowKey


class ConnectionBar(Static):
    """Where the dashboard is connected, and whether the live feed is up (a red banner when it is not).
    In a narrow terminal the product name goes first, so that the live/connecting state stays visible."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._shown: tuple[str, bool | None, str, bool, str] | None = None

    def show(
        self, where: str, connected: bool | None, reason: str = "", read_only: bool = False, mode: str = ""
    ) -> None:
        self._shown = (where, connected, reason, read_only, mode)
        ro = "  [read-only]" if read_only else ""
        tabs = Text()
        for key, name in (("1", "workflows"), ("2", "workers"), ("3", "faults"), ("4", "queues"), ("5", "schedules")):
            tabs.append(f" {key} {name.capitalize()} ", style="reverse bold" if name == mode else "dim")
        if connected is None:
            self.set_classes("connecting")
            state: Text | str = "connecting…"
        elif connected:
            self.set_classes("live")
            state = Text("● live", style="bold green")
        else:
            self.set_classes("down")
            self.update(
                Text(
                    f" DATABASE UNREACHABLE · reconnecting… · the data shown may be stale · "
                    f"{where}: {reason or 'connection lost'}"
                )
            )
            return
        text = Text.assemble(tabs, " durable-tui · ", where, ro, " · ", state)
        if text.cell_len > (self.size.width or self.app.size.width):
            text = Text.assemble(tabs, " ", state, " · ", where, ro)
        self.update(text)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)


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


class WindowTable(DataTable[Any]):
    """A DataTable holding one window (`offset`, `page_size` rows) of a list paged in SQL.

    Moving the cursor past either edge asks the owner to move the window (a `Move` message) instead of
    scrolling: 100,000 rows never need to exist as widgets, only the ones on screen. Every move the user
    makes says whether it chose a row to hold (`hold`): `home`/`g` goes back to the top and holds nothing.
    """

    BINDINGS = [
        Binding("home,g", "window_top", "Top", show=False),
        Binding("end,G", "window_bottom", "Bottom", show=False),
    ]

    class Move(Message):
        def __init__(self, offset: int, cursor: str | int, hold: bool = True):
            super().__init__()
            self.offset = offset
            self.cursor = cursor
            self.hold = hold

    class Chosen(Message):
        """The user moved the cursor inside the window: `hold` the row it is on now (or, false, none)."""

        def __init__(self, hold: bool = True):
            super().__init__()
            self.hold = hold

    def __init__(self, **kwargs: Any):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.window_offset = 0
        self.total = 0

    @property
    def page_size(self) -> int:
        height = self.size.height or (self.app.size.height - 8)
        return max(1, height - (self.header_height if self.show_header else 0) - 1)

    def _move(self, offset: int, cursor: str | int, hold: bool = True) -> None:
        offset = max(0, min(offset, max(0, self.total - self.page_size)))
        if offset != self.window_offset:
            self.post_message(self.Move(offset, cursor, hold))
            return
        if isinstance(cursor, int):
            self.move_cursor(row=cursor, animate=False)
        elif self.row_count:
            self.move_cursor(row=0 if cursor == "first" else self.row_count - 1, animate=False)
        self.post_message(self.Chosen(hold))

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self._move(self.window_offset + 1, "last")
        else:
            super().action_cursor_down()
            self.post_message(self.Chosen())

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            self._move(self.window_offset - 1, "first")
        else:
            super().action_cursor_up()
            self.post_message(self.Chosen())

    async def _on_click(self, event: events.Click) -> None:
        await super()._on_click(event)
        self.post_message(self.Chosen())

    def action_page_down(self) -> None:
        if self.window_offset + self.row_count >= self.total:
            self._move(self.window_offset, "last")
        else:
            self._move(self.window_offset + self.page_size, self.cursor_row)

    def action_page_up(self) -> None:
        if self.window_offset == 0:
            self._move(0, "first")
        else:
            self._move(self.window_offset - self.page_size, self.cursor_row)

    def action_window_top(self) -> None:
        self._move(0, "first", hold=False)

    def action_window_bottom(self) -> None:
        self._move(self.total, "last")

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._move(self.window_offset + 3, self.cursor_row)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._move(self.window_offset - 3, self.cursor_row)
