"""Workflows, transactions and storage (issue 2)."""

from __future__ import annotations

import asyncio
import threading
import uuid

import psycopg
import pytest

from engine import (
    DatabaseUnavailable,
    DurableError,
    Engine,
    SchemaTooNew,
    SerializationError,
    WorkflowConflict,
    WorkflowNotFound,
    db,
    step,
    transaction,
    workflow,
)
from engine.store.connection import connect
from engine.store.migrations import SCHEMA_VERSION, migrate
from tests.helpers import wait_for

ran: list[str] = []


@step(name="wf.echo")
def echo(x):
    ran.append(f"echo:{x}")
    return x


@workflow(name="wf.simple")
def simple(x, *, suffix=""):
    return f"{echo(x)}{suffix}"


@workflow(name="wf.other")
def other(x):
    return x


def test_inputs_output_and_statuses_are_stored(engine):
    h = engine.start_workflow(simple, "a", suffix="!", workflow_id="s1")
    assert h.workflow_id == "s1" and h.result(timeout=10) == "a!"
    rec = engine.get_workflow("s1")
    assert (rec.status, rec.name, rec.output) == ("SUCCESS", "wf.simple", "a!")
    assert rec.inputs == {"args": ["a"], "kwargs": {"suffix": "!"}}
    assert rec.executor_id == engine.executor_id and rec.finished_at >= rec.started_at
    assert [w.workflow_id for w in engine.list_workflows(status="SUCCESS", name="wf.simple")] == ["s1"]
    assert h.status() == "SUCCESS"


def test_workflow_id_is_idempotency_key(engine):
    ran.clear()
    first = engine.start_workflow(simple, "once", workflow_id="idem")
    first.result(timeout=10)
    again = engine.start_workflow(simple, "twice", workflow_id="idem")
    assert again.result(timeout=10) == "once"
    assert ran == ["echo:once"]
    with pytest.raises(WorkflowConflict, match="wf.simple"):
        engine.start_workflow(other, 1, workflow_id="idem")


def test_default_workflow_id_is_uuid(engine):
    h = engine.start_workflow(simple, "u")
    assert uuid.UUID(h.workflow_id)


class Broken(Exception):
    pass


@workflow(name="wf.fails")
def fails():
    echo("before")
    raise Broken("it broke")


def test_error_is_stored_and_raised_by_result(engine):
    h = engine.start_workflow(fails, workflow_id="e1")
    with pytest.raises(Broken, match="it broke"):
        h.result(timeout=10)
    rec = engine.get_workflow("e1")
    assert rec.status == "ERROR" and rec.error["type"] == "tests.test_workflows.Broken"
    assert "Traceback" in rec.error["traceback"]


def test_unknown_workflow_id(engine):
    with pytest.raises(WorkflowNotFound, match="nope"):
        engine.retrieve_workflow("nope")
    with pytest.raises(WorkflowNotFound):
        engine.get_workflow("nope")


@workflow(name="wf.ship")
def ship(order):
    return f"shipped {echo(order)}"


@workflow(name="wf.parent")
def parent(order):
    echo("p1")
    label = ship(order)
    return label.upper()


def test_child_workflow_is_linked_and_one_step_of_parent(engine):
    assert engine.run_workflow(parent, "o-9", workflow_id="par") == "SHIPPED O-9"
    rec = engine.get_workflow("par")
    assert [(s.step_id, s.name, s.kind, s.status) for s in rec.steps] == [
        (1, "wf.echo", "step", "SUCCESS"),
        (2, "wf.ship", "child", "SUCCESS"),
    ]
    child_id = rec.steps[1].child_workflow_id
    assert rec.children == [child_id]
    child = engine.get_workflow(child_id)
    assert (child.parent_workflow_id, child.parent_step_id, child.status) == ("par", 2, "SUCCESS")
    assert child.output == "shipped o-9"


@step(name="wf.async_step", interval_seconds=0.01)
async def async_double(x):
    await asyncio.sleep(0)
    return x * 2


@workflow(name="wf.async")
async def async_wf(x):
    return await async_double(x) + await async_double(1)


def test_async_workflow_and_steps(engine):
    assert engine.run_workflow(async_wf, 5, workflow_id="as1") == 12
    assert [s.name for s in engine.get_workflow("as1").steps] == ["wf.async_step", "wf.async_step"]


# transactions -----------------------------------------------------------------------------------


