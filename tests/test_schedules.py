"""Schedules (issue 9): a tick runs once whatever the number of workers; pause, resume, trigger, backfill;
missed ticks; the virtual clock skips to the next tick."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine import InvalidInput, ScheduleNotFound, scheduled, workflow
from engine.clock import VirtualClock
from engine.schedules import SCHEDULES, next_tick, tick_workflow_id
from tests.helpers import Worker, wait_for

EVERY_MINUTE = "* * * * *"


@pytest.fixture
def define():
    """Define schedules for one test only: a schedule left registered would fire in every later engine."""
    names: list[str] = []

    def make(name: str, cron: str = EVERY_MINUTE) -> None:
        @scheduled(cron, name=name)
        @workflow(name=f"sc.{name}")
        def run(scheduled_at: datetime, actual_at: datetime) -> list[str]:
            assert scheduled_at.tzinfo is not None and actual_at >= scheduled_at
            return [scheduled_at.isoformat(), actual_at.isoformat()]

        names.append(name)

    yield make
    for name in names:
        SCHEDULES.pop(name, None)


@pytest.fixture
def clock() -> VirtualClock:
    clock = VirtualClock()
    clock.pause()
    return clock


def skip_to_next_tick(clock: VirtualClock, cron: str = EVERY_MINUTE) -> datetime:
    tick = next_tick(cron, clock.now())
    clock.advance((tick - clock.now()).total_seconds() + 0.01)
    return tick


def runs_of(control, name: str) -> list[str]:
    return sorted(w.workflow_id for w in control.list_workflows(name=f"sc.{name}", limit=1000))


def test_the_virtual_clock_skips_to_the_next_tick(define, make_engine, control, clock):
    define("nightly")
    make_engine(clock=clock)
    assert runs_of(control, "nightly") == []
    tick = skip_to_next_tick(clock)
    wid = tick_workflow_id("nightly", tick)
    wait_for(lambda: runs_of(control, "nightly") == [wid] and control.get_workflow(wid).status == "SUCCESS")
    scheduled_at, actual_at = control.get_workflow(wid).output
    assert datetime.fromisoformat(scheduled_at) == tick and datetime.fromisoformat(actual_at) >= tick
    (record,) = control.list_schedules()
    assert (record.name, record.workflow_name, record.cron, record.paused) == (
        "nightly",
        "sc.nightly",
        EVERY_MINUTE,
        False,
    )
    assert (record.last_tick_at, record.last_workflow_id, record.last_status) == (tick, wid, "SUCCESS")
    assert record.next_at is not None and record.next_at > control.db_now()


def test_pause_and_resume(define, make_engine, control, clock):
    define("paused")
    make_engine(clock=clock)
    control.pause_schedule("paused")
    assert control.list_schedules()[0].paused and control.list_schedules()[0].next_at is None
    skip_to_next_tick(clock)
    time.sleep(0.3)  # the scheduler was woken by the pause and the tick passed: nothing may start
    assert runs_of(control, "paused") == []
    control.resume_schedule("paused")
    wait_for(lambda: control.list_schedules()[0].since_at is not None)
    assert runs_of(control, "paused") == []  # the tick missed while paused is not run at resume
    tick = skip_to_next_tick(clock)
    wait_for(lambda: runs_of(control, "paused") == [tick_workflow_id("paused", tick)])


def test_trigger_runs_it_once_now(define, make_engine, control, clock):
    define("manual")
    make_engine(clock=clock)
    control.pause_schedule("manual")
    wid = control.trigger_schedule("manual")  # paused or not
    assert wid.startswith("sched:manual:")
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    record = control.list_schedules()[0]
    assert (record.last_workflow_id, record.last_status, record.last_tick_at) == (wid, "SUCCESS", None)


def test_backfill_is_idempotent(define, make_engine, control, clock):
    define("backfilled")
    make_engine(clock=clock)
    start = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
    ids = control.backfill_schedule("backfilled", start, start + timedelta(minutes=5))
    assert ids == [tick_workflow_id("backfilled", start + timedelta(minutes=m)) for m in range(5)]
    wait_for(lambda: all(control.get_workflow(wid).status == "SUCCESS" for wid in ids))
    finished = [control.get_workflow(wid).finished_at for wid in ids]
    # asked again, in another time zone: the same runs, none started again
    later = timezone(timedelta(hours=2))
    assert control.backfill_schedule("backfilled", start.astimezone(later), start + timedelta(minutes=5)) == ids
    assert [control.get_workflow(wid).finished_at for wid in ids] == finished
    assert runs_of(control, "backfilled") == sorted(ids)
    assert control.get_workflow(ids[2]).output[0] == (start + timedelta(minutes=2)).isoformat()


def test_only_the_latest_missed_tick_runs(define, make_engine, control, clock):
    define("missed")
    first = make_engine(clock=clock)
    tick = skip_to_next_tick(clock)
    wait_for(lambda: runs_of(control, "missed") == [tick_workflow_id("missed", tick)])
    first.shutdown()
    clock.advance(10 * 60)  # ten ticks pass while no worker runs
    latest = next_tick(EVERY_MINUTE, clock.now() - timedelta(minutes=1))
    make_engine(clock=clock)
    expected = sorted([tick_workflow_id("missed", tick), tick_workflow_id("missed", latest)])
    wait_for(lambda: runs_of(control, "missed") == expected)
    time.sleep(0.2)
    assert runs_of(control, "missed") == expected


def test_bad_cron_is_a_clear_error_at_decoration():
    with pytest.raises(InvalidInput, match="'61 \\* \\* \\* \\*' is not a valid cron expression"):
        scheduled("61 * * * *")
    with pytest.raises(InvalidInput, match="not a valid cron expression"):
        scheduled("every day")


def test_scheduled_needs_a_workflow():
    def plain(scheduled_at: datetime, actual_at: datetime) -> None: ...

    with pytest.raises(Exception, match="is not decorated with @workflow"):
        scheduled(EVERY_MINUTE)(plain)


def test_unknown_schedule_is_a_clear_error(control):
    for act in (control.pause_schedule, control.resume_schedule, control.trigger_schedule):
        with pytest.raises(ScheduleNotFound, match="no schedule named 'nope'"):
            act("nope")
    now = datetime.now(timezone.utc)
    with pytest.raises(ScheduleNotFound, match="no schedule named 'nope'"):
        control.backfill_schedule("nope", now, now + timedelta(minutes=1))


def test_backfill_checks_its_span(define, make_engine, control, clock):
    define("span")
    make_engine(clock=clock)
    now = datetime.now(timezone.utc)
    with pytest.raises(InvalidInput, match="time zone"):
        control.backfill_schedule("span", datetime(2026, 1, 1), now)
    with pytest.raises(InvalidInput, match="end must be after its start"):
        control.backfill_schedule("span", now, now)
    with pytest.raises(InvalidInput, match="more than 10000 ticks"):
        control.backfill_schedule("span", now - timedelta(days=30), now)


def test_two_workers_run_each_tick_once(database_url, schema, control, tmp_path: Path):
    workers = [Worker(database_url, schema, f"sched-{i}", tmp_path, module="tests.schedule_app") for i in range(2)]
    try:
        ticks = tmp_path / "ticks"
        wait_for(lambda: ticks.exists() and len(ticks.read_text().splitlines()) >= 2, timeout=6)  # two ticks
    finally:
        for worker in workers:
            worker.stop()
    lines = [line.split() for line in ticks.read_text().splitlines()]
    counts = Counter(scheduled_at for scheduled_at, _ in lines)
    assert counts and set(counts.values()) == {1}  # each tick ran exactly once
    runs = control.list_workflows(name="sa.tick", limit=100)
    assert len(runs) == len({r.workflow_id for r in runs}) >= len(counts)
    assert all(r.workflow_id.startswith("sched:every-second:") for r in runs)


@pytest.fixture
def plugin_nightly(define):
    define("plugin-nightly")  # before `durable_engine` launches, which records it


def test_the_pytest_plugin_clock_skips_to_the_next_tick(plugin_nightly, durable_engine, durable_clock):
    tick = skip_to_next_tick(durable_clock)  # a running virtual clock: the scheduler waits for it all the same
    wid = tick_workflow_id("plugin-nightly", tick)
    wait_for(lambda: [w.workflow_id for w in durable_engine.list_workflows(name="sc.plugin-nightly")] == [wid])
    assert durable_engine.retrieve_workflow(wid).result(timeout=5)[0] == tick.isoformat()
