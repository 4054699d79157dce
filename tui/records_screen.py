"""A screen that is one table of records (workers, faults, queues, schedules): a heading, the table, and a
line shown when there is nothing to list. Each screen says what a row is (`key_of`, `cells`); reading the
records again keeps the cursor on the record it was on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from tui.base import DashScreen
from tui.table import set_rows

R = TypeVar("R")


class RecordsScreen(DashScreen, Generic[R]):
    KIND: ClassVar[str]
    """Names its widgets: `#<KIND>` (the table), `#<KIND>-title`, `#<KIND>-empty`."""
    HEADING: ClassVar[str]
    EMPTY: ClassVar[str]
    COLUMNS: ClassVar[list[tuple[str, str, int]]]
    """(key, label, width) of each column."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[R] = []

    def compose_body(self) -> ComposeResult:
        yield Static(self.HEADING, id=f"{self.KIND}-title")
        table: DataTable[Any] = DataTable(id=self.KIND, cursor_type="row", zebra_stripes=True)
        for key, label, width in self.COLUMNS:
            table.add_column(label, width=width, key=key)
        yield table
        yield Static("", id=f"{self.KIND}-empty")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(f"#{self.KIND}", DataTable)

    def key_of(self, record: R) -> str:
        raise NotImplementedError

    def cells(self, record: R, now: datetime) -> list[object]:
        raise NotImplementedError

    def show(self, records: list[R]) -> None:
        keep = self.selected()
        self.records = records
        now = self.dash.clock()
        set_rows(
            self.table,
            [(self.key_of(r), self.cells(r, now)) for r in records],
            [key for key, _, _ in self.COLUMNS],
            self.key_of(keep) if keep is not None else None,
        )
        self.query_one(f"#{self.KIND}-empty", Static).update("" if records else self.EMPTY)

    def selected(self) -> R | None:
        if not self.records or not self.table.row_count:
            return None
        return self.records[min(self.table.cursor_row, len(self.records) - 1)]
