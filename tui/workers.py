"""The Workers screen: every executor, its heartbeat age (ticking), pid, host, workflows; dead ones marked.

Alive is judged with the dashboard's (database) clock against the lease, so the mark flips to DEAD on
screen the moment the heartbeat is overdue, without waiting for any notification.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.binding import Binding

from engine.records import ExecutorRecord
from tui.format import age, clip, clock_time
from tui.records_screen import RecordsScreen
from tui.table import update_cells

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


class WorkersScreen(RecordsScreen[ExecutorRecord]):
    KIND = "workers"
    HEADING = " Workers: processes running an Engine on this database"
    EMPTY = " No worker has registered yet: start your application (or `durable-tui demo`)."
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding(
            "x", "crash_worker", "Crash worker", tooltip="Crash the selected worker (killed as by SIGKILL; asks first)"
        )
    ]

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.executors_changed()

    def executors_changed(self) -> None:
        self.show(self.dash.executors)

    def _state(self, w: ExecutorRecord, now: datetime) -> Text:
        if w.stopped_at is not None:
            return Text("stopped", style="dim")
        if (now - w.heartbeat_at).total_seconds() > self.dash.control.lease_seconds:
            return Text("DEAD", style="bold red")
        return Text("alive", style="bold green")

    def key_of(self, record: ExecutorRecord) -> str:
        return record.executor_id

    def cells(self, w: ExecutorRecord, now: datetime) -> list[object]:
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

    def tick(self, now: datetime) -> None:
        update_cells(
            self.table,
            (
                (w.executor_id, column, value)
                for w in self.records
                for column, value in (("state", self._state(w, now)), ("heartbeat", age(w.heartbeat_at, now)))
            ),
        )

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
