"""The fast start path (issue 12): `start_workflows` starts many in one statement, and a worker's starts and
checkpoints notify after their commit, so concurrent commits never queue on one another's NOTIFY."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from engine import Engine, InvalidInput, WorkflowConflict, step, workflow
from engine.store.runtime import RuntimeStore

RAN: list[tuple[str, int]] = []
RAN_LOCK = threading.Lock()


@step(name="fast.double")
def double(x: int) -> int:
    return 2 * x


@workflow(name="fast.sum")
def total(a: int, b: int = 0) -> int:
    with RAN_LOCK:
        RAN.append(("sum", a))
    return double(a) + b


@workflow(name="fast.other")
def other() -> str:
    return "other"


def ran(a: int) -> int:
    with RAN_LOCK:
        return RAN.count(("sum", a))


def test_start_workflows_starts_each_call_with_its_arguments(engine: Engine) -> None:
    handles = engine.start_workflows(total, [(1, 10), {"a": 2, "b": 20}, (3,)])
    assert [h.result(timeout=10) for h in handles] == [12, 24, 6]
    assert len({h.workflow_id for h in handles}) == 3
    records = [engine.get_workflow(h.workflow_id) for h in handles]
    assert [r.inputs for r in records] == [
        {"args": [1, 10], "kwargs": {}},
        {"args": [], "kwargs": {"a": 2, "b": 20}},
        {"args": [3], "kwargs": {}},
    ]
    assert {r.status for r in records} == {"SUCCESS"}


def test_start_workflows_runs_an_id_once(engine: Engine) -> None:
    engine.start_workflow(total, 100, workflow_id="old").result(timeout=10)
    handles = engine.start_workflows(
        total, [(100,), (101,), (102,), (103,)], workflow_ids=["old", "new", "twice", "twice"]
    )
    assert [h.workflow_id for h in handles] == ["old", "new", "twice", "twice"]
    assert [h.result(timeout=10) for h in handles] == [200, 202, 204, 204]  # the first call of an id wins
    assert (ran(100), ran(101), ran(102), ran(103)) == (1, 1, 1, 0)


def test_start_workflows_refuses_an_id_of_another_workflow_after_starting_the_new_ones(engine: Engine) -> None:
    engine.start_workflow(other, workflow_id="taken").result(timeout=10)
    with pytest.raises(WorkflowConflict, match="'taken' \\(fast.other\\)"):
        engine.start_workflows(total, [(200,), (201,)], workflow_ids=["taken", "fresh"])
    assert engine.retrieve_workflow("fresh").result(timeout=10) == 402
    assert engine.retrieve_workflow("taken").result(timeout=10) == "other"


def test_start_workflows_checks_its_input(engine: Engine) -> None:
    assert engine.start_workflows(total, []) == []
    with pytest.raises(InvalidInput, match="2 workflow ids for 1 calls"):
        engine.start_workflows(total, [(1,)], workflow_ids=["a", "b"])
    with pytest.raises(InvalidInput, match="tuple of arguments"):
        engine.start_workflows(total, ["abc"])
    with pytest.raises(InvalidInput):
        engine.start_workflows(total, [(1,)], workflow_ids=["bad\nid"])


@pytest.fixture
def one_connection(engine: Engine, database_url: str, schema: str) -> Iterator[RuntimeStore]:
    """A store on a single connection: consecutive statements share it, so what one sets for its own
    transaction would show in the next one's if it leaked."""
    with ConnectionPool(database_url, min_size=1, max_size=1, kwargs={"autocommit": True}) as pool:
        yield RuntimeStore(pool, schema)


def notes_of(listener: psycopg.Connection[Any], count: int, kind: str) -> list[dict[str, Any]]:
    """The next `count` notifications of `kind` (`w` workflow, `s` step): the engine's heartbeats speak too."""
    found: list[dict[str, Any]] = []
    for note in listener.notifies(timeout=5):
        payload = json.loads(note.payload)
        if payload["t"] == kind:
            found.append(payload)
            if len(found) == count:
                break
    return found


def test_a_start_notifies_after_its_commit_and_silences_only_its_own_transaction(
    one_connection: RuntimeStore, database_url: str, schema: str
) -> None:
    store = one_connection  # a workflow of a name no worker registers, so no worker adopts it
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {schema}_events")
        assert store.start_workflow("quiet", "fast.nowhere", '{"args": [1]}', "nobody")
        with store.pool.connection() as conn:  # the next transaction on the same connection: its trigger speaks
            conn.execute(f"UPDATE {schema}.workflows SET status = 'CANCELLED' WHERE workflow_id = 'quiet'")
        assert store.notes.send() == 1  # the start's own notification, sent only now
        assert [(n["id"], n["s"]) for n in notes_of(listener, 2, "w")] == [("quiet", "CANCELLED"), ("quiet", "PENDING")]
        assert not store.start_workflow("quiet", "fast.nowhere", "{}", "nobody")  # an existing id: nothing to send
        assert store.notes.send() == 0


def test_a_checkpoint_notifies_after_its_commit_unless_a_transaction_records_it(
    one_connection: RuntimeStore, database_url: str, schema: str
) -> None:
    store = one_connection  # a workflow of a name no worker registers, so no worker adopts it
    store.start_workflow("ckpt", "fast.nowhere", "{}", "me")
    step_row: dict[str, Any] = {"name": "s", "kind": "step", "max_attempts": 1, "started": datetime.now(UTC)}
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {schema}_events")
        assert store.record_step(workflow_id="ckpt", step_id=1, status="SUCCESS", attempt=1, owner="me", **step_row)
        with store.pool.connection() as conn, conn.transaction():  # as a @transaction records its checkpoint
            store.record_step(
                workflow_id="ckpt", step_id=2, status="SUCCESS", attempt=1, owner="me", conn=conn, **step_row
            )
        assert [(n["step"], n["s"], n["n"]) for n in notes_of(listener, 1, "s")] == [(2, "SUCCESS", 1)]
        assert store.notes.send() == 2  # the start's and the first checkpoint's
        assert [(n["step"], n["s"], n["n"]) for n in notes_of(listener, 1, "s")] == [(1, "SUCCESS", 1)]
        assert not store.record_step(workflow_id="ckpt", step_id=3, status="SUCCESS", attempt=1, owner="x", **step_row)
        assert store.notes.send() == 0  # the fence wrote nothing: nothing to tell


def test_ids_made_for_starts_and_enqueues_are_time_ordered(engine: Engine) -> None:
    """Every id the engine makes is a version-7 UUID, so new rows go to the end of the id indexes (engine/ids.py)."""
    alone = engine.start_workflow(total, 1)
    bulk = engine.start_workflows(total, [(2,), (3,)])
    queued = engine.control.enqueue_workflow("fast.sum", 4)
    ids = [alone.workflow_id, *(h.workflow_id for h in bulk), queued]
    assert [uuid.UUID(wid).version for wid in ids] == [7, 7, 7, 7]
    assert [alone.result(timeout=10), *(h.result(timeout=10) for h in bulk)] == [2, 4, 6]
