"""Ownership: a run that lost its workflow writes nothing, and a worker is dead only when its process is.

A workflow is adopted from an executor whose heartbeat is older than the lease; a heartbeat can be late
for a live process (a database outage, a stalled machine). Two guards keep one workflow in one process:
a checkpoint is fenced on the row's owner, and an executor whose process still holds its session lock
counts as alive whatever its heartbeat says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from engine import Engine, db, step, transaction, workflow
from engine.states import StepStatus
from engine.store.runtime import ClaimedWorkflow
from tests.helpers import wait_for
from tests.private_pg import PrivatePostgres

gates: dict[str, threading.Event] = {}
entered: dict[str, threading.Event] = {}


def _hold(key: str) -> None:
    entered[key].set()
    gates[key].wait(10)


@step(name="own.slow")
def slow(x: int) -> int:
    _hold("step")
    return x + 1


@workflow(name="own.flow")
def flow(x: int) -> int:
    return slow(x)


@transaction(name="own.effect")
def effect(table: str) -> int:
    db().execute(f"INSERT INTO {table} VALUES (1)")  # type: ignore[arg-type]
    _hold("transaction")
    return 1


@workflow(name="own.effects")
def effects(table: str) -> int:
    _hold("body")
    return effect(table)


@pytest.fixture(autouse=True)
def fresh_gates() -> Iterator[None]:
    for key in ("step", "transaction", "body"):
        gates[key], entered[key] = threading.Event(), threading.Event()
    yield
    for gate in gates.values():
        gate.set()


@pytest.fixture
def elsewhere(engine, database_url: str, schema: str) -> Iterator[None]:
    """Another live executor, as the rows see one: its row, and its process's lock held (so no one adopts
    back what it takes)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {schema}.executors (executor_id, host, pid) VALUES ('elsewhere', 'h', 1)")
    holder = _lock_executor(database_url, schema, "elsewhere")
    yield
    holder.close()


def _give_away(database_url: str, schema: str, wid: str) -> None:
    """What an adoption by the other executor does to the row."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"UPDATE {schema}.workflows SET executor_id = 'elsewhere' WHERE workflow_id = %s", (wid,))


def test_a_step_of_a_run_that_lost_its_workflow_is_not_recorded(engine, control, database_url, schema, elsewhere):
    engine.start_workflow(flow, 1, workflow_id="lost")
    assert entered["step"].wait(5)
    _give_away(database_url, schema, "lost")
    gates["step"].set()
    wait_for(lambda: engine.in_flight() == 0)
    record = control.get_workflow("lost")
    assert record.status == "PENDING" and record.executor_id == "elsewhere"
    assert [s for s in record.steps if s.status == StepStatus.SUCCESS] == []


@pytest.fixture
def effects_table(database_url: str, schema: str) -> Iterator[str]:
    table = f"{schema}_effects"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (n int)")
    yield table
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def _count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_a_transaction_of_a_run_that_lost_its_workflow_has_no_effect(
    engine, control, database_url, schema, effects_table, elsewhere
):
    engine.start_workflow(effects, effects_table, workflow_id="lost-tx")
    assert entered["body"].wait(5)
    _give_away(database_url, schema, "lost-tx")
    gates["body"].set()
    gates["transaction"].set()
    wait_for(lambda: engine.in_flight() == 0)
    assert _count(database_url, effects_table) == 0
    assert control.get_workflow("lost-tx").steps == []


def test_no_one_takes_a_workflow_while_its_transaction_runs(
    engine, control, database_url, schema, effects_table, elsewhere
):
    """The transaction's snapshot is taken before an adoption could happen: the row is held until it commits."""
    gates["body"].set()
    engine.start_workflow(effects, effects_table, workflow_id="held")
    assert entered["transaction"].wait(5)
    taking = threading.Thread(target=_give_away, args=(database_url, schema, "held"))
    taking.start()
    wait_for(lambda: _waiting_on_a_lock(database_url))
    assert control.get_workflow("held").executor_id == engine.executor_id
    gates["transaction"].set()
    taking.join(5)
    assert _count(database_url, effects_table) == 1
    assert [s.status for s in control.get_workflow("held").steps] == [StepStatus.SUCCESS]
    assert control.get_workflow("held").executor_id == "elsewhere"


