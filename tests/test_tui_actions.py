"""Every dashboard action, driven by keys against a real database and a real worker subprocess.

Press the key, confirm, then see both the engine state change and the screen follow (pushed by the
feed, never polled).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static, TextArea

from engine import Control
from engine.states import WorkflowStatus
from tests.helpers import wait_for
from tests.tui_data import WorkerProcess, make_app, run, settle, until
from tui.detail import DetailScreen
from tui.dialogs import ConfirmScreen, FaultForm
from tui.faults import FaultsScreen
from tui.fork_form import ForkForm
from tui.workers import WorkersScreen
from tui.workflows import WorkflowsScreen

SIZE = (150, 40)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def worker(database_url: str, schema: str, control: Control, workdir: Path) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(database_url, schema, "exec-a", workdir)
    yield proc
    (workdir / "hold").unlink(missing_ok=True)
    proc.stop()


def status(control: Control, wid: str) -> str:
    return control.get_workflow(wid).status


def cell(app, wid: str, column: str = "status") -> str:
    screen = app.screen
    assert isinstance(screen, WorkflowsScreen)
    value = screen.shown(wid, column)
    return "" if value is None else getattr(value, "plain", str(value))


def select(app, wid: str) -> None:
    screen = app.screen
    index = [r.workflow_id for r in screen.page].index(wid)
    screen.table.move_cursor(row=index, animate=False)


def notified(app, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


def dash(control: Control, **kwargs):
    kwargs.setdefault("clock", None)
    return make_app(control, **kwargs)


def test_cancel_then_resume(control: Control, worker: WorkerProcess, workdir: Path) -> None:
    (workdir / "hold").touch()
    control.enqueue_workflow("tui.held", 1, workflow_id="held-1")

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: cell(app, "held-1") == WorkflowStatus.PENDING)
            select(app, "held-1")
            await pilot.press("k")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert app.screen.targets == ["held-1"]
            await pilot.press("y")
            await until(pilot, lambda: status(control, "held-1") == WorkflowStatus.CANCELLED)
            await until(pilot, lambda: cell(app, "held-1") == WorkflowStatus.CANCELLED)
            assert notified(app, "cancelled held-1")
            (workdir / "hold").unlink()
            await until(pilot, lambda: control.get_workflow("held-1").steps[0].status == WorkflowStatus.SUCCESS)
            await pilot.pause(0.2)
            select(app, "held-1")
            await pilot.press("r")
            await until(pilot, lambda: status(control, "held-1") == WorkflowStatus.SUCCESS)
            await until(pilot, lambda: cell(app, "held-1") == WorkflowStatus.SUCCESS)

    run(scenario)


def test_recover_workflow_of_dead_worker(database_url: str, schema: str, control: Control, workdir: Path) -> None:
    (workdir / "hold").touch()
    first = WorkerProcess(database_url, schema, "exec-first", workdir, auto_recover=False)
    control.enqueue_workflow("tui.held", 2, workflow_id="held-2")
    try:
        until_sync(lambda: status(control, "held-2") == WorkflowStatus.PENDING)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        second = WorkerProcess(database_url, schema, "exec-second", workdir, auto_recover=False)

        async def scenario() -> None:
            app = dash(control)
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                await until(
                    pilot, lambda: not next(w for w in control.workers() if w.executor_id == "exec-first").alive
                )
                await until(pilot, lambda: cell(app, "held-2", "info") == "worker dead: r recovers")
                select(app, "held-2")
                await pilot.press("r")
                await until(pilot, lambda: control.get_workflow("held-2").executor_id == "exec-second")
                (workdir / "hold").unlink()
                await until(pilot, lambda: status(control, "held-2") == WorkflowStatus.SUCCESS)
                await until(pilot, lambda: cell(app, "held-2") == WorkflowStatus.SUCCESS)
                assert cell(app, "held-2", "executor") == "exec-second"
                assert notified(app, "recovering held-2")

        run(scenario)
        second.stop()
    finally:
        first.stop()


def until_sync(predicate, timeout: float = 10.0) -> None:
    wait_for(predicate, timeout)


def test_retry_now_from_detail_with_live_countdown(control: Control, worker: WorkerProcess, workdir: Path) -> None:
    (workdir / "broken").touch()
    control.enqueue_workflow("tui.retry", 3, workflow_id="retry-3")

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: "retry 2/5 in" in cell(app, "retry-3", "info"))
            select(app, "retry-3")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
            timeline = app.screen.timeline
            first = timeline.line_text(0)
            assert "retry 2/5 in 9m" in first, first
            await until(pilot, lambda: timeline.line_text(0) != first, timeout=3)
            detail = str(app.screen.query_one("#step-detail", Static).render())
            assert "limits: 5 attempts · 600s ×1" in detail and "RuntimeError: card declined" in detail
            (workdir / "broken").unlink()
            await pilot.press("n")
            await until(pilot, lambda: status(control, "retry-3") == WorkflowStatus.SUCCESS)
            await until(pilot, lambda: app.screen.record.status == WorkflowStatus.SUCCESS)
            await until(pilot, lambda: timeline.lanes[0].step.status == WorkflowStatus.SUCCESS)
            assert " ok " in timeline.line_text(0)

    run(scenario)


def test_fork_from_start_and_from_step(control: Control, worker: WorkerProcess) -> None:
    control.enqueue_workflow("tui.chain", 4, workflow_id="chain-4")

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: cell(app, "chain-4") == WorkflowStatus.SUCCESS)
            select(app, "chain-4")
            await pilot.press("f")
            await until(pilot, lambda: control.get_workflow("chain-4").forks)
            fork = control.get_workflow("chain-4").forks[0]
            await until(pilot, lambda: showing(app, fork))
            assert notified(app, f"as {fork}")
            await until(pilot, lambda: app.screen.record.status == WorkflowStatus.SUCCESS)
            await pilot.press("escape")
            await until(pilot, lambda: cell(app, fork) == WorkflowStatus.SUCCESS)
            select(app, "chain-4")
            await pilot.press("enter")
            await until(pilot, lambda: showing(app, "chain-4"))
            app.screen.timeline.move_to(1)
            await pilot.press("F")  # the inputs open for editing first; unchanged, the fork keeps them
            await until(pilot, lambda: isinstance(app.screen, ForkForm))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: len(control.get_workflow("chain-4").forks) == 2)
            second = [f for f in control.get_workflow("chain-4").forks if f != fork][0]
            record = control.get_workflow(second)
            assert record.forked_from_step == 2
            await until(pilot, lambda: showing(app, second))
            assert notified(app, f"from step 2 as {second}")
            await until(pilot, lambda: app.screen.record.status == WorkflowStatus.SUCCESS)
            assert control.get_workflow(second).output == 7
            await pilot.press("escape")
            await until(pilot, lambda: showing(app, "chain-4"))
            app.screen.timeline.move_to(0)
            await pilot.press("F")
            await until(pilot, lambda: isinstance(app.screen, ForkForm))
            app.screen.query_one("#inputs", TextArea).text = "{not json"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "not JSON" in str(app.screen.query_one("#form-error", Static).render()))
            app.screen.query_one("#inputs", TextArea).text = '{"args": [10]}'
            await pilot.press("ctrl+s")
            await until(pilot, lambda: len(control.get_workflow("chain-4").forks) == 3)
            third = [f for f in control.get_workflow("chain-4").forks if f not in (fork, second)][0]
            await until(pilot, lambda: showing(app, third))
            assert control.get_workflow(third).inputs == {"args": [10], "kwargs": {}}
            await until(pilot, lambda: "fork changed: inputs" in str(app.screen.query_one("#summary", Static).render()))

    run(scenario)


def showing(app, wid: str) -> bool:
    """The detail screen of `wid` is on top, with its data loaded."""
    screen = app.screen
    return isinstance(screen, DetailScreen) and screen.workflow_id == wid and screen.record is not None


def test_refusal_after_a_race_shows_the_engine_reason(control: Control, worker: WorkerProcess, workdir: Path) -> None:
    """Cancel confirmed after someone else cancelled the workflow: the engine refuses, the reason shows."""
    (workdir / "hold").touch()
    control.enqueue_workflow("tui.held", 8, workflow_id="held-8")

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: cell(app, "held-8") == WorkflowStatus.PENDING)
            select(app, "held-8")
            await until(pilot, lambda: app.screen.check_action("cancel", ()) is True)
            await pilot.press("k")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            control.cancel("held-8")
            await pilot.press("y")
            await until(pilot, lambda: notified(app, "only PENDING or ENQUEUED can be cancelled"))
            await until(pilot, lambda: cell(app, "held-8") == WorkflowStatus.CANCELLED)
            assert app.screen.check_action("cancel", ()) is None

    run(scenario)


def test_delete_while_cancel_is_greyed(control: Control, worker: WorkerProcess) -> None:
    control.enqueue_workflow("tui.chain", 5, workflow_id="chain-5")

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: cell(app, "chain-5") == WorkflowStatus.SUCCESS)
            select(app, "chain-5")
            await until(pilot, lambda: app.screen.check_action("cancel", ()) is None)
            await pilot.press("k")
            await pilot.pause(0.05)
            assert isinstance(app.screen, WorkflowsScreen) and status(control, "chain-5") == WorkflowStatus.SUCCESS
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: not control.list_workflows())
            await until(pilot, lambda: "chain-5" not in [r.workflow_id for r in app.screen.page])

    run(scenario)


def test_inject_and_clear_fault(control: Control, worker: WorkerProcess) -> None:
    control.enqueue_workflow("tui.chain", 6, workflow_id="chain-6")

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: cell(app, "chain-6") == WorkflowStatus.SUCCESS)
            app.open_workflow("chain-6")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, FaultForm))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: control.faults())
            fault = control.faults()[0]
            assert (fault.kind, fault.step_name, fault.workflow_id, fault.remaining) == (
                "fail",
                "tui.add",
                "chain-6",
                1,
            )
            await pilot.press("escape", "3")
            await until(pilot, lambda: isinstance(app.screen, FaultsScreen) and app.screen.records)
            await pilot.press("c")
            await until(pilot, lambda: not control.faults())
            await until(pilot, lambda: not app.screen.records)

    run(scenario)


def test_crash_worker(control: Control, worker: WorkerProcess) -> None:
    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, WorkersScreen) and app.screen.records)
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "exec-a" in app.screen.targets[0]
            await pilot.press("y")
            await until(pilot, lambda: worker.proc.poll() is not None)
            assert worker.proc.returncode == -signal.SIGKILL
            await until(pilot, lambda: app.screen.table.get_cell("exec-a", "state").plain == "DEAD")

    run(scenario)


def test_bulk_cancel_hits_only_what_the_dialog_showed(control: Control, worker: WorkerProcess, workdir: Path) -> None:
    (workdir / "hold").touch()
    for i in range(3):
        control.enqueue_workflow("tui.held", i, workflow_id=f"bulk-{i}")

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: all(cell(app, f"bulk-{i}") == WorkflowStatus.PENDING for i in range(3)))
            await pilot.press("K")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert sorted(app.screen.targets) == ["bulk-0", "bulk-1", "bulk-2"]
            control.enqueue_workflow("tui.held", 9, workflow_id="late-9")
            await until(pilot, lambda: status(control, "late-9") == WorkflowStatus.PENDING)
            await pilot.press("y")
            await until(pilot, lambda: all(status(control, f"bulk-{i}") == WorkflowStatus.CANCELLED for i in range(3)))
            assert status(control, "late-9") == WorkflowStatus.PENDING
            await until(pilot, lambda: cell(app, "bulk-2") == WorkflowStatus.CANCELLED)
            (workdir / "hold").unlink()
            await until(pilot, lambda: status(control, "late-9") == WorkflowStatus.SUCCESS)
            await pilot.press("D")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert len(app.screen.targets) == 4
            await pilot.press("y")
            await until(pilot, lambda: not control.list_workflows())
            await until(pilot, lambda: sum(app.screen.counts.values()) == 0)

    run(scenario)


def test_bulk_resume(control: Control, worker: WorkerProcess, workdir: Path) -> None:
    (workdir / "hold").touch()
    for i in range(2):
        control.enqueue_workflow("tui.held", i, workflow_id=f"res-{i}")
    until_sync(lambda: all(status(control, f"res-{i}") == WorkflowStatus.PENDING for i in range(2)))
    control.cancel_ids(["res-0", "res-1"])
    (workdir / "hold").unlink()
    until_sync(lambda: control.workers()[0].in_flight == 0)

    async def scenario() -> None:
        app = dash(control)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("R")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert sorted(app.screen.targets) == ["res-0", "res-1"]
            await pilot.press("y")
            await until(pilot, lambda: all(status(control, f"res-{i}") == WorkflowStatus.SUCCESS for i in range(2)))
            await until(pilot, lambda: cell(app, "res-1") == WorkflowStatus.SUCCESS)

    run(scenario)


def test_read_only_hides_every_action(control: Control, worker: WorkerProcess) -> None:
    control.enqueue_workflow("tui.chain", 7, workflow_id="chain-7")

    async def scenario() -> None:
        app = dash(control, read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: cell(app, "chain-7") == WorkflowStatus.SUCCESS)
            select(app, "chain-7")
            keys = {b.binding.key for b in app.screen.active_bindings.values() if b.enabled}
            assert "d" not in keys and "k" not in keys
            for key in ("k", "d", "f", "D"):
                await pilot.press(key)
                await pilot.pause(0.05)
                assert isinstance(app.screen, WorkflowsScreen)
            commands = {c.help for c in app.get_system_commands(app.screen)}
            assert "key k" not in commands and "key D" not in commands and "key enter" in commands
            assert status(control, "chain-7") == WorkflowStatus.SUCCESS and not control.get_workflow("chain-7").forks

    run(scenario)
