"""The Queues screen and the waits of queued workflows, as a person sees them: each queue's figures
against its limits, `enter` listing that queue's workflows, and a delayed workflow counting down to its
start with the dashboard's (injected) clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from engine import Control
from engine.store.queues import QueueDefinition
from tests.tui_data import T0, make_app, run, seed_queues, serve_queues, settle, until
from tui.queues import QueuesScreen
from tui.workflows import WorkflowsScreen


def cell_texts(screen: QueuesScreen, queue: str) -> list[str]:
    return [str(cell) for cell in screen.table.get_row(queue)]


def test_the_queues_screen_shows_each_queue_against_its_limits_and_enter_lists_its_workflows(
    database_url: str, schema: str, control: Control
) -> None:
    seed_queues(control, database_url, schema)
    control.enqueue_workflow("snap.order", "solo", 1, workflow_id="solo")  # in no queue

    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(120, 24)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, QueuesScreen) and app.screen.table.row_count == 2)
            screen = app.screen
            assert isinstance(screen, QueuesScreen)
            emails = cell_texts(screen, "emails")
            assert emails[:6] == ["emails", "2/2", "1", "no limit", "3", "42s"]
            assert sum(screen.records[0].starts) == 2 and emails[6].count("█") == 2
            reports = cell_texts(screen, "reports")
            assert reports[:6] == ["reports", "0", "-", "0/10 per 60s", "0", ""]
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, WorkflowsScreen) and app.loads_in_flight == 0)
            listing = app.screen
            assert isinstance(listing, WorkflowsScreen)
            await until(pilot, lambda: len(listing.page) == 5)
            assert listing.filters.queue == "emails" and "queue=emails" in listing.filters.describe()
            assert sorted(r.workflow_id for r in listing.page) == [f"mail-{i}" for i in range(1, 6)]
            assert {str(listing.shown(f"mail-{i}", "info")) for i in (3, 4, 5)} == {"queue emails full (2/2)"}

    run(scenario)


def test_the_oldest_waiting_age_ticks_with_the_clock(database_url: str, schema: str, control: Control) -> None:
    seed_queues(control, database_url, schema)
    now = [T0]

    async def scenario() -> None:
        app = make_app(control, clock=lambda: now[0])
        async with app.run_test(size=(120, 24)) as pilot:
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, QueuesScreen) and app.screen.table.row_count == 2)
            screen = app.screen
            assert isinstance(screen, QueuesScreen)
            assert str(screen.table.get_cell("emails", "oldest")) == "42s"
            now[0] = T0 + timedelta(seconds=10)
            await until(pilot, lambda: str(screen.table.get_cell("emails", "oldest")) == "52s")

    run(scenario)


def queue_later(control: Control, database_url: str, schema: str) -> None:
    """Workflow `later` in queue `emails`, due 12.3 s after T0."""
    control.enqueue_workflow("snap.order", "later", 1, workflow_id="later", queue="emails", delay_seconds=60)
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(
            f"UPDATE {schema}.workflows SET not_before = %s WHERE workflow_id = 'later'",
            (T0 + timedelta(seconds=12.3),),
        )


def later_info(screen: WorkflowsScreen) -> str:
    return str(screen.shown("later", "info"))


def test_a_delayed_workflow_says_when_it_starts_and_counts_down_with_the_clock(
    database_url: str, schema: str, control: Control
) -> None:
    seed_queues(control, database_url, schema)
    queue_later(control, database_url, schema)
    now: list[datetime] = [T0]

    async def scenario() -> None:
        app = make_app(control, clock=lambda: now[0])
        async with app.run_test(size=(120, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)

            await until(pilot, lambda: later_info(screen) == "starts in 12.3s")
            now[0] = T0 + timedelta(seconds=2)  # one tick later, no new read: computed from the stored time
            await until(pilot, lambda: later_info(screen) == "starts in 10.3s")
            now[0] = T0 + timedelta(seconds=13)
            await until(pilot, lambda: later_info(screen) == "due now")

    run(scenario)


def test_a_workflow_held_by_a_rate_limit_counts_down_to_the_next_slot(
    database_url: str, schema: str, control: Control
) -> None:
    control._store.queues.record_definitions([QueueDefinition("sms", rate_limit=2, rate_period=10.0)])
    serve_queues(database_url, schema, "sms")
    for i in range(1, 4):
        control.enqueue_workflow("snap.order", f"sms-{i}", i, workflow_id=f"sms-{i}", queue="sms")
    reason = "queue sms: rate limit of 2 per 10 s reached"
    with psycopg.connect(database_url, autocommit=True) as c:  # two started 7.9 s and 3 s before T0
        for wid, ago in (("sms-1", 7.9), ("sms-2", 3.0)):
            c.execute(
                f"UPDATE {schema}.workflows SET status = 'SUCCESS', dequeued_at = %s WHERE workflow_id = %s",
                (T0 - timedelta(seconds=ago), wid),
            )
        c.execute(f"UPDATE {schema}.workflows SET wait_reason = %s WHERE workflow_id = 'sms-3'", (reason,))
    now: list[datetime] = [T0]

    async def scenario() -> None:
        app = make_app(control, clock=lambda: now[0])
        async with app.run_test(size=(200, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)

            def info() -> str:
                return str(screen.shown("sms-3", "info"))

            await until(pilot, lambda: info() == "rate limit: next slot in 2.1s")
            now[0] = T0 + timedelta(seconds=1)
            await until(pilot, lambda: info() == "rate limit: next slot in 1.1s")
            now[0] = T0 + timedelta(seconds=3)  # the slot opened: the stored reason until a worker claims
            await until(pilot, lambda: info() == reason)

    run(scenario)


def test_a_workflow_in_a_queue_no_live_worker_serves_says_so_until_one_does(
    database_url: str, schema: str, control: Control
) -> None:
    control._store.queues.record_definitions([QueueDefinition("emails", concurrency=2)])
    queue_later(control, database_url, schema)

    async def scenario() -> None:
        app = make_app(control, clock=lambda: T0)
        async with app.run_test(size=(120, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)

            await until(pilot, lambda: later_info(screen) == "no worker serves queue emails")  # outranks its countdown
            serve_queues(database_url, schema, "emails")  # a worker that defines the queue appears
            await until(pilot, lambda: later_info(screen) == "starts in 12.3s")

    run(scenario)
