"""Queues (issue 10) with real worker processes: every limit measured from what the workflows recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import queue_app
from tests.helpers import Worker, wait_for


@pytest.fixture
def queue_workers(database_url: str, schema: str, tmp_path: Path):
    """Start `tests.queue_app` workers (stopped at the end); they record their runs in tmp_path."""
    started: list[Worker] = []
    queue_app.DIR = tmp_path

    def start(executor_id: str) -> Worker:
        worker = Worker(database_url, schema, executor_id, tmp_path, module="tests.queue_app")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _all_done(control, ids: list[str]):
    return lambda: all(control.get_workflow(wid).status == "SUCCESS" for wid in ids)


def _finished(control, count: int):
    return lambda: control.status_counts().get("SUCCESS", 0) >= count


def test_concurrency_holds_across_four_workers_claiming_at_once(queue_workers, control):
    for i in range(4):
        queue_workers(f"conc-{i}")
    for _ in range(300):
        control.enqueue_workflow("qa.record", 0.005, queue="q.concurrent")
    wait_for(_finished(control, 300), timeout=30)
    runs = queue_app.times()
    assert len(runs) == 300
    assert queue_app.most_at_once(runs) == 5  # never more, and the limit was actually reached
