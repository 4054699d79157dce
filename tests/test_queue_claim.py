"""The queue claim itself, against Postgres with no worker running (so nothing else claims): the notifications
it leaves for after its commit, which claimed workflows it reads steps for, and its plan on a small table."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from engine.control import Control
from engine.store.names import events_channel
from engine.store.queues import QueueDefinition, QueueStore

QUEUE = QueueDefinition("q.claim", concurrency=2)
NAMES = ["qc.work"]


@pytest.fixture
def store(control: Control) -> QueueStore:
    queues = control._store.queues
    queues.record_definitions([QUEUE])
    return queues


def _enqueue(control: Control, n: int) -> list[str]:
    return [control.enqueue_workflow(NAMES[0], i, queue=QUEUE.name) for i in range(n)]


@pytest.fixture
def listener(database_url: str, schema: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'LISTEN "{events_channel(schema)}"')
        yield conn


def _heard(conn: psycopg.Connection) -> list[dict]:
    """What the listener received so far (a `SELECT 1` makes sure all that was sent before it has arrived)."""
    conn.execute("SELECT 1")
    return [json.loads(n.payload) for n in conn.notifies(timeout=0.05, stop_after=1000)]


def test_a_claim_returns_its_notifications_and_its_commit_sends_none(control, store, listener, schema):
    """The started rows and the row told why it waits notify after the claim's commit (the worker's notifier
    sends `notes`), never from inside it: a commit that notifies holds a database-wide lock until durable."""
    ids = _enqueue(control, 3)
    _heard(listener)  # the inserts' own notifications
    claim = store.claim(QUEUE, "claimer", NAMES, 10)
    assert sorted(c.workflow_id for c in claim.claimed) == sorted(ids[:2]) and claim.saturated
    assert _heard(listener) == []
    notes = [json.loads(note) for note in claim.notes]
    assert sorted((n["id"], n["s"]) for n in notes) == sorted(
        [(ids[0], "PENDING"), (ids[1], "PENDING"), (ids[2], "ENQUEUED")]
    )
    told = listener.execute(f"SELECT wait_reason FROM {schema}.workflows WHERE workflow_id = %s", (ids[2],)).fetchone()
    assert told == ("queue q.claim full (2/2)",)  # as stored (read live, it says no worker serves the queue)


def test_a_claim_reads_steps_only_of_workflows_that_ran_or_were_forked(control, store, database_url, schema):
    """A workflow started for the first time by this claim has no steps, so replay need not read any; one that ran
    before (resumed into its queue) or a fork (copied steps) says it has some."""
    fresh, ran, forked = _enqueue(control, 3)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"UPDATE {schema}.workflows SET started_at = clock_timestamp() WHERE workflow_id = %s", (ran,))
        conn.execute(f"UPDATE {schema}.workflows SET forked_from = %s WHERE workflow_id = %s", (fresh, forked))
        for wid in (ran, forked):
            conn.execute(
                f"INSERT INTO {schema}.steps (workflow_id, step_id, name, status) VALUES (%s, 0, 's', 'SUCCESS')",
                (wid,),
            )
    recorded = {}
    for _ in range(2):  # the queue takes two at a time
        recorded |= {c.workflow_id: c.recorded for c in store.claim(QUEUE, "claimer", NAMES, 10).claimed}
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"UPDATE {schema}.workflows SET status = 'SUCCESS' WHERE status = 'PENDING'")
    assert recorded == {fresh: False, ran: True, forked: True}


def test_the_claim_is_planned_once_without_sequential_scans_and_commits_without_waiting_for_the_flush(
    control, store, database_url
):
    """Its plan is kept per connection (planning it took about a millisecond of the server's CPU at every claim),
    often made while the table is still small: a sequential scan chosen then would read the whole table at every
    claim once it has grown (a claim took 10 ms at 2,000 rows). Its commit need not wait for the WAL flush."""
    _enqueue(control, 3)
    sql = store.sql
    params = {
        "queue": QUEUE.name, "partition": "", "me": "claimer", "period": 0.0, "names": NAMES, "capacity": 1,
        "concurrency": 2, "worker_concurrency": None, "rate_limit": None, "where": "queue q.claim",
        "rate_reason": "",
    }  # fmt: skip
    with psycopg.connect(database_url, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(sql["queue_lock"], ("k",))  # sets what the claim is planned with, as in a worker
        plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql["claim_queue"], params))
        settings = conn.execute("SELECT current_setting('plan_cache_mode'), current_setting('synchronous_commit')")
        assert settings.fetchone() == ("force_generic_plan", "off")
        conn.rollback()
    assert "Seq Scan" not in plan, plan


def test_the_survey_settings_hold_for_the_statements_after_them_in_its_pipeline(store, database_url):
    """The survey sends its settings, the plain claim and the outlook in one pipeline without BEGIN: they are one
    implicit transaction up to the pipeline's Sync, so settings local to the transaction reach the statements."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        read = conn.cursor()
        with conn.pipeline():
            conn.execute(store.sql["survey_settings"], prepare=True)
            read.execute("SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan')")
        assert read.fetchone() == ("force_generic_plan", "off")
        assert conn.execute("SELECT current_setting('enable_seqscan')").fetchone() == ("on",)  # and no further
