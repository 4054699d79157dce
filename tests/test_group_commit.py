"""Group commit: concurrent checkpoints share commits, and each still gets its own answer."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from engine.states import StepKind, StepStatus
from engine.store.group_commit import GroupCommit, _Queued


@pytest.fixture
def table(database_url, schema):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.t (id int PRIMARY KEY)")
    with ConnectionPool(database_url, min_size=1, max_size=4, kwargs={"autocommit": True}) as pool:
        yield pool, schema


def insert(schema):
    return f"WITH i AS (INSERT INTO {schema}.t VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM i"


def test_queued_checkpoints_are_committed_together_with_their_own_results(table):
    pool, schema = table
    group = GroupCommit(pool, max_writers=1)
    gate = threading.Event()
    results: dict[int, bool] = {}
    batches: list[int] = []
    original = group._write_batch

    def counting(batch):
        batches.append(len(batch))
        original(batch)

    group._write_batch = counting  # type: ignore[method-assign]

    def write(i):
        results[i] = group.write(insert(schema), (i % 25,))

    def slow_leader():
        gate.set()
        group.write("SELECT count(*) FROM (SELECT pg_sleep(0.2)) s", ())

    leader = threading.Thread(target=slow_leader)
    leader.start()
    gate.wait()
    others = [threading.Thread(target=write, args=(i,)) for i in range(50)]
    for t in others:
        t.start()
    for t in [leader, *others]:
        t.join()
    assert sum(results.values()) == 25  # each id inserted once; the duplicates answered False
    assert max(batches) > 1  # those that queued behind the busy writer shared a commit
    with pool.connection() as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.t").fetchone()[0] == 25


def test_a_failing_statement_in_a_batch_fails_only_itself(table):
    pool, schema = table
    group = GroupCommit(pool)
    batch = [_Queued(insert(schema), (1,)), _Queued("SELECT 1 / 0", ()), _Queued(insert(schema), (2,))]
    group._write_batch(batch)
    assert [b.result for b in batch] == [True, False, True]
    assert isinstance(batch[1].error, psycopg.errors.DivisionByZero)
    assert all(b.done.is_set() for b in batch)


def _first_successes(store, owner: str, steps: list[tuple[str, int]]) -> list[_Queued]:
    """The queued checkpoints that `record_step` makes for these first-attempt successes (captured, not written)."""
    captured: list[_Queued] = []
    store.group_commit.write = lambda query, params: captured.append(_Queued(query, params)) or False
    try:
        for wid, sid in steps:
            store.record_step(
                workflow_id=wid, step_id=sid, name="s", kind=StepKind.STEP, status=StepStatus.SUCCESS, attempt=1,
                max_attempts=3, started=datetime.now(timezone.utc), output=str(sid), owner=owner,
            )  # fmt: skip
    finally:
        del store.group_commit.write
    return captured


def test_queued_first_successes_are_one_statement_and_each_gets_its_own_answer(engine, database_url, schema):
    store = engine.runtime_store
    for wid, owner in [("m1", engine.executor_id), ("m2", engine.executor_id), ("theirs", "another-executor")]:
        assert store.start_workflow(wid, "x", "{}", owner)
    batch = _first_successes(store, engine.executor_id, [("m1", 1), ("m2", 1), ("theirs", 1), ("m1", 2)])
    assert len(store.group_commit._plan(batch)) == 1
    store.group_commit._write_batch(batch)
    assert all(b.error is None for b in batch)
    assert [json.loads(b.result)["id"] if b.result else b.result for b in batch] == ["m1", "m2", False, "m1"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT workflow_id, step_id, status, output FROM {schema}.steps ORDER BY 1, 2").fetchall()
    assert rows == [("m1", 1, "SUCCESS", 1), ("m1", 2, "SUCCESS", 2), ("m2", 1, "SUCCESS", 1)]
    again = _first_successes(store, engine.executor_id, [("m2", 1), ("m2", 2)])
    store.group_commit._write_batch(again)  # an outcome already recorded is never overwritten
    assert [bool(b.result) for b in again] == [False, True]


def test_one_step_twice_in_a_merged_batch_is_written_once(engine):
    """Two items for one row make the merged statement fail whole; each is then sent alone: the first is written."""
    store = engine.runtime_store
    assert store.start_workflow("twice", "x", "{}", engine.executor_id)
    batch = _first_successes(store, engine.executor_id, [("twice", 1), ("twice", 1)])
    store.group_commit._write_batch(batch)
    assert [bool(b.result) for b in batch] == [True, False] and all(b.error is None for b in batch)


def _finish(store, owner: str, wids: list[str]) -> _Queued:
    """The queued outcome statement that `finish_workflows` makes (captured, not written)."""
    captured: list[_Queued] = []
    store.group_commit.write = lambda query, params: captured.append(_Queued(query, params)) or False
    try:
        store.finish_workflows(owner, [(wid, "SUCCESS", '"done"', None) for wid in wids])
    finally:
        del store.group_commit.write
    return captured[0]


def test_first_successes_and_a_finish_are_one_statement_and_the_finish_is_heard(engine, database_url, schema):
    """The commonest batch of two kinds: both written by one statement, each item gets its own answer, and the
    finish notifies in that statement's commit."""
    store, me = engine.runtime_store, engine.executor_id
    for wid in ("s1", "s2", "ends", "ended"):
        assert store.start_workflow(wid, "x", "{}", me)
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {schema}_events")
        store.group_commit._write_batch([_finish(store, me, ["ended"])])
        batch = [*_first_successes(store, me, [("s1", 1), ("s2", 1)]), _finish(store, me, ["ends", "ended"])]
        [(items, _, (query, _))] = store.group_commit._plan(batch)
        assert query == store.sql["record_first_successes_and_finish"] and len(items) == 3
        store.group_commit._write_batch(batch)
        assert all(b.error is None for b in batch)
        assert [json.loads(b.result)["id"] for b in batch[:2]] == ["s1", "s2"]
        assert batch[2].result == "ends"  # "ended" had ended already: only "ends" changed
        heard = set()
        for note in listener.notifies(timeout=5):
            message = json.loads(note.payload)
            if message == {"t": "w", "id": "ends", "s": "SUCCESS"}:
                break
            heard.add(message.get("t"))
        assert "s" not in heard  # the steps' notes are the notifier's to send
    with psycopg.connect(database_url, autocommit=True) as conn:
        steps = conn.execute(f"SELECT workflow_id, step_id FROM {schema}.steps ORDER BY 1").fetchall()
        ended = conn.execute(f"SELECT workflow_id, status FROM {schema}.workflows WHERE workflow_id LIKE 'end%%'")
        assert steps == [("s1", 1), ("s2", 1)]
        assert sorted(ended.fetchall()) == [("ended", "SUCCESS"), ("ends", "SUCCESS")]
