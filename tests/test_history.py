"""A long history stays cheap: the counts per status are kept by triggers (migration 6) rather than counted,
and they stay exact through every way a workflow's status changes."""

from __future__ import annotations

import psycopg
import pytest

from engine import Control, step, workflow
from engine.store import connect
from engine.store.counts import FOLD_AFTER, fold_counts
from engine.store.migrations import MIGRATIONS, control_channel, events_channel, migrate
from engine.store.queries import for_schema
from tests.helpers import wait_for


@step(name="history.ok_step")
def ok_step(i: int) -> int:
    return i


@workflow(name="history.ok")
def ok(i: int) -> int:
    return ok_step(i)


@workflow(name="history.fails")
def fails() -> None:
    raise ValueError("no")


def truth(url: str, schema: str) -> dict[str, int]:
    with psycopg.connect(url) as c:
        rows = c.execute(f"SELECT status, count(*) FROM {schema}.workflows GROUP BY status").fetchall()
    return {status: n for status, n in rows}


def deltas(url: str, schema: str) -> int:
    with psycopg.connect(url) as c:
        row = c.execute(f"SELECT count(*) FROM {schema}.workflow_counts").fetchone()
    return row[0] if row else 0


def test_counts_follow_every_change_of_status(engine, control: Control, database_url: str, schema: str) -> None:
    for i in range(3):
        engine.run_workflow(ok, i)
    with pytest.raises(ValueError):
        engine.run_workflow(fails)
    queued = [control.enqueue_workflow("history.nobody", workflow_id=f"q-{i}") for i in range(4)]
    control.cancel(queued[0])
    control.cancel(queued[1])
    control.delete(queued[1])
    control.resume(queued[0])
    with psycopg.connect(database_url) as c:  # a multi-row insert and delete: the statement triggers
        c.execute(
            f"INSERT INTO {schema}.workflows (workflow_id, name, status) "
            "SELECT 'bulk-' || i, 'history.bulk', 'SUCCESS' FROM generate_series(1, 5) i"
        )
        c.execute(f"DELETE FROM {schema}.workflows WHERE workflow_id IN ('bulk-1', 'bulk-2')")
    expected = truth(database_url, schema)
    assert control.status_counts() == expected
    assert expected == {"SUCCESS": 6, "ERROR": 1, "ENQUEUED": 3}
    assert control.count(status="ENQUEUED") == 3 and control.count(status="PENDING") == 0


def test_folding_keeps_the_counts_and_a_worker_folds(make_engine, control: Control, database_url: str, schema: str):
    engine = make_engine()
    for i in range(40):
        control.enqueue_workflow("history.nobody", workflow_id=f"q-{i}")
    control.cancel_many(name="history.nobody")
    before = control.status_counts()
    assert before == {"CANCELLED": 40}
    fold_counts(engine.runtime_store.pool, for_schema(schema), least=0)
    assert deltas(database_url, schema) == 1 and control.status_counts() == before
    for i in range(70):  # more deltas than a worker lets pile up: its heartbeat folds them
        engine.run_workflow(ok, i)
    wait_for(lambda: deltas(database_url, schema) <= FOLD_AFTER)  # 210 deltas were appended
    assert control.status_counts() == truth(database_url, schema) == {"CANCELLED": 40, "SUCCESS": 70}


def test_migration_counts_the_rows_already_there(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as c:
        statements = for_schema(schema)
        c.execute(statements["create_schema"])
        c.execute(statements["create_version_table"])
        for version in range(1, 6):
            text = MIGRATIONS[version - 1].format(
                schema=schema, channel_events=events_channel(schema), channel_control=control_channel(schema)
            )
            c.execute(text)
            c.execute(statements["record_version"], (version,))
        c.execute(
            f"INSERT INTO {schema}.workflows (workflow_id, name, status) "
            "SELECT 'old-' || i, 'history.old', CASE WHEN i % 3 = 0 THEN 'ERROR' ELSE 'SUCCESS' END "
            "FROM generate_series(1, 30) i"
        )
        assert migrate(c, schema) == len(MIGRATIONS)
    with Control(database_url, schema=schema) as control:
        assert control.status_counts() == {"SUCCESS": 20, "ERROR": 10}


def test_our_connections_run_without_jit(database_url: str) -> None:
    with connect(database_url) as c:
        row = c.execute("SHOW jit").fetchone()
    assert row is not None and row[0] == "off"