def _waiting_on_a_lock(database_url: str) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


def _lock_executor(database_url: str, schema: str, executor_id: str) -> psycopg.Connection:
    """A connection holding the executor's session lock, as its live process's listener does."""
    conn = psycopg.connect(database_url, autocommit=True)
    got = conn.execute(
        "SELECT pg_try_advisory_lock(hashtext('durable-executor:' || %s || ':' || %s))", (schema, executor_id)
    ).fetchone()
    assert got == (True,)
    return conn


def test_a_worker_whose_heartbeat_is_late_but_whose_process_lives_is_not_adopted(
    make_engine, control, database_url, schema
):
    first = make_engine("stalled", heartbeat_seconds=0.05, lease_seconds=0.2, auto_recover=False)
    first.shutdown(wait=True)  # the schema exists; now stage a live-but-silent executor by hand
    holder = _lock_executor(database_url, schema, "stalled")
    try:
        wid = control.enqueue_workflow("own.flow", 1, workflow_id="kept")
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                f"UPDATE {schema}.executors SET stopped_at = NULL, heartbeat_at = now() - interval '1 hour' "
                "WHERE executor_id = 'stalled'"
            )
            conn.execute(
                f"UPDATE {schema}.workflows SET status = 'PENDING', executor_id = 'stalled' WHERE workflow_id = %s",
                (wid,),
            )
        adopter = make_engine("adopter", heartbeat_seconds=0.05, lease_seconds=0.2)
        beats = adopter.heartbeat.beats
        wait_for(lambda: adopter.heartbeat.beats >= beats + 5)  # several chances to adopt, none taken
        assert control.get_workflow(wid).executor_id == "stalled"
        assert [w.alive for w in control.workers() if w.executor_id == "stalled"] == [True]
    finally:
        holder.close()
    gates["step"].set()
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    assert control.get_workflow(wid).executor_id == "adopter"


def test_a_serialization_failure_at_a_transactions_checkpoint_is_retried_not_taken_for_an_outage(
    engine, control, database_url, schema, effects_table
):
    """A row written meanwhile under the transaction's snapshot makes its checkpoint fail to serialize: the
    transaction certainly rolled back, so its retry policy runs it again (no pause, no replay)."""
    gates["body"].set()
    engine.start_workflow(effects, effects_table, workflow_id="ser")
    assert entered["transaction"].wait(5)  # its first statement ran: the snapshot is taken
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {schema}.steps (workflow_id, step_id, name, kind, status, attempts) "
            "VALUES ('ser', 1, 'own.effect', 'transaction', 'RUNNING', 1)"
        )
    gates["transaction"].set()
    wait_for(lambda: control.get_workflow("ser").status == "SUCCESS")
    assert _count(database_url, effects_table) == 1
    [step_row] = control.get_workflow("ser").steps
    first = step_row.attempt_records[0]
    assert first.error_type is not None and first.error_type.endswith("SerializationFailure")


ran: dict[str, int] = {}


@step(name="own.counted")
def counted(key: str) -> str:
    ran[key] = ran.get(key, 0) + 1
    if key == "second":
        _hold("step")
    return key


@workflow(name="own.two_steps")
def two_steps() -> list[str]:
    return [counted("first"), counted("second")]


