"""Queues (issue 10) with real worker processes: every limit measured from what the workflows recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import InvalidInput
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
        control.enqueue_workflow("qa.record", 0.02, queue="q.concurrent")
    wait_for(_finished(control, 300), timeout=40)
    runs = queue_app.times()
    assert len(runs) == 300
    most = queue_app.most_at_once(runs)
    assert most <= 5, most  # never more than the queue's concurrency
    assert most >= 4, most  # and it was (nearly: a loaded machine may lag a claim) reached


def test_worker_concurrency_holds_in_each_worker(queue_workers, control):
    for i in range(2):
        queue_workers(f"per-worker-{i}")
    for _ in range(40):
        control.enqueue_workflow("qa.record", 0.01, queue="q.per_worker")
    wait_for(_finished(control, 40), timeout=20)
    per_process = queue_app.times_by_process()
    assert sum(len(runs) for runs in per_process) == 40
    most = [queue_app.most_at_once(runs) for runs in per_process]
    assert max(most) == 2 and len(most) == 2, most  # never more than 2 in one worker, and reached


def test_limiter_never_starts_more_than_its_limit_in_any_period(queue_workers, control):
    for i in range(2):
        queue_workers(f"limited-{i}")
    ids = [control.enqueue_workflow("qa.record", 0.0, queue="q.limited") for _ in range(15)]
    wait_for(_all_done(control, ids), timeout=20)
    starts = sorted(control.get_workflow(wid).started_at.timestamp() for wid in ids)
    in_window = [sum(1 for s in starts if first <= s < first + 0.5) for first in starts]
    assert 3 <= max(in_window) <= 5, in_window  # limit 5 per 0.5 s: never passed (and it did hold work back)
    assert starts[-1] - starts[0] >= 1.0  # 15 starts need three periods


def _ordered_runs(queue_workers, control, tmp_path: Path, queue: str, priorities: list[int]) -> list[str]:
    """Hold the queue's one slot with a first workflow, queue the others, release: the order they ran in."""
    (tmp_path / "hold").touch()
    queue_workers(f"order-{queue}")
    blocker = control.enqueue_workflow("qa.record", 0.0, queue=queue)
    wait_for(lambda: control.get_workflow(blocker).status == "PENDING")
    ids = [control.enqueue_workflow("qa.record", 0.0, str(p), queue=queue, priority=p) for p in priorities]
    (tmp_path / "hold").unlink()
    wait_for(_all_done(control, ids), timeout=20)
    ran = [wid for wid, _, _ in sorted(queue_app.times(), key=lambda run: run[1]) if wid != blocker]
    return [f"{ids.index(wid)}:{priorities[ids.index(wid)]}" for wid in ran]


def test_priority_runs_lower_numbers_first_and_equal_ones_in_enqueue_order(queue_workers, control, tmp_path):
    order = _ordered_runs(queue_workers, control, tmp_path, "q.priority", [5, 1, 3, 1, 2, 5])
    assert order == ["1:1", "3:1", "4:2", "2:3", "0:5", "5:5"]


def test_without_priority_a_queue_is_fifo(queue_workers, control, tmp_path):
    order = _ordered_runs(queue_workers, control, tmp_path, "q.fifo", [5, 1, 3, 1, 2, 5])
    assert order == ["0:5", "1:1", "2:3", "3:1", "4:2", "5:5"]


def test_partitions_limit_each_tenant_apart(queue_workers, control):
    for i in range(2):
        queue_workers(f"tenants-{i}")
    tenant_of = {}
    for tenant in ("a", "b", "c"):
        for _ in range(10):
            tenant_of[control.enqueue_workflow("qa.record", 0.02, queue="q.tenants", partition_key=tenant)] = tenant
    wait_for(_all_done(control, list(tenant_of)), timeout=20)
    runs = queue_app.times()
    per_tenant = [queue_app.most_at_once([r for r in runs if tenant_of[r[0]] == t]) for t in ("a", "b", "c")]
    assert max(per_tenant) == 2, per_tenant  # never more than 2 per tenant, and reached
    assert queue_app.most_at_once(runs) > 2  # the limit is per tenant, not for the queue


def test_a_partitioned_queue_needs_a_partition_key_and_others_take_none(queue_workers, control):
    queue_workers("partition-input")
    with pytest.raises(InvalidInput, match="partitioned"):
        control.enqueue_workflow("qa.record", 0.0, queue="q.tenants")
    with pytest.raises(InvalidInput, match="not partitioned"):
        control.enqueue_workflow("qa.record", 0.0, queue="q.open", partition_key="a")
    with pytest.raises(InvalidInput, match="no queue named"):
        control.enqueue_workflow("qa.record", 0.0, queue="q.nowhere")
    with pytest.raises(InvalidInput, match="need a queue"):
        control.enqueue_workflow("qa.record", 0.0, priority=1)


