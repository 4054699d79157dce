"""The Workers screen: every executor, its heartbeat age (ticking), pid, host, workflows; dead ones marked.

Alive is judged with the dashboard's (database) clock against the lease, so the mark flips to DEAD on
screen the moment the heartbeat is overdue, without waiting for any notification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from engine.records import ExecutorRecord
from tui.base import DashScreen
from tui.format import age, clip, clock_time
from tui.table import set_rows, update_cells

COLUMNS = [
    ("executor", "executor", 22),
    ("state", "state", 8),
    ("heartbeat", "heartbeat", 9),
    ("pid", "pid", 7),
    ("host", "host", 16),
    ("in_flight", "in flight", 9),
    ("started", "started", 8),
    ("workflows", "registered workflows", 44),
]
COLUMN_KEYS = [key for key, _, _ in COLUMNS]


class WorkersScreen(DashScreen):
    BINDINGS = [
        Binding(
            "x", "crash_worker", "Crash worker", tooltip="Crash the selected worker (killed as by SIGKILL; asks first)"
        )
    ]

    def __init__(self) -> None:
        super().__init__()
        self.executors: list[ExecutorRecord] = []

    def compose_body(self) -> ComposeResult:
        yield Static(" Workers: processes running an Engine on this database", id="workers-title")
        table: DataTable[Any] = DataTable(id="workers", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, width=width, key=key)
        yield table
        yield Static("", id="workers-empty")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#workers", DataTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.executors_changed()

    def executors_changed(self) -> None:
        self._apply(self.dash.executors)

    def _state(self, w: ExecutorRecord, now: datetime) -> Text:
        if w.stopped_at is not None:
            return Text("stopped", style="dim")
        if (now - w.heartbeat_at).total_seconds() > self.dash.control.lease_seconds:
            return Text("DEAD", style="bold red")
        return Text("alive", style="bold green")

    def _cells(self, w: ExecutorRecord, now: datetime) -> list[object]:
        return [
            clip(w.executor_id, 22),
            self._state(w, now),
            age(w.heartbeat_at, now),
            str(w.pid),
            clip(w.host, 16),
            str(w.in_flight),
            clock_time(w.started_at, now),
            clip(", ".join(w.workflows), 44),
        ]

    def _apply(self, workers: list[ExecutorRecord]) -> None:
        self.executors = workers
        now = self.dash.clock()
        keep = self.selected()
        set_rows(
            self.table,
            [(w.executor_id, self._cells(w, now)) for w in workers],
            COLUMN_KEYS,
            keep.executor_id if keep else None,
        )
        self.query_one("#workers-empty", Static).update(
            "" if workers else " No worker has registered yet: start your application (or `durable-tui demo`)."
        )

    def tick(self, now: datetime) -> None:
        update_cells(
            self.table,
            (
                (w.executor_id, column, value)
                for w in self.executors
                for column, value in (("state", self._state(w, now)), ("heartbeat", age(w.heartbeat_at, now)))
            ),
        )

    def selected(self) -> ExecutorRecord | None:
        if not self.executors or not self.table.row_count:
            return None
        return self.executors[min(self.table.cursor_row, len(self.executors) - 1)]

    def action_crash_worker(self) -> None:
        worker = self.selected()
        if worker is None:
            self.notify("no worker selected", severity="warning")
            return
        eid, ctl = worker.executor_id, self.dash.control
        self.confirm(
            "Crash this worker?",
            [f"{eid} (pid {worker.pid} on {worker.host})"],
            "The process is killed on the spot (as SIGKILL); its workflows are recovered by a live "
            "worker after the lease.",
            lambda: ctl.crash_worker(eid),
            lambda _: f"crash sent to {eid}",
        )
