"""The schedule operations of `Control`: list, pause, resume, trigger and backfill schedules by name.

A controller has no application code: it works from what the workers recorded of each schedule (its
workflow's name and cron expression). Starting runs is an idempotent insert of ENQUEUED workflows, so a
backfill asked twice starts nothing twice, and any live worker that registers the workflow runs them.
"""

from __future__ import annotations

from datetime import datetime

from engine.errors import InvalidInput, ScheduleNotFound
from engine.records import ScheduleRecord
from engine.schedules import next_tick, tick_workflow_id, ticks_between
from engine.store import Store
from engine.validation import check_name

MAX_BACKFILL = 10_000
"""Runs one backfill may start: more is a typo in the span, not a backfill."""


class ScheduleControl:
    _store: Store

    def db_now(self) -> datetime:
        raise NotImplementedError

    def list_schedules(self) -> list[ScheduleRecord]:
        """Every recorded schedule with its last run and, unless paused, its next tick."""
        records = self._store.schedules.schedules()
        now = self.db_now()
        for record in records:
            record.next_at = None if record.paused else next_tick(record.cron, now)
        return records

    def _schedule(self, name: str) -> ScheduleRecord:
        found = self._store.schedules.schedules([check_name(name, "a schedule name")])
        if not found:
            raise ScheduleNotFound(f"no schedule named {name!r}: a worker records the schedules its code defines")
        return found[0]

    def pause_schedule(self, name: str) -> None:
        """No tick of the schedule runs until it is resumed."""
        self._schedule(name)
        self._store.schedules.set_paused(name, True)

    def resume_schedule(self, name: str) -> None:
        """Ticks run again, from the next one: those missed while it was paused are not run."""
        self._schedule(name)
        self._store.schedules.set_paused(name, False)

    def trigger_schedule(self, name: str) -> str:
        """Run the schedule's workflow once now (paused or not); returns its workflow id."""
        schedule = self._schedule(name)
        now = self.db_now()
        wid = tick_workflow_id(schedule.name, now)
        self._store.schedules.start(schedule.name, schedule.workflow_name, [(wid, now)], now, "note_run")
        return wid

    def backfill_schedule(self, name: str, start: datetime, end: datetime) -> list[str]:
        """Run the ticks in [start, end) that have not run; returns the workflow ids of all of them (asking
        again starts nothing new)."""
        schedule = self._schedule(name)
        for when, what in ((start, "start"), (end, "end")):
            if not isinstance(when, datetime) or when.tzinfo is None:
                raise InvalidInput(f"backfill {what} must be a datetime with a time zone, not {when!r}")
        if end <= start:
            raise InvalidInput("backfill end must be after its start")
        ticks = ticks_between(schedule.cron, start, end, MAX_BACKFILL)
        runs = [(tick_workflow_id(schedule.name, tick), tick) for tick in ticks]
        if runs:
            self._store.schedules.start(schedule.name, schedule.workflow_name, runs, self.db_now(), None)
        return [wid for wid, _ in runs]
