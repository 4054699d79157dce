"""The Queues screen: per queue its limits, depth, running against the limit, starts in the rate window,
the age of its oldest waiting workflow (ticking) and a sparkline of its starts; `enter` lists its workflows.

Re-read (one query in a thread) when workflows change status, since that is what moves every figure; the
oldest-waiting age is computed from the stored enqueue time and the dashboard's clock at every tick.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable

from engine.records import QueueFigures
from tui.format import age, clip
from tui.live import Changes, Refresher
from tui.records_screen import RecordsScreen
from tui.table import update_cells
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


class QueuesScreen(RecordsScreen[QueueFigures]):
    KIND = "queues"
    HEADING = " Queues: what each holds, runs and starts, against its limits"
    EMPTY = " No queue is recorded yet: a worker records the queues its application defines."
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding("enter", "list_queue", "Its workflows", tooltip="List the workflows of the selected queue"),
    ]

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self.dash.control.list_queues, self.show)
        self.table.focus()
        self.refresher.request()

    def apply_changes(self, changes: Changes) -> None:
        if changes.everything or changes.workflow_status:
            self.refresher.request()

    def key_of(self, record: QueueFigures) -> str:
        return record.name

    def cells(self, q: QueueFigures, now: datetime) -> list[object]:
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

    def tick(self, now: datetime) -> None:
        update_cells(self.table, ((q.name, "oldest", age(q.oldest_enqueued_at, now)) for q in self.records))

    @on(DataTable.RowSelected, "#queues")
    def _row_selected(self) -> None:
        self.action_list_queue()

    def action_list_queue(self) -> None:
        queue = self.selected()
        if queue is not None:
            self.dash.list_queue(queue.name)
