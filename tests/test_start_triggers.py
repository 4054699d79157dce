"""A plain start, enqueue or finish runs no trigger function (migration 10), and what the triggers kept stays true:
the counts per status and the deadlines of workflows with a timeout or a parent. An enqueue's notifications follow
its commit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import partial
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from engine import Control, Engine
from engine.store.names import control_channel, events_channel
from engine.store.notes import LaterNotes
from engine.store.queries import for_schema
from engine.store.queues import QueueStore
from engine.store.runtime import RuntimeStore

INPUTS = '{"args": [1], "kwargs": {}}'


@pytest.fixture
def store(engine: Engine, database_url: str, schema: str) -> Iterator[RuntimeStore]:
    """A store on one connection of its own (the engine migrated the schema; no worker registers our names)."""
    with ConnectionPool(database_url, min_size=1, max_size=1, kwargs={"autocommit": True}) as pool:
        yield RuntimeStore(pool, schema)


def fired(conn: psycopg.Connection[Any], statement: str, params: Any) -> set[str]:
    """The triggers whose function ran for `statement` (EXPLAIN ANALYZE lists only those), rolled back."""
    with conn.transaction(force_rollback=True):
        row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).fetchone()
    assert row is not None
    return {t["Trigger Name"] for t in row[0][0].get("Triggers", [])}


def start_params(wid: str, timeout: float | None = None, parent: str | None = None) -> dict[str, Any]:
    return {
        "wid": wid,
        "name": "triggers.nowhere",
        "inputs": INPUTS,
        "me": "me",
        "parent": parent,
        "parent_step": 1 if parent else None,
        "timeout": timeout,
        "later": "on",
    }


def finish_params(wid: str, channel: str = "nobody_listens") -> dict[str, Any]:
    return {
        "ids": [wid],
        "statuses": ["SUCCESS"],
        "results": ["1"],
        "errors": [None],
        "me": "me",
        "skew": 0.0,
        "later": "on",
        "events": channel,
    }


def enqueue_params(wid: str) -> dict[str, Any]:
    return {"wid": wid, "name": "triggers.nowhere", "inputs": INPUTS, "timeout": None, "later": "on"}


def test_a_plain_start_and_finish_call_no_trigger_function(database_url: str, schema: str, engine: Engine) -> None:
    sql = for_schema(schema)
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert fired(conn, sql["start_workflow"], start_params("plain")) == set()
        assert fired(conn, sql["enqueue_workflow"], enqueue_params("queued")) == set()
        bulk = {"ids": ["b1", "b2"], "name": "n", "inputs": [INPUTS] * 2, "me": "me", "timeout": None, "later": "on"}
        assert fired(conn, sql["start_workflows"], bulk) == set()
        conn.execute(sql["start_workflow"], start_params("done")).fetchone()
        # the finish counts the change of status (its statement sends its notification); no deadline work
        assert fired(conn, sql["finish_workflows"], finish_params("done")) == {"workflows_count_status"}
        # a start with a timeout, or of a child, still gets its deadline from the trigger
        assert fired(conn, sql["start_workflow"], start_params("timed", timeout=30)) == {"workflows_deadline_insert"}


def test_deadlines_are_set_for_a_timeout_and_a_child_and_cleared_by_a_resume(
    store: RuntimeStore, database_url: str, schema: str
) -> None:
    assert store.start_workflow("parent", "triggers.nowhere", INPUTS, "me", timeout=600)
    assert store.start_workflow("child", "triggers.nowhere", INPUTS, "me", parent=("parent", 1))
    assert store.start_workflow("free", "triggers.nowhere", INPUTS, "me")
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows: dict[str, Any] = dict(
            conn.execute(
                f"SELECT workflow_id, extract(epoch FROM deadline_at - started_at) FROM {schema}.workflows"
            ).fetchall()
        )
        assert 599 < rows["parent"] < 601
        assert rows["child"] is not None and rows["child"] <= rows["parent"]  # the parent's deadline
        assert rows["free"] is None
        conn.execute(f"UPDATE {schema}.workflows SET status = 'CANCELLED' WHERE workflow_id = 'parent'")
        conn.execute(f"UPDATE {schema}.workflows SET status = 'ENQUEUED' WHERE workflow_id = 'parent'")  # resume
        deadline = conn.execute(f"SELECT deadline_at FROM {schema}.workflows WHERE workflow_id = 'parent'").fetchone()
        assert deadline == (None,)


def test_counts_stay_true_when_a_counted_start_shares_a_transaction_with_other_inserts(
    store: RuntimeStore, database_url: str, schema: str
) -> None:
    """A start counts itself and marks only its own statement: an insert after it in the same transaction is
    still counted by the trigger, and an id started twice is counted once."""
    sql = for_schema(schema)
    with store.pool.connection() as conn, conn.transaction():
        assert conn.execute(sql["start_workflow"], start_params("a")).fetchone()
        assert conn.execute(sql["start_workflow"], start_params("a")).fetchone() is None  # exists: not counted
        assert conn.execute(sql["enqueue_workflow"], enqueue_params("q")).fetchone()
        assert conn.execute(sql["enqueue_workflow"], enqueue_params("q")).fetchone() is None  # exists: not counted
        bulk = {"ids": ["a", "b", "b"], "name": "n", "inputs": [INPUTS] * 3, "me": "me", "timeout": None, "later": "on"}
        assert [r[0] for r in conn.execute(sql["start_workflows"], bulk).fetchall()] == ["b"]
        # any other insert, even in the same transaction: its trigger counts it
        conn.execute(
            f"INSERT INTO {schema}.workflows (workflow_id, name, status, inputs) VALUES ('s', 'n', 'SUCCESS', '1')"
        )
    with Control(database_url, schema=schema) as control, psycopg.connect(database_url) as conn:
        truth: dict[str, int] = dict(
            conn.execute(f"SELECT status, count(*) FROM {schema}.workflows GROUP BY status").fetchall()
        )
        assert truth == {"PENDING": 2, "ENQUEUED": 1, "SUCCESS": 1}
        assert control.status_counts() == truth


def heard(conn: psycopg.Connection[Any], *wanted: str) -> list[str]:
    """Payloads heard until each of `wanted` is in one of them."""
    got: list[str] = []
    notes = conn.notifies(timeout=5)
    for n in notes:
        got.append(n.payload)
        if all(any(w in p for p in got) for w in wanted):
            notes.close()  # a generator left open holds the connection's lock
    return got


def test_a_queued_enqueue_notifies_after_its_commit(database_url: str, schema: str) -> None:
    """Its insert runs no trigger function (a commit that notifies holds a database-wide lock until durable, so
    enqueues from many clients committed one at a time; it counts itself as a start does); its row's notification
    and the workers' wake still come: sent at once, or by a worker's notifier for the worker's own enqueue."""
    sql = for_schema(schema)
    queued = {
        "wid": "q-plain",
        "name": "triggers.nowhere",
        "inputs": INPUTS,
        "queue": "triggers_q",
        "priority": 0,
        "dedup": None,
        "partition": "",
        "delay": None,
        "timeout": None,
        "later": "on",
    }
    with (
        Control(database_url, schema=schema) as control,  # no worker: no heartbeat explains the rows meanwhile
        psycopg.connect(database_url, autocommit=True) as conn,
    ):
        pool = control._store.pool
        store = QueueStore(pool, schema)
        enqueue = partial(store.insert, priority=0, deduplication_id=None, partition_key="", delay_seconds=None)
        assert fired(conn, sql["insert_queued"], queued) == set()
        conn.execute(f"LISTEN {events_channel(schema)}")
        conn.execute(f"LISTEN {control_channel(schema)}")
        assert enqueue("q-sent", "triggers.nowhere", INPUTS, "triggers_q")
        got = heard(conn, '"q-sent"', '"wake"')
        assert any('"q-sent"' in p and "ENQUEUED" in p for p in got), got
        assert any('"wake"' in p and "triggers_q" in p for p in got), got

        later = LaterNotes(pool, sql, events_channel(schema), control_channel(schema))
        assert enqueue("q-later", "triggers.nowhere", INPUTS, "triggers_q", later=later)
        early = [n.payload for n in conn.notifies(timeout=0.05)]
        assert not [p for p in early if '"q-later"' in p], early  # nothing sent yet
        assert later.send() == 2
        got = heard(conn, '"q-later"', "triggers_q")
        assert any('"q-later"' in p for p in got) and any("triggers_q" in p and '"wake"' in p for p in got), got
        assert control.status_counts().get("ENQUEUED") == 2  # each counted itself


