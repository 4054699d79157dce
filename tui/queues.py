"""The Queues screen: per queue its limits, depth, running against the limit, starts in the rate window,
the age of its oldest waiting workflow (ticking) and a sparkline of its starts; `enter` lists its workflows.

Re-read (one query in a thread) when workflows change status, since that is what moves every figure; the
oldest-waiting age is computed from the stored enqueue time and the dashboard's clock at every tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from engine.records import QueueFigures
from tui.base import DashScreen
from tui.format import age, clip
from tui.live import Changes, Refresher
from tui.table import set_rows, update_cells
from tui.throughput import sparkline

COLUMNS = [
    ("queue", "queue", 18),
    ("running", "running", 9),
    ("per_worker", "per worker", 10),
    ("rate", "started / rate limit", 20),
    ("enqueued", "enqueued", 8),
    ("oldest", "oldest waiting", 14),
    ("starts", "starts, last 3 min", 20),
]
COLUMN_KEYS = [key for key, _, _ in COLUMNS]


def running(q: QueueFigures) -> Text:
    """Running now against the queue's concurrency: red when the queue is full."""
    if q.concurrency is None:
        return Text(f"{q.pending}", style="dim" if not q.pending else "")
    return Text(f"{q.pending}/{q.concurrency}", style="bold red" if q.pending >= q.concurrency else "")


def rate(q: QueueFigures) -> Text:
    """Starts in the current rate window against the limit: red when the limiter holds work back."""
    if q.rate_limit is None:
        return Text("no limit", style="dim")
    full = q.started_in_period >= q.rate_limit
    return Text(f"{q.started_in_period}/{q.rate_limit} per {q.rate_period or 0:g}s", style="bold red" if full else "")


class QueuesScreen(DashScreen):
    BINDINGS = [
        Binding("enter", "list_queue", "Its workflows", tooltip="List the workflows of the selected queue"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.queues: list[QueueFigures] = []

    def compose_body(self) -> ComposeResult:
        yield Static(" Queues: what each holds, runs and starts, against its limits", id="queues-title")
        table: DataTable[Any] = DataTable(id="queues", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, width=width, key=key)
        yield table
        yield Static("", id="queues-empty")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#queues", DataTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self.dash.control.list_queues, self._apply)
        self.table.focus()
        self.refresher.request()

    def apply_changes(self, changes: Changes) -> None:
        if changes.everything or changes.workflow_status:
            self.refresher.request()

    def _cells(self, q: QueueFigures, now: datetime) -> list[object]:
        top = max([*q.starts, 1])
        return [
            clip(q.name, 18),
            running(q),
            str(q.worker_concurrency) if q.worker_concurrency is not None else Text("-", style="dim"),
            rate(q),
            str(q.enqueued),
            age(q.oldest_enqueued_at, now),
            Text(sparkline(q.starts, top), style="green" if any(q.starts) else "dim"),
        ]

    def _apply(self, queues: list[QueueFigures]) -> None:
        self.queues = queues
        keep = self.selected()
        set_rows(
            self.table,
            [(q.name, self._cells(q, self.dash.clock())) for q in queues],
            COLUMN_KEYS,
            keep.name if keep else None,
        )
        self.query_one("#queues-empty", Static).update(
            "" if queues else " No queue is recorded yet: a worker records the queues its application defines."
        )

    def tick(self, now: datetime) -> None:
        update_cells(self.table, ((q.name, "oldest", age(q.oldest_enqueued_at, now)) for q in self.queues))

    def selected(self) -> QueueFigures | None:
        if not self.queues or not self.table.row_count:
            return None
        return self.queues[min(self.table.cursor_row, len(self.queues) - 1)]

    @on(DataTable.RowSelected, "#queues")
    def _row_selected(self) -> None:
        self.action_list_queue()

    def action_list_queue(self) -> None:
        queue = self.selected()
        if queue is not None:
            self.dash.list_queue(queue.name)
