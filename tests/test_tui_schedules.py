"""The Schedules screen (key 5) as a person sees it: each schedule's cron, state, next tick counting down with
the dashboard's (injected) clock, last tick and last run; `p`/`r`/`t` pause, resume and trigger through
Control; `enter` opens the last run. Plus its snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from textual.pilot import Pilot
from textual.widgets import Static

from engine import Control
from engine.store.schedules import ScheduleDefinition
from tests.tui_data import T0, make_app, run, settle, until
from tui.detail import DetailScreen
from tui.schedules import SchedulesScreen

SIZE = (110, 16)
LAST_RUN = "sched:nightly-report:2026-11-26T02:00:00+00:00"


def seed_schedules(control: Control, database_url: str, schema: str) -> None:
    """Two schedules as workers record them: `nightly-report` (02:00 daily) ran at its last tick, 10 hours
    before T0, with success; `every-5-min` is paused and never ran. Times are pinned."""
    control._store.schedules.record(
        [
            ScheduleDefinition("nightly-report", "demo.nightly_report", "0 2 * * *"),
            ScheduleDefinition("every-5-min", "demo.cleanup", "*/5 * * * *"),
        ],
        T0 - timedelta(days=3),
    )
    control.enqueue_workflow("demo.nightly_report", workflow_id=LAST_RUN)
    control.pause_schedule("every-5-min")
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(f"UPDATE {schema}.workflows SET status = 'SUCCESS' WHERE workflow_id = %s", (LAST_RUN,))
        c.execute(
            f"UPDATE {schema}.schedules SET last_tick_at = %s, last_workflow_id = %s WHERE name = 'nightly-report'",
            (T0 - timedelta(hours=10), LAST_RUN),
        )


async def open_schedules(pilot: Pilot) -> SchedulesScreen:
    """Key 5, once the seeded schedules are listed."""
    await settle(pilot)
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, SchedulesScreen) and pilot.app.screen.table.row_count == 2)
    screen = pilot.app.screen
    assert isinstance(screen, SchedulesScreen)
    return screen


def cells(screen: SchedulesScreen, name: str) -> list[str]:
    return [str(cell) for cell in screen.table.get_row(name)]


def test_the_schedules_screen_counts_down_and_drives_schedules(
    database_url: str, schema: str, control: Control
) -> None:
    seed_schedules(control, database_url, schema)
    now: list[datetime] = [T0]

    async def scenario() -> None:
        app = make_app(control, clock=lambda: now[0])
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_schedules(pilot)
            assert cells(screen, "nightly-report") == [
                "nightly-report", "0 2 * * *", "running", "in 14h00m (11-27 02:00)", "02:00:00", "SUCCESS",
                LAST_RUN,
            ]  # fmt: skip
            assert cells(screen, "every-5-min") == [
                "every-5-min", "*/5 * * * *", "paused", "paused", "-", "never", "",
            ]  # fmt: skip
            # the countdown ticks with the clock, and rolls over to the following tick with no query
            screen.table.move_cursor(row=0)
            control.resume_schedule("every-5-min")
            await until(pilot, lambda: cells(screen, "every-5-min")[2] == "running")  # a schedule event re-read it
            now[0] = T0 + timedelta(seconds=12.5)
            await until(pilot, lambda: cells(screen, "every-5-min")[3] == "in 4m47s (12:05:00)")
            now[0] = T0 + timedelta(minutes=5, seconds=1)
            await until(pilot, lambda: cells(screen, "every-5-min")[3] == "in 4m59s (12:10:00)")
            # p pauses the selected schedule, r resumes it, t starts a run now (no worker: it stays queued)
            await pilot.press("p")
            await until(pilot, lambda: [s.paused for s in control.list_schedules()] == [True, False])
            await until(pilot, lambda: cells(screen, "every-5-min")[2] == "paused")
            await pilot.press("r")
            await until(pilot, lambda: not any(s.paused for s in control.list_schedules()))
            await pilot.press("t")
            await until(pilot, lambda: cells(screen, "every-5-min")[5] == "ENQUEUED")
            assert cells(screen, "every-5-min")[6].startswith("sched:every-5-min:")
            # enter opens the last run
            screen.table.move_cursor(row=1)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            assert app.screen.workflow_id == LAST_RUN

    run(scenario)


def test_read_only_has_no_schedule_actions(database_url: str, schema: str, control: Control) -> None:
    seed_schedules(control, database_url, schema)

    async def scenario() -> None:
        app = make_app(control, read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_schedules(pilot)
            for action in ("pause_schedule", "resume_schedule", "trigger_schedule"):
                assert not screen.check_action(action, ())
            await pilot.press("t")
            await pilot.pause(0.2)
            assert control.list_workflows(name="demo.cleanup") == []

    run(scenario)


def test_schedules_snapshot(snap_compare, database_url: str, schema: str, control: Control) -> None:
    seed_schedules(control, database_url, schema)

    async def schedules(pilot) -> None:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)

    assert snap_compare(make_app(control), terminal_size=(150, 12), run_before=schedules)


def test_the_detail_screen_counts_down_to_the_deadline_and_shows_the_timeout(
    database_url: str, schema: str, control: Control
) -> None:
    control.enqueue_workflow("demo.long_job", workflow_id="bounded", timeout_seconds=60)
    control.enqueue_workflow("demo.long_job", workflow_id="timed-out", timeout_seconds=0.3)
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(
            f"UPDATE {schema}.workflows SET status = 'PENDING', deadline_at = clock_timestamp() - interval '1 second'"
            " WHERE workflow_id = 'timed-out'"
        )
        control._store.deadlines.time_out(None)  # as a worker's heartbeat does
        c.execute(
            f"UPDATE {schema}.workflows SET status = 'PENDING', started_at = %s, deadline_at = %s"
            " WHERE workflow_id = 'bounded'",
            (T0 - timedelta(seconds=5), T0 + timedelta(seconds=12.3)),
        )
    now: list[datetime] = [T0]

    async def scenario() -> None:
        app = make_app(control, clock=lambda: now[0])
        async with app.run_test(size=(120, 24)) as pilot:
            await settle(pilot)

            def summary() -> str:
                found = app.screen.query("#summary")
                return str(found.first(Static).render()) if found else ""

            app.open_workflow("bounded")
            await until(pilot, lambda: "times out in 12.3s" in summary())
            now[0] = T0 + timedelta(seconds=2)
            await until(pilot, lambda: "times out in 10.3s" in summary())
            await pilot.press("escape")
            app.open_workflow("timed-out")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and "CANCELLED" in summary())
            assert "error: WorkflowTimedOut: timed out after 0.3s" in summary() and "times out" not in summary()

    run(scenario)
