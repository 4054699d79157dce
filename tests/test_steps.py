"""Step semantics of issue 2, one test (or more) per numbered line."""

from __future__ import annotations

import json

import psycopg
import pytest

from engine import (
    MaxAttemptsExceeded,
    NonDeterministicWorkflowError,
    RecordedError,
    step,
    step_context,
    workflow,
)
from tests.helpers import wait_for

calls: dict[str, int] = {}


def bump(key: str) -> int:
    calls[key] = calls.get(key, 0) + 1
    return calls[key]


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


# 1. committed before the workflow continues; recorded outcomes replay without running -----------


@step(name="t1.first")
def first(x: int) -> int:
    bump("first")
    return x + 1


@step(name="t1.peek")
def peek(schema: str, url: str, wid: str) -> str:
    bump("peek")
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"SELECT status, output FROM {schema}.steps WHERE workflow_id = %s AND step_id = 1", (wid,)
        ).fetchone()
    return f"{row[0]}:{row[1]}"


@workflow(name="t1.committed")
def committed(schema: str, url: str, wid: str) -> list:
    return [first(1), peek(schema, url, wid)]


def test_step_is_committed_before_workflow_continues(engine, schema, database_url):
    out = engine.run_workflow(committed, schema, database_url, "c1", workflow_id="c1")
    assert out == [2, "SUCCESS:2"]


def test_replay_returns_recorded_values_without_running(engine, schema, database_url):
    engine.run_workflow(committed, schema, database_url, "c2", workflow_id="c2")
    assert calls == {"first": 1, "peek": 1}
    fork = engine.control.fork("c2", from_step=3)
    assert engine.retrieve_workflow(fork).result(timeout=10) == [2, "SUCCESS:2"]
    assert calls == {"first": 1, "peek": 1}


# 2. retries with exponential backoff, then MaxAttemptsExceeded, recorded ------------------------


@step(name="t2.flaky", interval_seconds=0.05, max_attempts=3, backoff_rate=3.0)
def always_bad() -> None:
    raise ValueError(f"bad {step_context().attempt}")


@workflow(name="t2.catches")
def catches() -> dict:
    try:
        always_bad()
    except MaxAttemptsExceeded as exc:
        return {"step": exc.step_name, "max": exc.max_attempts, "errors": [str(e) for e in exc.errors]}
    return {}


def test_backoff_then_max_attempts_exceeded_caught_and_recorded(engine):
    out = engine.run_workflow(catches, workflow_id="r1")
    assert out == {"step": "t2.flaky", "max": 3, "errors": ["bad 1", "bad 2", "bad 3"]}
    rec = engine.get_workflow("r1")
    (st,) = rec.steps
    assert st.status == "ERROR" and st.attempts == 3 and st.next_attempt_at is None
    assert st.error["type"] == "engine.errors.MaxAttemptsExceeded"
    a1, a2, a3 = st.attempt_records
    gap1 = (a2.started_at - a1.finished_at).total_seconds()
    gap2 = (a3.started_at - a2.finished_at).total_seconds()
    assert 0.05 <= gap1 < 0.15 + 0.1
    assert 0.15 <= gap2 < 0.15 + 0.2
    no_wait_after_last = (rec.finished_at - a3.finished_at).total_seconds()
    assert no_wait_after_last < 0.45  # the next wait would have been 0.45 s


def test_recorded_error_replays_on_fork(engine):
    engine.run_workflow(catches, workflow_id="r2")
    fork = engine.control.fork("r2", from_step=2)
    assert engine.retrieve_workflow(fork).result(timeout=10) == {
        "step": "t2.flaky",
        "max": 3,
        "errors": ["bad 1", "bad 2", "bad 3"],
    }
    assert len(engine.get_workflow(fork).steps[0].attempt_records) == 3


# 3. retries_allowed=False: one attempt, checkpointed either way ---------------------------------


class PaymentDeclined(Exception):
    pass


@step(name="t3.once", retries_allowed=False, interval_seconds=0.01)
def once() -> None:
    bump("once")
    raise PaymentDeclined("card declined")


@workflow(name="t3.no_retry")
def no_retry() -> str:
    try:
        once()
    except PaymentDeclined as exc:
        return f"declined: {exc}"
    return "?"


def test_retries_not_allowed_runs_exactly_once_and_replays(engine):
    assert engine.run_workflow(no_retry, workflow_id="n1") == "declined: card declined"
    assert calls["once"] == 1
    st = engine.get_workflow("n1").steps[0]
    assert (st.status, st.attempts, st.error["type"]) == ("ERROR", 1, "tests.test_steps.PaymentDeclined")
    fork = engine.control.fork("n1", from_step=2)
    assert engine.retrieve_workflow(fork).result(timeout=10) == "declined: card declined"
    assert calls["once"] == 1


