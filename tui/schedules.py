"""The Schedules screen: per schedule its cron, whether it is paused, its next tick (counting down), its last
tick and the last run with its status; keys pause, resume and trigger it (through `Control`), `enter` opens
the last run.

Re-read (one query in a thread) when a schedule changes (its own event) or a workflow changes status (the
last run's status); the countdown is computed from the cron expression and the dashboard's clock at every
tick, so it needs no query and rolls over to the following tick by itself.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable

from engine.records import ScheduleRecord
from engine.schedules import next_tick
from tui.format import clip, clock_time, seconds, status_text
from tui.live import Changes, Refresher
from tui.records_screen import RecordsScreen
from tui.table import update_cells

COLUMNS = [
    ("schedule", "schedule", 16),
    ("cron", "cron", 13),
    ("state", "state", 7),
    ("next", "next tick", 23),
    ("last", "last tick", 9),
    ("status", "last run", 9),
    ("run", "its workflow", 52),
]


def next_cell(schedule: ScheduleRecord, now: datetime) -> Text:
    """`in 42.3s (12:01:00)` to its next tick, from its cron expression and the clock; dim while paused."""
    if schedule.paused:
        return Text("paused", style="dim")
    upcoming = next_tick(schedule.cron, now)
    return Text(f"in {seconds((upcoming - now).total_seconds())} ({clock_time(upcoming, now)})")


class SchedulesScreen(RecordsScreen[ScheduleRecord]):
    KIND = "schedules"
    HEADING = " Schedules: each tick runs its workflow once, whatever the number of workers"
    EMPTY = " No schedule is recorded yet: a worker records the schedules its code defines."
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding(
            "p", "pause_schedule", "Pause", tooltip="Pause the selected schedule: no tick runs until it is resumed"
        ),
        Binding("r", "resume_schedule", "Resume", tooltip="Resume the selected schedule (missed ticks are not run)"),
        Binding("t", "trigger_schedule", "Trigger", tooltip="Run the selected schedule's workflow once now"),
        Binding("enter", "open_last", "Last run", tooltip="Open the last run of the selected schedule"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._keys_for: tuple[bool, bool] | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self.dash.control.list_schedules, self.show)
        self.table.focus()
        self.refresher.request()

    def apply_changes(self, changes: Changes) -> None:
        if changes.everything or changes.schedules or changes.workflow_status:
            self.refresher.request()

    def key_of(self, record: ScheduleRecord) -> str:
        return record.name

    def cells(self, s: ScheduleRecord, now: datetime) -> list[object]:
        state = Text("paused", style="bold yellow") if s.paused else Text("running", style="green")
        return [
            clip(s.name, 16),
            clip(s.cron, 13),
            state,
            next_cell(s, now),
            clock_time(s.last_tick_at, now) or Text("-", style="dim"),
            status_text(s.last_status) if s.last_status else Text("never", style="dim"),
            clip(s.last_workflow_id or "", 52),
        ]

    def show(self, records: list[ScheduleRecord]) -> None:
        super().show(records)
        self._sync_keys()

    def tick(self, now: datetime) -> None:
        update_cells(self.table, ((s.name, "next", next_cell(s, now)) for s in self.records))

    def _sync_keys(self) -> None:
        """Redraw the footer only when the selection changes which keys apply (a redraw costs tens of ms, and
        every burst of workflow events re-reads this screen)."""
        chosen = self.selected()
        state = None if chosen is None else (chosen.paused, chosen.last_workflow_id is not None)
        if state != self._keys_for:
            self._keys_for = state
            self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#schedules")
    def _highlighted(self) -> None:
        self._sync_keys()

    @on(DataTable.RowSelected, "#schedules")
    def _row_selected(self) -> None:
        self.action_open_last()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False
        chosen = self.selected()
        if action == "pause_schedule":
            return chosen is not None and not chosen.paused or None
        if action == "resume_schedule":
            return chosen is not None and chosen.paused or None
        if action == "trigger_schedule":
            return chosen is not None or None
        if action == "open_last":
            return chosen is not None and chosen.last_workflow_id is not None or None
        return True

    def action_pause_schedule(self) -> None:
        if (s := self.selected()) is not None:
            name = s.name
            self.perform(lambda: self.dash.control.pause_schedule(name), lambda _: f"paused {name}", self._reload)

    def action_resume_schedule(self) -> None:
        if (s := self.selected()) is not None:
            name = s.name
            self.perform(lambda: self.dash.control.resume_schedule(name), lambda _: f"resumed {name}", self._reload)

    def action_trigger_schedule(self) -> None:
        if (s := self.selected()) is not None:
            name = s.name
            self.perform(lambda: self.dash.control.trigger_schedule(name), lambda wid: f"started {wid}", self._reload)

    def _reload(self, _: object) -> None:
        self.refresher.request()

    def action_open_last(self) -> None:
        chosen = self.selected()
        if chosen is not None and chosen.last_workflow_id is not None:
            self.dash.open_workflow(chosen.last_workflow_id)
