"""The Queues screen and the waits of queued workflows, as a person sees them: each queue's figures
against its limits, `enter` listing that queue's workflows, and a delayed workflow counting down to its
start with the dashboard's (injected) clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from engine import Control
from tests.tui_data import T0, make_app, run, seed_queues, settle, until
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
            assert sum(screen.queues[0].starts) == 2 and emails[6].count("█") == 2
            reports = cell_texts(screen, "reports")
            assert reports[:6] == ["reports", "0", "-", "0/10 per 60s", "0", ""]
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, WorkflowsScreen) and app.loads_in_flight == 0)
            listing = app.screen
            assert isinstance(listing, WorkflowsScreen)
            await until(pilot, lambda: len(listing.page) == 5)
            assert listing.filters.queue == "emails" and "queue=emails" in listing.filters.describe()
            assert sorted(r.workflow_id for r in listing.page) == [f"mail-{i}" for i in range(1, 6)]
            assert {str(listing.table.get_cell(f"mail-{i}", "info")) for i in (3, 4, 5)} == {"queue emails full (2/2)"}

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


def test_a_delayed_workflow_says_when_it_starts_and_counts_down_with_the_clock(
    database_url: str, schema: str, control: Control
) -> None:
    seed_queues(control, database_url, schema)
    control.enqueue_workflow("snap.order", "later", 1, workflow_id="later", queue="emails", delay_seconds=60)
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(
            f"UPDATE {schema}.workflows SET not_before = %s WHERE workflow_id = 'later'",
            (T0 + timedelta(seconds=12.3),),
        )
    now: list[datetime] = [T0]

    async def scenario() -> None:
        app = make_app(control, clock=lambda: now[0])
        async with app.run_test(size=(120, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)

            def info() -> str:
                return str(screen.table.get_cell("later", "info"))

            await until(pilot, lambda: info() == "starts in 12.3s")
            now[0] = T0 + timedelta(seconds=2)  # one tick later, no new read: computed from the stored time
            await until(pilot, lambda: info() == "starts in 10.3s")
            now[0] = T0 + timedelta(seconds=13)
            await until(pilot, lambda: info() == "due now")

    run(scenario)
