"""Schedules: `@scheduled(cron)` runs a workflow at each tick of a cron expression, once per tick whatever the
number of workers.

A schedule is defined in code; each worker records the schedules it defines at launch (`schedules`
table), so a controller can list, pause, resume, trigger and backfill them by name. Every worker runs a
`Scheduler` that sleeps on the engine's clock until the next tick of any of its schedules (no polling; a
NOTIFY wakes it when a schedule is paused or resumed). At a tick it queues the run under an id derived from
the schedule and the tick (`sched:<name>:<tick>`), an idempotent insert: the workers that fire the same tick
make one workflow. Ticks missed while no worker ran are not all replayed: only the latest one runs (ask
`Control.backfill_schedule` for the others), and a resumed schedule counts ticks from its resume.

Cron expressions are parsed by croniter and read in UTC; the workflow gets the tick's time and the time it
was queued, as aware datetimes: `(scheduled_at, actual_at)`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from croniter import croniter

from engine.errors import InvalidInput
from engine.services import Service
from engine.specs import REGISTRY, spec_of
from engine.store.schedules import ScheduleDefinition
from engine.validation import check_name

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("durable.worker")

F = TypeVar("F", bound=Callable[..., Any])

SCHEDULES: dict[str, ScheduleDefinition] = {}
"""The schedules this process defines, by name: its workers record and fire these."""

MAX_SCHEDULE_NAME = 200
"""Shorter than a workflow id, which holds the name and a tick time."""


def check_cron(cron: object) -> str:
    """A cron expression croniter accepts (5 fields, or 6 with seconds last), else one readable line."""
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        raise InvalidInput(
            f"{cron!r} is not a valid cron expression (e.g. '*/5 * * * *': minute hour day month weekday)"
        )
    return cron


def next_tick(cron: str, after: datetime) -> datetime:
    """The first tick strictly after `after`."""
    tick: datetime = croniter(cron, after.astimezone(timezone.utc)).get_next(datetime)
    return tick


def latest_tick(cron: str, at: datetime) -> datetime:
    """The last tick at or before `at`."""
    tick: datetime = croniter(cron, at.astimezone(timezone.utc) + timedelta(microseconds=1)).get_prev(datetime)
    return tick


def ticks_between(cron: str, start: datetime, end: datetime, most: int) -> list[datetime]:
    """The ticks in [start, end), at most `most` of them (more is refused: a typo, not a backfill)."""
    ticks: list[datetime] = []
    it = croniter(cron, start.astimezone(timezone.utc) - timedelta(microseconds=1))
    while (tick := it.get_next(datetime)) < end:
        if len(ticks) == most:
            raise InvalidInput(f"more than {most} ticks of {cron!r} between {start} and {end}: backfill a shorter span")
        ticks.append(tick)
    return ticks


def tick_workflow_id(name: str, tick: datetime) -> str:
    """The same for every worker that fires the tick: the tick in UTC, so the time zone of whoever computed
    it changes nothing."""
    return f"sched:{name}:{tick.astimezone(timezone.utc).isoformat()}"


def scheduled(cron: str, *, name: str | None = None) -> Callable[[F], F]:
    """Run the decorated `@workflow` at every tick of `cron` (UTC), with `(scheduled_at, actual_at)`.

    Put it above `@workflow`. `name` (default: the workflow's name) is how controllers address the schedule.
    """
    check_cron(cron)

    def decorate(fn: F) -> F:
        spec = spec_of(fn)
        schedule = check_name(name or spec.name, "a schedule name")
        if len(schedule) > MAX_SCHEDULE_NAME:
            raise InvalidInput(f"a schedule name must be at most {MAX_SCHEDULE_NAME} characters")
        with_times = dataclasses.replace(spec, fn=_with_datetimes(spec.fn))
        REGISTRY[spec.name] = with_times
        fn.__durable_workflow__ = with_times  # type: ignore[attr-defined]
        SCHEDULES[schedule] = ScheduleDefinition(schedule, spec.name, cron, spec.timeout_seconds)
        return fn

    return decorate


def _with_datetimes(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The workflow body, given its two times as datetimes (they are recorded as ISO text: values are JSON)."""

    def convert(args: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(datetime.fromisoformat(a) if i < 2 and isinstance(a, str) else a for i, a in enumerate(args))

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            return await fn(*convert(args), **kwargs)

        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return fn(*convert(args), **kwargs)

    return run


class Scheduler(Service):
    """Fires the ticks of the schedules this process defines; sleeps until the next one, or a NOTIFY."""

    def __init__(self, engine: Engine):
        super().__init__("durable-scheduler", longest_pause=engine.heartbeat_seconds * 5)
        self.engine = engine
        self._poke = threading.Event()

    def interrupt(self) -> None:
        self._poke.set()

    def poke(self) -> None:
        """A schedule was paused or resumed: read them again."""
        self._poke.set()

    def run(self) -> None:
        clock = self.engine.runs.clock
        while not self.stopping:
            wake_at = self.fire_due(clock.now())
            clock.wait_until(self._poke, wake_at)
            self._poke.clear()

    def fire_due(self, now: datetime) -> datetime | None:
        """Queue the latest due tick of each running schedule; returns the next tick of any of them."""
        if not SCHEDULES:
            return None
        store = self.engine.store.schedules
        upcoming: list[datetime] = []
        for record in store.schedules(sorted(SCHEDULES)):
            if record.paused or record.name not in SCHEDULES:
                continue
            cron = SCHEDULES[record.name].cron
            upcoming.append(next_tick(cron, now))
            if record.since_at is None:  # just resumed: ticks count from now, on this engine's clock
                store.set_since(record.name, now)
                continue
            due = latest_tick(cron, now)
            if due > max(record.since_at, record.last_tick_at or record.since_at):
                run = (tick_workflow_id(record.name, due), due)
                store.start(record.name, record.workflow_name, [run], now, "note_tick")
        return min(upcoming, default=None)