def test_a_worker_killed_holding_queue_slots_is_recovered_and_leaks_none(queue_workers, control, tmp_path):
    (tmp_path / "hold").touch()
    doomed = queue_workers("slots-doomed")
    first = [control.enqueue_workflow("qa.record", 0.0, queue="q.concurrent") for _ in range(5)]
    wait_for(lambda: all(control.get_workflow(wid).executor_id == "slots-doomed" for wid in first))
    queue_workers("slots-heir")
    later = [control.enqueue_workflow("qa.record", 0.0, queue="q.concurrent") for _ in range(10)]
    doomed.kill()
    (tmp_path / "hold").unlink()
    wait_for(_all_done(control, first + later), timeout=20)
    assert all(control.get_workflow(wid).recovery_count == 1 for wid in first)
    assert all(control.get_workflow(wid).executor_id == "slots-heir" for wid in first + later)
    assert queue_app.most_at_once(queue_app.times()) <= 5
    figures = {q.name: q for q in control.list_queues()}["q.concurrent"]
    assert (figures.pending, figures.enqueued) == (0, 0)  # no slot leaked


def test_cancel_resume_and_fork_of_queued_workflows(queue_workers, control, tmp_path):
    (tmp_path / "hold").touch()
    queue_workers("queued-ops")
    running = control.enqueue_workflow("qa.record", 0.0, "running", queue="q.fifo")
    wait_for(lambda: control.get_workflow(running).status == "PENDING")
    waiting = control.enqueue_workflow("qa.record", 0.0, "waiting", queue="q.fifo")
    assert control.cancel(waiting) == [waiting]
    assert control.get_workflow(waiting).status == "CANCELLED"
    control.cancel(running)  # frees the queue's one slot
    after = control.enqueue_workflow("qa.record", 0.0, "after", queue="q.fifo")
    (tmp_path / "hold").unlink()
    wait_for(_all_done(control, [after]))
    control.resume(waiting)
    assert control.get_workflow(waiting).queue_name == "q.fifo"
    wait_for(_all_done(control, [waiting]))
    fork = control.fork(running, 1)
    assert control.get_workflow(fork).queue_name == "q.fifo"
    wait_for(_all_done(control, [fork]))
    assert control.get_workflow(fork).output == "running"


def test_list_queues_gives_definitions_and_live_figures(queue_workers, control, tmp_path):
    (tmp_path / "hold").touch()
    queue_workers("lister")
    queues = {q.name: q for q in control.list_queues()}
    assert {"q.concurrent", "q.limited", "q.tenants"} <= set(queues)
    limited = queues["q.limited"]
    assert (limited.rate_limit, limited.rate_period, limited.concurrency) == (5, 0.5, None)
    assert queues["q.tenants"].partitioned and queues["q.priority"].priority_enabled
    for _ in range(7):
        control.enqueue_workflow("qa.record", 0.0, queue="q.concurrent")
    wait_for(lambda: {q.name: q for q in control.list_queues()}["q.concurrent"].pending == 5)
    held = {q.name: q for q in control.list_queues()}["q.concurrent"]
    assert (held.enqueued, held.started_in_period) == (2, 0)  # no limiter: no period to count in

    def reasons() -> list[str | None]:
        return [w.wait_reason for w in control.list_workflows(status="ENQUEUED") if w.queue_name == "q.concurrent"]

    wait_for(lambda: reasons() == ["queue q.concurrent full (5/5)"] * 2)
    (tmp_path / "hold").unlink()


def test_the_cli_lists_queues_filters_by_queue_and_starts_into_one(queue_workers, control, tmp_path, capsys):
    from tui.cli import main

    (tmp_path / "hold").touch()
    queue_workers("cli-queues")
    url, schema = control.database_url, control.schema
    common = ["--database-url", url, "--schema", schema]
    for n in range(7):
        control.enqueue_workflow("qa.record", 0.0, queue="q.concurrent", workflow_id=f"cq-{n}")
    control.enqueue_workflow("qa.record", 0.0, queue="q.open", workflow_id="open-1")
    wait_for(lambda: {q.name: q for q in control.list_queues()}["q.concurrent"].pending == 5)
    capsys.readouterr()

    assert main(["queues", *common]) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("q.concurrent "))
    assert row.split()[:4] == ["q.concurrent", "2", "5", "5"]
    assert main(["queues", "--json", *common]) == 0
    figures = {q["name"]: q for q in json.loads(capsys.readouterr().out)}
    assert figures["q.limited"]["rate_limit"] == 5 and figures["q.concurrent"]["enqueued"] == 2

    assert main(["workflows", "list", "--queue", "q.concurrent", "--json", *common]) == 0
    listed = {w["workflow_id"] for w in json.loads(capsys.readouterr().out)}
    assert listed == {f"cq-{n}" for n in range(7)}
    assert main(["workflows", "cancel", "--queue", "q.concurrent", "--status", "ENQUEUED", *common]) == 0
    assert capsys.readouterr().out.strip() == "cancelled 2 workflow(s)"
    assert control.get_workflow("open-1").status != "CANCELLED"

    assert (
        main(["workflows", "start", "qa.record", "--args", "[0.0]", "--queue", "q.open", "--id", "started-q", *common])
        == 0
    )
    assert capsys.readouterr().out.strip() == "started-q"
    assert control.get_workflow("started-q").queue_name == "q.open"
    assert main(["workflows", "start", "qa.record", "--queue", "q.nowhere", *common]) == 2
    assert "no queue named 'q.nowhere'" in capsys.readouterr().err
    (tmp_path / "hold").unlink()