@pytest.fixture
def stock(database_url, schema, engine):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.stock (sku text PRIMARY KEY, n int)")
        conn.execute(f"INSERT INTO {schema}.stock VALUES ('apple', 10)")
    return schema


@transaction(isolation_level="repeatable read")
def reserve(schema, sku, qty):
    db().execute(f"UPDATE {schema}.stock SET n = n - %s WHERE sku = %s", (qty, sku))
    return db().execute(f"SELECT n FROM {schema}.stock WHERE sku = %s", (sku,)).fetchone()[0]


@workflow(name="wf.reserve")
def reserve_wf(schema, qty):
    return reserve(schema, "apple", qty)


def stock_of(url, schema):
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT n FROM {schema}.stock").fetchone()[0]


def test_transaction_commits_work_and_checkpoint_together(engine, stock, database_url):
    assert engine.run_workflow(reserve_wf, stock, 3, workflow_id="t1") == 7
    step_row = engine.get_workflow("t1").steps[0]
    assert (step_row.kind, step_row.output) == ("transaction", 7)
    fork = engine.control.fork("t1", from_step=2)
    assert engine.retrieve_workflow(fork).result(timeout=10) == 7
    assert stock_of(database_url, stock) == 7  # replay did not reserve again


conflicts = {"n": 0}


@transaction
def conflicting(schema):
    db().execute(f"UPDATE {schema}.stock SET n = n + 1")
    conflicts["n"] += 1
    if conflicts["n"] < 3:
        raise psycopg.errors.SerializationFailure("could not serialize access")
    return "done"


@workflow(name="wf.conflicting")
def conflicting_wf(schema):
    return conflicting(schema)


def test_transaction_retries_serialization_failures_and_rolls_back(engine, stock, database_url):
    conflicts["n"] = 0
    assert engine.run_workflow(conflicting_wf, stock, workflow_id="t2") == "done"
    assert stock_of(database_url, stock) == 11  # only the committed attempt's update stayed
    attempts = engine.get_workflow("t2").steps[0].attempt_records
    assert [a.error_type for a in attempts] == ["psycopg.errors.SerializationFailure"] * 2 + [None]


@transaction
def bad_sql(schema):
    db().execute(f"UPDATE {schema}.stock SET n = n - 1")
    db().execute("SELECT * FROM no_such_table")


@workflow(name="wf.bad_sql")
def bad_sql_wf(schema):
    return bad_sql(schema)


def test_other_transaction_errors_are_recorded_not_retried(engine, stock, database_url):
    with pytest.raises(psycopg.errors.UndefinedTable):
        engine.run_workflow(bad_sql_wf, stock, workflow_id="t3")
    step_row = engine.get_workflow("t3").steps[0]
    assert step_row.status == "ERROR" and len(step_row.attempt_records) == 1
    assert stock_of(database_url, stock) == 10


def test_db_outside_transaction_is_a_clear_error():
    with pytest.raises(DurableError, match="only available inside a @transaction"):
        db()


# storage ----------------------------------------------------------------------------------------


@step(name="wf.unserializable")
def unserializable():
    return object()


@workflow(name="wf.bad_value")
def bad_value():
    return unserializable()


def test_unserializable_values_name_workflow_and_step(engine):
    with pytest.raises(SerializationError, match=r"workflow 'bv'.*step 1 \(wf.unserializable\)"):
        engine.run_workflow(bad_value, workflow_id="bv")
    assert engine.get_workflow("bv").steps[0].status == "ERROR"
    with pytest.raises(SerializationError, match="inputs"):
        engine.start_workflow(simple, {1, 2}, workflow_id="bad-input")
    with pytest.raises(WorkflowNotFound):
        engine.get_workflow("bad-input")


