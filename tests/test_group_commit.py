"""Group commit: concurrent checkpoints share commits, and each still gets its own answer."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg_pool import ConnectionPool

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