def test_a_claim_of_a_workflow_running_here_replays_what_that_run_recorded(engine, monkeypatch):
    """A workflow is claimed again here (stranded by an outage, say) while a run of it is still going on here,
    and that run ends between the claim and the start of the new run: the new run replays every step the
    ended run recorded (its checkpoints are read after it ended), and no step runs twice."""
    ran.clear()
    handle = engine.start_workflow(two_steps)
    assert entered["step"].wait(10)
    read = engine.runtime_store.recorded_steps
    claimer = threading.current_thread()

    def read_then_let_the_run_end(ids: list[str]) -> object:
        checkpoints = read(ids)
        if threading.current_thread() is claimer:
            gates["step"].set()
            handle.result(10)  # the run ends here: its second step is recorded after this read
            wait_for(lambda: engine.runs.future(handle.workflow_id) is None, timeout=10)
        return checkpoints

    monkeypatch.setattr(engine.runtime_store, "recorded_steps", read_then_let_the_run_end)
    state = engine.runtime_store.workflow_state(handle.workflow_id)
    inputs = {"args": [], "kwargs": {}}
    engine.run_claimed([ClaimedWorkflow(handle.workflow_id, "own.two_steps", inputs, state.status)])
    gates["step"].set()
    assert handle.result(10) == ["first", "second"]
    wait_for(lambda: engine.runs.future(handle.workflow_id) is None, timeout=10)
    assert ran == {"first": 1, "second": 1}


def test_right_after_a_database_restart_no_executor_is_taken_for_dead() -> None:
    """A restart drops every executor's lock, and no heartbeat was written while the server was down: for a
    lease after the server starts, a worker that has not yet taken its lock back is still alive (a process
    launched meanwhile would otherwise adopt a live process's workflows)."""
    lease = 30.0  # far longer than the restart and the checks below take
    with PrivatePostgres() as pg:
        with Engine(pg.url(), "silent", schema="restart_live", auto_recover=False):
            pass
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute(
                "UPDATE restart_live.executors SET stopped_at = NULL, heartbeat_at = now() - interval '1 hour'"
            )
            conn.execute(
                "INSERT INTO restart_live.workflows (workflow_id, name, status, inputs, executor_id)"
                " VALUES ('kept', 'own.flow', 'PENDING', '{\"args\": [1], \"kwargs\": {}}', 'silent')"
            )
        pg.restart()
        with Engine(pg.url(), "adopter", schema="restart_live", lease_seconds=lease, auto_recover=False) as eng:
            limits = eng.recovery_limits()
            assert eng.runtime_store.claim_dead("adopter", limits, lease, 10) == []
            assert [w.alive for w in eng.control.workers() if w.executor_id == "silent"] == [True]
            # the same silent executor, judged with a lease shorter than the server's uptime, is dead
            pg_up = _seconds_since_start(pg.url())
            assert [c.workflow_id for c in eng.runtime_store.claim_dead("adopter", limits, pg_up / 2, 10)] == ["kept"]


def _seconds_since_start(url: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp() - pg_postmaster_start_time())").fetchone()
    assert row is not None
    return float(row[0])


def test_a_heartbeat_slower_than_a_quarter_lease_still_beats_four_times_a_lease(make_engine):
    """A beat vouches for the runs for half a lease; beats as far apart as the lease would leave runs reading their
    workflow's owner before every step for half of each beat (and other workers could take the worker for dead)."""
    eng = make_engine(heartbeat_seconds=60.0, lease_seconds=0.4)
    assert eng.beat_seconds == pytest.approx(0.1)
    beats = eng.lease.beats
    wait_for(lambda: eng.lease.beats >= beats + 3, timeout=5)


def test_the_lease_beats_on_while_the_heartbeat_is_busy(make_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Taking over a dead executor's thousand workflows kept the heartbeat's thread busy for most of a second; the
    lease beats on its own thread, so this executor's runs stay vouched for (no lapse, no reading of their
    workflow's owner before each step) while that thread works."""
    eng = make_engine(heartbeat_seconds=0.05, lease_seconds=1.0)  # beats 50 ms apart, each vouching for 0.5 s
    busy, release = threading.Event(), threading.Event()
    claim_work = eng.heartbeat.claim_work

    def stuck() -> float | None:
        busy.set()
        release.wait(10)
        return claim_work()

    monkeypatch.setattr(eng.heartbeat, "claim_work", stuck)
    try:
        assert busy.wait(5)
        beats = eng.lease.beats
        wait_for(lambda: eng.lease.beats >= beats + 12, timeout=5)  # 0.6 s busy: longer than half a lease
        assert time.monotonic() < eng.runs.lease_until
        assert eng.runs.lease_epoch == 0
    finally:
        release.set()