# 4. every attempt recorded, next_attempt_at while pending ----------------------------------------


@step(name="t4.second_time", interval_seconds=0.3, max_attempts=2)
def second_time() -> int:
    if step_context().attempt == 1:
        raise KeyError("not yet")
    return 7


@workflow(name="t4.wf")
def waits() -> int:
    return second_time()


def test_attempts_recorded_with_next_attempt_at_while_waiting(engine):
    h = engine.start_workflow(waits, workflow_id="a1")
    st = wait_for(lambda: next((s for s in engine.get_workflow("a1").steps if s.status == "WAITING_RETRY"), None))
    assert st.attempts == 1 and st.next_attempt_at is not None
    (a1,) = st.attempt_records
    assert a1.attempt == 1 and a1.error_type == "KeyError" and a1.error_message == "'not yet'"
    assert "Traceback" in a1.traceback and a1.finished_at >= a1.started_at
    assert h.result(timeout=10) == 7
    st = engine.get_workflow("a1").steps[0]
    assert st.status == "SUCCESS" and st.next_attempt_at is None
    assert [(a.attempt, a.error_type) for a in st.attempt_records] == [(1, "KeyError"), (2, None)]


# 5. step_context -------------------------------------------------------------------------------


@step(name="t5.ctx", max_attempts=4, interval_seconds=0.0)
def where_am_i() -> dict:
    c = step_context()
    if c.attempt < 2:
        raise RuntimeError("again")
    return {"wid": c.workflow_id, "sid": c.step_id, "name": c.step_name, "attempt": c.attempt, "max": c.max_attempts}


@workflow(name="t5.wf")
def ctx_wf() -> list:
    return [first(0), where_am_i()]


def test_step_context(engine):
    assert engine.run_workflow(ctx_wf, workflow_id="x1")[1] == {
        "wid": "x1",
        "sid": 2,
        "name": "t5.ctx",
        "attempt": 2,
        "max": 4,
    }


# 6. outside a workflow: a plain call with retries, no checkpoint ----------------------------------


def test_step_outside_workflow_is_plain_call_with_retries(engine, schema, database_url):
    assert where_am_i() == {"wid": None, "sid": None, "name": "t5.ctx", "attempt": 2, "max": 4}
    with pytest.raises(MaxAttemptsExceeded) as info:
        always_bad()
    assert [str(e) for e in info.value.errors] == ["bad 1", "bad 2", "bad 3"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.steps").fetchone()[0] == 0


# 7. non-determinism is detected -------------------------------------------------------------------


@step(name="t7.a")
def step_a() -> str:
    return "a"


@step(name="t7.b")
def step_b() -> str:
    return "b"


SWITCH = {"b": False}


@workflow(name="t7.wf")
def switching() -> str:
    return step_b() if SWITCH["b"] else step_a()


def test_different_step_at_recorded_position_fails_clearly(engine):
    engine.run_workflow(switching, workflow_id="d1")
    SWITCH["b"] = True
    try:
        fork = engine.control.fork("d1", from_step=2)
        with pytest.raises(NonDeterministicWorkflowError, match="t7.a.*t7.b"):
            engine.retrieve_workflow(fork).result(timeout=10)
        assert engine.get_workflow(fork).status == "ERROR"
    finally:
        SWITCH["b"] = False


# 8. only Exception is retried ------------------------------------------------------------------


@step(name="t8.interrupt", max_attempts=3, interval_seconds=0.0)
def interrupted() -> None:
    bump("interrupt")
    raise KeyboardInterrupt


def test_keyboard_interrupt_is_not_retried():
    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert calls["interrupt"] == 1


@workflow(name="t8.wf")
def interrupted_wf() -> None:
    interrupted()


def test_keyboard_interrupt_in_workflow_leaves_it_pending(engine):
    engine.start_workflow(interrupted_wf, workflow_id="k1")
    wait_for(lambda: calls.get("interrupt") == 1 and engine.in_flight() == 0)
    rec = engine.get_workflow("k1")
    assert rec.status == "PENDING" and rec.steps == []


# errors that cannot be rebuilt safely stay readable ------------------------------------------------


def test_unknown_error_class_becomes_recorded_error():
    from engine.serialization import error_from_dict

    err = error_from_dict({"type": "nowhere.Missing", "message": "gone", "args": ["gone"]})
    assert isinstance(err, RecordedError) and str(err) == "nowhere.Missing: gone"


def test_error_payload_is_json(engine, schema, database_url):
    engine.run_workflow(no_retry, workflow_id="j1")
    with psycopg.connect(database_url) as conn:
        raw = conn.execute(f"SELECT error::text FROM {schema}.steps WHERE workflow_id = 'j1'").fetchone()[0]
    assert json.loads(raw)["message"] == "card declined"