def test_newer_schema_is_refused(database_url, schema):
    with connect(database_url) as conn:
        migrate(conn, schema)
        conn.execute(f"INSERT INTO {schema}.schema_version VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew, match="newer"):
        Engine(database_url, "x", schema=schema).launch()


def test_concurrent_launches_migrate_once(database_url, schema):
    errors: list[BaseException] = []

    def run():
        try:
            with connect(database_url) as conn:
                migrate(conn, schema)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with connect(database_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.schema_version").fetchone()[0] == SCHEMA_VERSION


def test_triggers_notify_small_payloads(engine, database_url, schema):
    import json

    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {schema}_events")
        engine.run_workflow(simple, "secret-value", workflow_id="n1")
        notes = [json.loads(n.payload) for n in listener.notifies(timeout=0.5)]
    kinds = {(n["t"], n.get("s")) for n in notes if n.get("id") == "n1"}
    assert ("w", "PENDING") in kinds and ("w", "SUCCESS") in kinds and ("s", "SUCCESS") in kinds
    assert any(n["t"] == "s" and n["n"] == 1 for n in notes)  # the attempt number rides on the step event
    assert all("secret-value" not in json.dumps(n) for n in notes)


def test_unreachable_database_is_one_clear_line_without_password():
    with pytest.raises(DatabaseUnavailable) as info:
        Engine("postgresql://bob:hunter2@127.0.0.1:1/app", "x").launch()
    message = str(info.value)
    assert "127.0.0.1:1" in message and "hunter2" not in message and "\n" not in message


def test_executor_id_resolution(database_url, schema, monkeypatch):
    monkeypatch.setenv("DURABLE_EXECUTOR_ID", "from-env")
    assert Engine(database_url, schema=schema).executor_id == "from-env"
    monkeypatch.delenv("DURABLE_EXECUTOR_ID")
    assert Engine(database_url, schema=schema).executor_id == "local"
    assert Engine(database_url, "explicit", schema=schema).executor_id == "explicit"


def test_one_live_process_per_executor_id(make_engine, database_url, schema):
    make_engine("shared-id")
    with pytest.raises(DurableError, match="in use"):
        make_engine("shared-id")
    first = Engine(database_url, schema=schema).launch()
    second = Engine(database_url, schema=schema).launch()
    try:
        assert first.executor_id == "local" and second.executor_id.startswith("local-")
    finally:
        second.shutdown()
        first.shutdown()


def test_engine_must_be_launched(database_url, schema):
    with pytest.raises(DurableError, match="not launched"):
        Engine(database_url, "x", schema=schema).start_workflow(simple, 1)


def test_result_timeout(engine):
    gate = threading.Event()

    @step(name="wf.gate")
    def blocked():
        gate.wait(5)

    @workflow(name="wf.blocked")
    def blocked_wf():
        blocked()

    from engine import WorkflowTimeout

    h = engine.start_workflow(blocked_wf, workflow_id="slow")
    with pytest.raises(WorkflowTimeout):
        h.result(timeout=0.05)
    gate.set()
    h.result(timeout=5)
    wait_for(lambda: engine.in_flight() == 0)


@step(name="wf.long_backoff", interval_seconds=30.0, max_attempts=2)
def long_backoff():
    raise RuntimeError("fails, then a long wait")


@workflow(name="wf.long_backoff_wf")
def long_backoff_wf():
    long_backoff()


def test_shutdown_interrupts_waits_and_leaves_workflow_pending(make_engine, control):
    import time

    eng = make_engine()
    eng.start_workflow(long_backoff_wf, workflow_id="sd")
    wait_for(lambda: [s.status for s in control.get_workflow("sd").steps] == ["WAITING_RETRY"])
    started = time.monotonic()
    eng.shutdown()
    assert time.monotonic() - started < 5
    assert control.get_workflow("sd").status == "PENDING"


def test_garbage_control_notifications_are_ignored(engine, database_url, schema):
    import logging

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("durable.worker")
    logger.addHandler(handler)
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            garbage = (
                "not json",
                '{"op": "explode"}',
                '{"no_op": 1}',
                "[1, 2]",
                '{"op": "cancel", "ids": 5}',
                '{"op": "message", "ids": "abc"}',
                '{"op": "event", "ids": {"a": 1}}',
            )
            for payload in garbage:
                conn.execute("SELECT pg_notify(%s, %s)", (f"{schema}_control", payload))
        wait_for(lambda: len([m for m in seen if "ignoring" in m]) >= len(garbage))
    finally:
        logger.removeHandler(handler)
    assert engine.run_workflow(simple, "still fine") == "still fine"


def test_resume_while_the_cancelled_run_is_still_unwinding(engine, control):
    gate = threading.Event()

    @step(name="wf.gated")
    def gated():
        gate.wait(5)
        return "through"

    @workflow(name="wf.gated_wf")
    def gated_wf():
        return [gated(), echo("after")]

    engine.start_workflow(gated_wf, workflow_id="cr")
    wait_for(lambda: engine.in_flight() == 1)
    control.cancel("cr")
    control.resume("cr")
    wait_for(lambda: control.get_workflow("cr").status == "PENDING")
    gate.set()
    assert engine.retrieve_workflow("cr").result(timeout=10) == ["through", "after"]


@step
def bare_step(x):
    return x + 1


@transaction
def bare_transaction():
    return db().execute("SELECT 41").fetchone()[0]


@workflow
def bare_workflow(x):
    return bare_step(x) + bare_transaction()


@step
async def bare_async_step(x):
    return x * 3


@workflow
async def bare_async_workflow(x):
    return await bare_async_step(x)


def test_bare_decorators_name_steps_by_qualname(engine):
    assert engine.run_workflow(bare_workflow, 1, workflow_id="bare") == 43
    rec = engine.get_workflow("bare")
    assert rec.name == "bare_workflow"
    assert [(s.name, s.kind) for s in rec.steps] == [("bare_step", "step"), ("bare_transaction", "transaction")]
    assert engine.run_workflow(bare_async_workflow, 2) == 6


def test_transaction_outside_a_workflow_retries_serialization_failures(engine, stock, database_url):
    conflicts["n"] = 0
    assert conflicting(stock) == "done"
    assert conflicts["n"] == 3 and stock_of(database_url, stock) == 11


def kill_worker_sessions(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'durable-worker' AND pid <> pg_backend_pid() AND datname = current_database()"
        ).fetchone()[0]


def test_lost_database_connections_pause_the_workflow_then_it_resumes(engine, control, database_url):
    runs: list[int] = []
    killed: list[int] = []

    @step(name="wf.across_outage")
    def across_outage():
        runs.append(1)
        if not killed:  # as a database restart does to every session, right before this step's checkpoint
            killed.append(kill_worker_sessions(database_url))
        return "done"

    @workflow(name="wf.outage")
    def outage_wf():
        return [echo("before"), across_outage()]

    handle = engine.start_workflow(outage_wf, workflow_id="outage")
    assert handle.result(timeout=20) == ["before", "done"]
    assert killed[0] >= 1
    assert control.get_workflow("outage").recovery_count == 0  # an outage is not a recovery
    # The step ran again when its checkpoint met a dead connection, or once when the checkpoint got a fresh one
    # because another thread (the heartbeat) met the dead ones first: the threads' timing decides which.
    assert len(runs) in (1, 2)


def test_a_child_paused_by_an_outage_does_not_fail_its_parent(engine, control, database_url):
    gate = threading.Event()
    runs: list[int] = []

    @step(name="wf.child_step_across_outage")
    def child_step():
        runs.append(1)
        gate.wait(5)
        return "shipped"

    @workflow(name="wf.child_across_outage")
    def child_wf():
        return child_step()

    @workflow(name="wf.parent_across_outage")
    def parent_wf():
        return child_wf().upper()

    handle = engine.start_workflow(parent_wf, workflow_id="p-outage")
    wait_for(lambda: runs)
    kill_worker_sessions(database_url)
    gate.set()
    assert handle.result(timeout=20) == "SHIPPED"
    assert control.get_workflow("p-outage-1").status == "SUCCESS"


def test_a_transaction_cut_off_by_an_outage_runs_again_instead_of_failing(engine, control, stock, database_url):
    attempts: list[int] = []

    @transaction(name="wf.cut_off")
    def cut_off(schema):
        db().execute(f"UPDATE {schema}.stock SET n = n - 1")
        attempts.append(1)
        if len(attempts) == 1:  # the server drops this very connection mid-transaction, as a restart does
            pid = db().execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(database_url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return db().execute(f"SELECT n FROM {schema}.stock").fetchone()[0]

    @workflow(name="wf.cut_off_wf")
    def cut_off_wf(schema):
        return cut_off(schema)

    assert engine.start_workflow(cut_off_wf, stock, workflow_id="cut").result(timeout=20) == 9
    assert len(attempts) == 2 and stock_of(database_url, stock) == 9  # the cut-off attempt rolled back
    rec = control.get_workflow("cut")
    assert rec.status == "SUCCESS" and rec.steps[0].status == "SUCCESS"


def test_a_workflow_id_with_a_nul_byte_or_too_long_is_one_clear_line(engine):
    from engine import InvalidInput

    with pytest.raises(InvalidInput, match="NUL byte"):
        engine.start_workflow(simple, "x", workflow_id="bad\x00id")
    with pytest.raises(InvalidInput, match="the limit is 256"):
        engine.start_workflow(simple, "x", workflow_id="w" * 257)
    with pytest.raises(InvalidInput, match="NUL byte"):
        engine.retrieve_workflow("bad\x00id")
