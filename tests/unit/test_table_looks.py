"""A LookTable draws exactly what a DataTable draws (text, colours, and the row/column meta clicks read)
while its window shifts, and `update_cells` repaints only the rows that changed (no database)."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tui.table import LookTable, show_window, update_cells

COLUMNS = [("id", 12), ("status", 10), ("info", 20)]
KEYS = [key for key, _ in COLUMNS]


def row(n: int) -> list[object]:
    status = Text("ENQUEUED", style="yellow") if n % 3 else Text("ERROR", style="bold red")
    return [f"wf-{n:04d}", status, "waiting" if n % 2 else ""]


class Tables(App[None]):
    def compose(self) -> ComposeResult:
        for table in (LookTable(id="looks", zebra_stripes=True), DataTable(id="plain", zebra_stripes=True)):
            table.cursor_type = "row"
            for key, width in COLUMNS:
                table.add_column(key, width=width, key=key)
            yield table


def lines(table: DataTable[object]) -> list[list[tuple[str, object]]]:
    return [[(s.text, s.style) for s in table.render_line(y)] for y in range(table.size.height)]


def test_a_shifting_window_renders_as_a_datatable_would() -> None:
    async def scenario() -> None:
        app = Tables()
        async with app.run_test(size=(50, 30)) as pilot:
            looks, plain = app.query_one("#looks", LookTable), app.query_one("#plain", DataTable)
            app.set_focus(None)  # a focused table draws its header and cursor otherwise
            top = 100
            for shift in (0, 3, 1, 2, 5, 1, 1, 4):  # odd and even shifts: rows change zebra parity
                top += shift
                for table in (looks, plain):
                    show_window(table, [row(top - i) for i in range(10)], KEYS, cursor=2)
                await pilot.pause()
                assert lines(looks) == lines(plain), f"after a shift of {shift}"
            assert len(looks._moved.styles), "rows were drawn from renders made on other rows"
            for table in (looks, plain):  # the cursor's row looks different: still the same drawing
                table.move_cursor(row=7)
            await pilot.pause()
            assert lines(looks) == lines(plain)

    asyncio.run(scenario())


def test_update_cells_changes_only_what_differs() -> None:
    async def scenario() -> None:
        app = Tables()
        async with app.run_test(size=(50, 30)) as pilot:
            table = app.query_one("#looks", LookTable)
            show_window(table, [row(n) for n in range(5)], KEYS, cursor=3)
            await pilot.pause()
            same = [("0", "id", "wf-0000"), ("1", "status", Text("ENQUEUED", style="yellow"))]
            assert update_cells(table, same) == 0
            red = [("1", "status", Text("ENQUEUED", style="bold red"))]  # same text, another style: a change
            assert update_cells(table, [*same, *red, ("9", "id", "gone"), ("2", "nope", "x")]) == 1
            assert table.get_cell("1", "status").style == "bold red" and table.cursor_row == 3

    asyncio.run(scenario())
