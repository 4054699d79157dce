"""`update_cells` puts values into a DataTable (the short lists: workers, faults, queues, schedules) and
repaints only the rows that changed (no database). The workflow list's table: `test_line_table.py`."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tui.table import set_rows, update_cells

COLUMNS = [("id", 12), ("status", 10), ("info", 20)]
KEYS = [key for key, _ in COLUMNS]


def row(n: int) -> list[object]:
    status = Text("ENQUEUED", style="yellow") if n % 3 else Text("ERROR", style="bold red")
    return [f"wf-{n:04d}", status, "waiting" if n % 2 else ""]


class Tables(App[None]):
    def compose(self) -> ComposeResult:
        table: DataTable[object] = DataTable(id="plain", zebra_stripes=True, cursor_type="row")
        for key, width in COLUMNS:
            table.add_column(key, width=width, key=key)
        yield table


def test_update_cells_changes_only_what_differs() -> None:
    async def scenario() -> None:
        app = Tables()
        async with app.run_test(size=(50, 30)) as pilot:
            table = app.query_one("#plain", DataTable)
            set_rows(table, [(str(n), row(n)) for n in range(5)], KEYS)
            table.move_cursor(row=3)
            await pilot.pause()
            same = [("0", "id", "wf-0000"), ("1", "status", Text("ENQUEUED", style="yellow"))]
            assert update_cells(table, same) == 0
            red = [("1", "status", Text("ENQUEUED", style="bold red"))]  # same text, another style: a change
            assert update_cells(table, [*same, *red, ("9", "id", "gone"), ("2", "nope", "x")]) == 1
            assert table.get_cell("1", "status").style == "bold red" and table.cursor_row == 3

    asyncio.run(scenario())
