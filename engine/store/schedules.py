"""The store of schedules: definitions recorded by the workers, their state, and the start of their runs.

A tick's run is an ENQUEUED workflow whose id is derived from the schedule and the tick time, inserted
with ON CONFLICT DO NOTHING: however many workers fire the same tick, one row exists and one worker claims
it. The statements are in `sql/schedules.sql`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

from engine.records import ScheduleRecord
from engine.store.names import control_channel
from engine.store.queries import for_schema


@dataclass(frozen=True)
class ScheduleDefinition:
    """What a worker records of a schedule its code defines."""

    name: str
    workflow_name: str
    cron: str
    timeout_seconds: float | None = None
    """The workflow's own timeout, so that a run a controller starts (trigger, backfill) has it too."""


class ScheduleStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.sql = for_schema(schema)
        self.channel = control_channel(schema)

    def record(self, definitions: list[ScheduleDefinition], now: datetime) -> None:
        with self.pool.connection() as c, c.transaction():
            for d in definitions:
                c.execute(
                    self.sql["record_schedule"],
                    {
                        "name": d.name,
                        "workflow": d.workflow_name,
                        "cron": d.cron,
                        "timeout": d.timeout_seconds,
                        "now": now,
                    },
                )

    def schedules(self, names: list[str] | None = None) -> list[ScheduleRecord]:
        """Every recorded schedule (or these), with its last run's status."""
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=class_row(ScheduleRecord))
            if names is None:
                return cur.execute(self.sql["schedules_all"]).fetchall()
            return cur.execute(self.sql["schedules_named"], (names,)).fetchall()

    def start(
        self, name: str, workflow_name: str, runs: list[tuple[str, datetime]], actual: datetime, note: str | None
    ) -> list[str]:
        """Queue runs of the schedule, (workflow id, scheduled time) each, and wake the workers; returns the ids
        that were new. `note`: the latest run becomes the schedule's last tick (`note_tick`), its last run
        only (`note_run`), or neither (a backfill: None)."""
        params = {
            "schedule": name,
            "workflow": workflow_name,
            "actual": actual.astimezone(timezone.utc).isoformat(),
            "ids": [wid for wid, _ in runs],
            "times": [when.astimezone(timezone.utc).isoformat() for _, when in runs],
        }
        latest_id, latest = max(runs, key=lambda run: run[1])
        with self.pool.connection() as c, c.transaction():
            new = [row[0] for row in c.execute(self.sql["start_scheduled"], params).fetchall()]
            if note is not None:
                c.execute(self.sql[note], {"name": name, "wid": latest_id, "tick": latest})
            if new:
                c.execute(self.sql["notify"], (self.channel, json.dumps({"op": "wake"})))
        return new

    def set_since(self, name: str, now: datetime) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["set_since"], (now, name))

    def set_paused(self, name: str, paused: bool) -> bool:
        """Pause or resume; False for an unknown name. The workers' schedulers are woken to re-read."""
        with self.pool.connection() as c, c.transaction():
            found = c.execute(self.sql["pause_schedule" if paused else "resume_schedule"], (name,)).fetchone()
            if found is not None:
                c.execute(self.sql["notify"], (self.channel, json.dumps({"op": "schedules"})))
        return found is not None
