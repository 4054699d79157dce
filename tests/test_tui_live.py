"""The list and the timeline as a person uses them, on live data: the cursor holds the chosen workflow
through arrivals, re-sorts and window moves; the throughput sparkline follows the feed's events; the
timeline's keys move over a long run's steps and open a child workflow in place."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Static

from engine import Control
from engine.errors import MaxAttemptsExceeded
from tests.tui_data import T0, broken, long_run, make_app, order, run, seed_timeline, settle, until
from tui.detail import DetailScreen
from tui.dialogs import ValueScreen
from tui.workflows import WorkflowsScreen


def highlighted(app) -> str:
    screen = app.screen
    assert isinstance(screen, WorkflowsScreen)
    return screen.page[screen.table.cursor_row].workflow_id


def listed(app) -> list[str]:
    return [r.workflow_id for r in app.screen.page]


def test_the_cursor_stays_on_the_chosen_workflow_when_rows_arrive_above(control: Control) -> None:
    for i in range(1, 6):
        control.enqueue_workflow("sel.flow", workflow_id=f"sel-{i}")

    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(100, 24)) as pilot:
            await settle(pilot)
            assert listed(app) == ["sel-5", "sel-4", "sel-3", "sel-2", "sel-1"]
            await pilot.press("down", "down")
            assert highlighted(app) == "sel-3"
            for i in range(1, 4):
                control.enqueue_workflow("sel.flow", workflow_id=f"new-{i}")
            await until(pilot, lambda: listed(app)[:1] == ["new-3"])
            assert highlighted(app) == "sel-3"
            await pilot.resize_terminal(80, 24)  # fewer columns, rebuilt: still the same workflow
            await until(pilot, lambda: [c.key for c in app.screen.columns] == ["id", "status", "step", "info"])
            assert highlighted(app) == "sel-3" and app.screen.table.cursor_row == 5
            await pilot.press("o")  # re-sorted by "recently changed": still the same workflow
            await until(pilot, lambda: app.screen.sort == "updated" and app.loads_in_flight == 0)
            assert highlighted(app) == "sel-3"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            assert app.screen.workflow_id == "sel-3"

    run(scenario)


def test_the_window_scrolls_to_keep_the_chosen_workflow_and_g_follows_the_newest(control: Control) -> None:
    for i in range(1, 13):
        control.enqueue_workflow("sel.flow", workflow_id=f"sel-{i}")

    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(100, 14)) as pilot:
            await settle(pilot)
            screen = app.screen
            size = screen.table.page_size
            assert size < 12
            await pilot.press(*["down"] * (size - 1))  # the last row on screen
            chosen = highlighted(app)
            for i in range(1, 4):
                control.enqueue_workflow("sel.flow", workflow_id=f"new-{i}")
            await until(pilot, lambda: screen.total == 15 and app.loads_in_flight == 0)
            await until(pilot, lambda: screen.table.window_offset == 3)
            assert highlighted(app) == chosen, "the window moved down, the cursor stayed on its workflow"
            await pilot.press("g")
            await until(pilot, lambda: screen.table.window_offset == 0 and app.loads_in_flight == 0)
            assert highlighted(app) == "new-3" and screen.held is None
            control.enqueue_workflow("sel.flow", workflow_id="new-4")
            await until(pilot, lambda: listed(app)[:1] == ["new-4"])
            assert highlighted(app) == "new-4", "nothing chosen: the cursor stays on the newest"

    run(scenario)


def test_the_sparkline_counts_finished_and_failed_workflows_from_events(control: Control, make_engine) -> None:
    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(120, 24)) as pilot:
            await settle(pilot)
            spark = app.screen.query_one("#throughput", Static)
            assert "0.0/s" in str(spark.content)
            eng = make_engine("exec-spark")
            for i in range(3):
                await asyncio.to_thread(eng.run_workflow, order, f"S-{i}", 1, workflow_id=f"spark-{i}")
            with pytest.raises(MaxAttemptsExceeded):
                await asyncio.to_thread(eng.run_workflow, broken, "S-9", workflow_id="spark-9")
            await until(pilot, lambda: sum(app.throughput.finished.values()) == 3)
            await until(pilot, lambda: sum(app.throughput.failed.values()) == 1)
            # drawn once a second from the last whole seconds: 3 and 1 over 5 s
            await until(pilot, lambda: str(spark.content).splitlines()[0].endswith("0.6/s"), timeout=3)
            await until(pilot, lambda: str(spark.content).splitlines()[1].endswith("0.2/s"), timeout=3)
            assert any(block in str(spark.content) for block in "▂▃▄▅▆▇█")
            assert app.events_seen > 0

    run(scenario)


def test_timeline_keys_move_over_a_hundred_steps(control: Control, make_engine) -> None:
    eng = make_engine("exec-long")
    eng.run_workflow(long_run, 100, workflow_id="long-1")

    async def scenario() -> None:
        app = make_app(control, clock=None)
        async with app.run_test(size=(100, 24)) as pilot:
            await settle(pilot)
            app.open_workflow("long-1")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
            timeline = app.screen.timeline
            assert len(timeline.lanes) == 100 and timeline.cursor == 0
            await pilot.press("down", "down")
            assert timeline.selected.step.step_id == 3
            assert "step 3 snap.tick" in str(app.screen.query_one("#step-detail", Static).content)
            await pilot.press("end")
            assert timeline.selected.step.step_id == 100
            assert timeline.top == 100 - timeline.rows, "scrolled so that the last step is on screen"
            await pilot.press("pageup")
            assert timeline.selected.step.step_id == 100 - timeline.rows
            await pilot.press("home")
            assert timeline.cursor == 0 and timeline.top == 0
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ValueScreen))

    run(scenario)


def test_timeline_opens_a_child_in_place(database_url: str, schema: str, control: Control) -> None:
    seed_timeline(database_url, schema)

    async def scenario() -> None:
        app = make_app(control, clock=lambda: T0)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            app.open_workflow("trip-1")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
            timeline = app.screen.timeline
            assert "retry 2/5 in 3.4s" in timeline.line_text(4)
            await pilot.press("down", "down")
            assert timeline.selected.child == "trip-1-3"
            await pilot.press("right")
            await until(pilot, lambda: len(timeline.lanes) == 7)
            assert [lane.key for lane in timeline.lanes[2:5]] == ["trip-1:3", "trip-1-3:1", "trip-1-3:2"]
            await pilot.press("down")
            assert timeline.selected.workflow_id == "trip-1-3"
            assert "of trip-1-3" in str(app.screen.query_one("#step-detail", Static).content)
            await pilot.press("left")  # on a child's step: the child closes, the cursor back on its lane
            await until(pilot, lambda: len(timeline.lanes) == 5)
            assert timeline.selected.key == "trip-1:3"

    run(scenario)
