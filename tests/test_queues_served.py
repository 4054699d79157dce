"""A queued workflow that no live worker serves says so (`no worker serves queue X`), and stops saying it as
soon as a live worker defines the queue: the reason is read live from the executors' recorded queues."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.queues import QUEUES, Queue
from engine.store.queues import QueueDefinition
from tests import queue_app
from tests.helpers import wait_for


@pytest.fixture
def runs_dir(tmp_path: Path):
    queue_app.DIR = tmp_path
    yield tmp_path
    (tmp_path / "hold").unlink(missing_ok=True)


def _reason(control, wid: str) -> str | None:
    return control.get_workflow(wid).wait_reason


def test_a_queue_defined_nowhere_live_says_so_until_a_worker_defines_it(make_engine, control, runs_dir, capsys):
    from tui.cli import main

    control._store.queues.record_definitions([QueueDefinition("q.unserved")])  # as a worker now gone recorded it
    wid = control.enqueue_workflow("qa.record", 0.0, "late", queue="q.unserved")
    reason = "no worker serves queue q.unserved"
    assert _reason(control, wid) == reason
    [row] = control.summaries(queue="q.unserved")
    assert row.queue_unserved and row.wait_reason == reason
    assert main(["workflows", "show", wid, "--database-url", control.database_url, "--schema", control.schema]) == 0
    assert f"waiting    {reason}" in capsys.readouterr().out

    engine = make_engine()  # registers qa.record, but serves only the queues this process defines
    assert "qa.record" in engine.workflow_names and "q.unserved" not in engine.recorded_queues
    assert _reason(control, wid) == reason and control.get_workflow(wid).status == "ENQUEUED"
    try:
        Queue("q.unserved")  # defined after launch: recorded at the next beat, and served from then on
        wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    finally:
        QUEUES.pop("q.unserved", None)
    assert _reason(control, wid) is None


def test_the_reason_becomes_the_queue_limit_once_served_and_comes_back_when_the_worker_stops(
    make_engine, control, runs_dir
):
    (runs_dir / "hold").touch()
    control._store.queues.record_definitions([queue_app.FIFO.definition])  # by a worker now gone
    first, second = (control.enqueue_workflow("qa.record", 0.0, queue="q.fifo") for _ in range(2))
    assert _reason(control, first) == _reason(control, second) == "no worker serves queue q.fifo"
    engine = make_engine()
    wait_for(lambda: control.get_workflow(first).status == "PENDING")
    wait_for(lambda: _reason(control, second) == "queue q.fifo full (1/1)")
    (runs_dir / "hold").unlink()
    wait_for(lambda: control.get_workflow(second).status == "SUCCESS")
    engine.shutdown()  # a clean stop: no longer live at once, no lease to wait out
    third = control.enqueue_workflow("qa.record", 0.0, queue="q.fifo")
    assert _reason(control, third) == "no worker serves queue q.fifo"
    assert [w.wait_reason for w in control.list_workflows(status="ENQUEUED")] == ["no worker serves queue q.fifo"]