def test_an_enqueue_notifies_after_its_commit_and_an_existing_id_sends_nothing(database_url: str, schema: str) -> None:
    """The dashboard hears the new row and the workers a wake, both sent right after the row committed (the commit
    itself notifies nothing, so concurrent enqueues share WAL flushes); a second enqueue of the id changes nothing
    and says nothing."""
    with (
        Control(database_url, schema=schema) as control,  # no worker: nothing else notifies
        psycopg.connect(database_url, autocommit=True) as listener,
    ):
        listener.execute(f"LISTEN {schema}_events")
        listener.execute(f"LISTEN {schema}_control")
        assert control.enqueue_workflow("triggers.nowhere", workflow_id="e1") == "e1"
        assert control.enqueue_workflow("triggers.nowhere", workflow_id="e1") == "e1"
        listener.execute(f"NOTIFY {schema}_control, 'end'")
        heard = []
        for note in listener.notifies(timeout=5):
            if note.payload == "end":
                break
            heard.append((note.channel, json.loads(note.payload)))
        assert heard == [
            (f"{schema}_events", {"t": "w", "id": "e1", "s": "ENQUEUED"}),
            (f"{schema}_control", {"op": "wake"}),
        ]
        assert control.status_counts() == {"ENQUEUED": 1}


def test_a_finish_notifies_in_its_commit_after_a_checkpoint_silenced_the_transaction(
    store: RuntimeStore, database_url: str, schema: str
) -> None:
    """The group commit may write a finish in one transaction after checkpoints whose statements silence the row
    triggers until the commit: the finish still notifies, in that commit (a waiter on the end relies on it)."""
    sql = for_schema(schema)
    assert store.start_workflow("stepping", "triggers.nowhere", INPUTS, "me")
    assert store.start_workflow("ending", "triggers.nowhere", INPUTS, "me")
    checkpoint = {
        "wid": "stepping",
        "sid": 1,
        "name": "s",
        "kind": "step",
        "max": 1,
        "output": "1",
        "child": None,
        "started": datetime.now(timezone.utc),
        "skew": 0.0,
        "me": "me",
        "later": "on",
    }
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {events_channel(schema)}")
        with store.pool.connection() as conn, conn.transaction():
            assert conn.execute(sql["record_first_success"], checkpoint).fetchone()
            finished = conn.execute(sql["finish_workflows"], finish_params("ending", events_channel(schema)))
            assert finished.fetchall() == [("ending",)]
            early = [json.loads(n.payload) for n in listener.notifies(timeout=0.05)]
            assert not [n for n in early if n.get("s") == "SUCCESS"], early  # nothing before the commit
        got = [json.loads(p) for p in heard(listener, '"SUCCESS"')]
        assert {"t": "w", "id": "ending", "s": "SUCCESS"} in got, got
        assert not [n for n in got if n["t"] == "s"], got  # the checkpoint's note is its worker's to send
