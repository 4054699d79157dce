"""The line table draws what a DataTable draws (text, colours and segments; focused or not, under the cursor,
in both zebra parities, while its window shifts), and repaints only the lines whose look changed (no
database)."""

from __future__ import annotations

import asyncio

from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tui.linetable import LineTable, TableColumn

COLUMNS = [TableColumn("id", "id", 12), TableColumn("status", "status", 10), TableColumn("info", "info", 14)]


def row(n: int) -> list[object]:
    """Every kind of cell the dashboard shows: plain, styled, spans with and without a style, empty, wide
    characters, and one too long for its column (clipped as rich clips it)."""
    status = Text("ENQUEUED", style="yellow") if n % 3 else Text("ERROR", style="bold red")
    info: object = [
        "waiting",
        "",
        Text.assemble(("retry ", "dim"), ("2/5", "bold"), " in 3s"),
        Text.assemble("a ", ("b", "italic"), style="cyan"),
        "名前の長いワークフロー",
        "a value far too long for its column",
    ][n % 6]
    return [f"wf-{n:04d}", status, info]


class Tables(App[None]):
    def compose(self) -> ComposeResult:
        lines = LineTable(id="lines")
        lines.set_columns(COLUMNS)
        yield lines
        plain: DataTable[object] = DataTable(id="plain", cursor_type="row", zebra_stripes=True)
        for c in COLUMNS:
            plain.add_column(c.label, width=c.width, key=c.key)
        yield plain


def drawn(table: LineTable | DataTable[object]) -> list[list[tuple[str, Style | None]]]:
    """Each line's segments: text and look (the meta, which says where a segment is, left out)."""
    return [
        [(s.text, s.style.clear_meta_and_links() if s.style else None) for s in table.render_line(y)] for y in range(11)
    ]


def test_a_shifting_window_is_drawn_as_a_datatable_draws_it() -> None:
    async def scenario() -> None:
        app = Tables()
        async with app.run_test(size=(50, 30)) as pilot:
            lines, plain = app.query_one("#lines", LineTable), app.query_one("#plain", DataTable)
            top = 100
            for shift in (0, 3, 1, 2, 5, 1, 1, 4):  # odd and even shifts: rows change zebra parity
                top += shift
                rows = [row(top - i) for i in range(10)]
                lines.show_rows(rows, cursor=2)
                plain.clear()
                for r in rows:
                    plain.add_row(*[c.copy() if isinstance(c, Text) else c for c in r])
                plain.move_cursor(row=2)
                app.set_focus(None)
                await pilot.pause()
                assert drawn(lines) == drawn(plain), f"after a shift of {shift}"
            for table in (lines, plain):  # focused: another cursor and a tinted background
                table.move_cursor(row=7)
                app.set_focus(table)
                await pilot.pause()
            app.set_focus(lines)
            await pilot.pause()
            focused = drawn(lines)
            app.set_focus(plain)
            await pilot.pause()
            assert focused == drawn(plain)
            assert focused != drawn(lines), "the focus changes how the table looks"

    asyncio.run(scenario())


def test_only_the_lines_that_look_different_are_drawn_again() -> None:
    async def scenario() -> None:
        app = Tables()
        async with app.run_test(size=(50, 30)) as pilot:
            table = app.query_one("#lines", LineTable)
            table.styles.height = 12  # as the dashboard's (1fr): fewer rows need no new layout
            rows = [row(n) for n in range(10)]
            table.show_rows(rows, cursor=0)
            await pilot.pause()
            asked: list[int] = []
            render_line = table.render_line

            def spy(y: int):  # type: ignore[no-untyped-def]
                asked.append(y)
                return render_line(y)

            table.render_line = spy  # type: ignore[method-assign]

            same = [list(r) for r in rows]  # equal values, other objects: a re-read that changed nothing
            assert table.show_rows(same) == 0
            await pilot.pause()
            assert asked == [], "nothing changed: nothing drawn"

            same[4][1] = Text("ENQUEUED", style="bold red")  # same text, another style: a change
            assert table.show_rows(same) == 1
            await pilot.pause()
            assert asked == [1 + 4], "only row 4's line (under the header)"

            asked.clear()
            assert table.update_cells([(6, "info", "done"), (6, "id", same[6][0]), (99, "id", "x"), (1, "no", 1)]) == 1
            await pilot.pause()
            assert asked == [1 + 6] and table.get_cell(6, "info") == "done"

            asked.clear()
            table.move_cursor(row=3)
            await pilot.pause()
            assert sorted(asked) == [1 + 0, 1 + 3], "the cursor's old and new lines"

            asked.clear()
            same[6][2] = "done"
            table.show_rows(same[:8])  # two rows fewer: their lines are cleared, the rest stays
            await pilot.pause()
            assert sorted(asked) == [1 + 8, 1 + 9]

    asyncio.run(scenario())


def test_keys_and_clicks_move_the_cursor_and_choose_a_row() -> None:
    chosen: list[int] = []

    class Chooser(Tables):
        def on_line_table_row_selected(self, message: LineTable.RowSelected) -> None:
            chosen.append(message.cursor_row)

    async def scenario() -> None:
        app = Chooser()
        async with app.run_test(size=(50, 30)) as pilot:
            table = app.query_one("#lines", LineTable)
            table.show_rows([row(n) for n in range(5)], cursor=0)
            table.focus()
            await pilot.press("down", "down", "up")
            assert table.cursor_row == 1
            await pilot.press("enter")
            await pilot.click("#lines", offset=(3, 1 + 3))  # the header is line 0
            assert table.cursor_row == 3 and chosen == [1]
            await pilot.click("#lines", offset=(3, 1 + 3))  # a click on the cursor's row chooses it
            await pilot.press("down", "down", "down")
            assert chosen == [1, 3] and table.cursor_row == 4, "the cursor stops at the last row"

    asyncio.run(scenario())
