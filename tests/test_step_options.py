"""Step options users of retries expect, steps started on their own, and forks with changes (issue 11)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from engine import InvalidState, MaxAttemptsExceeded, StepTimeout, db, step, step_context, transaction, workflow
from tests.helpers import wait_for

calls: dict[str, int] = {}


def bump(key: str) -> int:
    calls[key] = calls.get(key, 0) + 1
    return calls[key]


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


# retry_on and should_retry -----------------------------------------------------------------------------


@step(name="so.picky", retry_on=(ConnectionError,), interval_seconds=0.01, max_attempts=3)
def picky(kind: str) -> str:
    n = bump(kind)
    if kind == "conn" and n < 3:
        raise ConnectionError("flaky network")
    if kind == "value":
        raise ValueError("bad input")
    return f"{kind} after {n}"


@workflow(name="so.picky_wf")
def picky_wf(kind: str) -> str:
    return picky(kind)


def test_retry_on_retries_only_the_named_types(engine):
    assert engine.run_workflow(picky_wf, "conn", workflow_id="ro-1") == "conn after 3"
    with pytest.raises(ValueError, match="bad input"):
        engine.run_workflow(picky_wf, "value", workflow_id="ro-2")
    assert calls["value"] == 1
    (attempt,) = engine.get_workflow("ro-2").steps[0].attempt_records
    assert attempt.end_reason == "not_retryable"
    reasons = [a.end_reason for a in engine.get_workflow("ro-1").steps[0].attempt_records]
    assert reasons == ["error", "error", None]


def only_transient(exc: BaseException) -> bool:
    return "transient" in str(exc)


@step(name="so.decides", should_retry=only_transient, interval_seconds=0.01, max_attempts=4)
def decides() -> int:
    n = bump("decides")
    raise RuntimeError("transient glitch" if n < 2 else "permanent failure")


@workflow(name="so.decides_wf")
def decides_wf() -> str:
    try:
        decides()
    except RuntimeError as exc:
        return str(exc)
    return "no error"


def test_should_retry_decides_per_exception(engine):
    assert engine.run_workflow(decides_wf, workflow_id="sr") == "permanent failure"
    assert calls["decides"] == 2


# backoff cap and jitter ---------------------------------------------------------------------------------


@step(name="so.capped", interval_seconds=0.05, backoff_rate=10.0, max_interval_seconds=0.08, max_attempts=3)
def capped() -> str:
    if bump("capped") < 3:
        raise RuntimeError("again")
    return "ok"


@workflow(name="so.capped_wf")
def capped_wf() -> str:
    return capped()


def test_max_interval_caps_the_backoff(engine):
    assert engine.run_workflow(capped_wf, workflow_id="cap") == "ok"
    step_row = engine.get_workflow("cap").steps[0]
    a1, a2, a3 = step_row.attempt_records
    assert 0.08 <= (a3.started_at - a2.finished_at).total_seconds() < 0.5  # capped at 0.08, not 0.05 x 10
    assert step_row.policy == "3 attempts · 0.05s ×10 ≤0.08s"


# timeouts ------------------------------------------------------------------------------------------------


@step(name="so.slow_then_quick", timeout_seconds=0.1, interval_seconds=0.01, max_attempts=2)
def slow_then_quick() -> int:
    if bump("slow") == 1:
        time.sleep(2)
    return step_context().attempt


@workflow(name="so.timeout_wf")
def timeout_wf() -> int:
    return slow_then_quick()


def test_a_sync_attempt_past_its_timeout_is_recorded_as_timed_out_and_retried(engine):
    started = time.monotonic()
    assert engine.run_workflow(timeout_wf, workflow_id="to") == 2
    assert time.monotonic() - started < 1.5
    a1, a2 = engine.get_workflow("to").steps[0].attempt_records
    assert (a1.end_reason, a1.error_type) == ("timeout", "engine.errors.StepTimeout")
    assert "timed out after 0.1s" in (a1.error_message or "")
    assert a2.end_reason is None and a2.ok
    assert "timeout 0.1s" in (engine.get_workflow("to").steps[0].policy or "")


@step(name="so.async_slow", timeout_seconds=0.05, max_attempts=1)
async def async_slow() -> str:
    bump("async_slow")
    await asyncio.sleep(5)
    return "never"


@workflow(name="so.async_timeout_wf")
async def async_timeout_wf() -> str:
    try:
        await async_slow()
    except MaxAttemptsExceeded as exc:
        assert isinstance(exc.errors[0], StepTimeout)
        return f"cancelled: {exc.errors[0]}"
    return "ran"


def test_an_async_attempt_is_cancelled_at_its_timeout(engine):
    started = time.monotonic()
    out = engine.run_workflow(async_timeout_wf, workflow_id="ato")
    assert out.startswith("cancelled: attempt 1 of step 'so.async_slow' timed out") and time.monotonic() - started < 2


@step(name="so.always_slow", timeout_seconds=0.02, interval_seconds=0.0, max_attempts=2)
def always_slow() -> None:
    time.sleep(0.5)


def test_step_timeouts_hold_outside_a_workflow_too():
    with pytest.raises(MaxAttemptsExceeded) as caught:
        always_slow()
    assert len(caught.value.errors) == 2 and all(isinstance(e, StepTimeout) for e in caught.value.errors)


# a step or a transaction started on its own --------------------------------------------------------------


@step(name="so.charge")
def charge(amount: int) -> str:
    bump("charge")
    return f"charged {amount}"


@transaction(name="so.book")
def book(schema: str, amount: int) -> int:
    db().execute(f"INSERT INTO {schema}.ledger (amount) VALUES (%s)", (amount,))
    return db().execute(f"SELECT count(*) FROM {schema}.ledger").fetchone()[0]


def test_a_step_runs_on_its_own_as_a_one_step_workflow(engine, control):
    assert engine.start_workflow(charge, 5, workflow_id="alone").result(timeout=10) == "charged 5"
    rec = control.get_workflow("alone")
    assert rec.name == "so.charge" and [(s.name, s.status) for s in rec.steps] == [("so.charge", "SUCCESS")]
    assert "so.charge" in engine.workflow_names


def test_a_transaction_started_under_a_workflow_id_happens_once(engine, control, schema, database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.ledger (amount int)")
    assert engine.start_workflow(book, schema, 7, workflow_id="pay-1").result(timeout=10) == 1
    assert engine.start_workflow(book, schema, 7, workflow_id="pay-1").result(timeout=10) == 1
    wid = control.enqueue_workflow("so.book", schema, 8, workflow_id="pay-2")
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    with psycopg.connect(database_url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {schema}.ledger").fetchone()[0] == 2


# fork with changed inputs and step outputs ---------------------------------------------------------------


@step(name="so.price")
def price(item: str) -> int:
    bump("price")
    return {"apple": 3, "pear": 5}[item]


@step(name="so.total")
def total(unit: int, qty: int) -> int:
    bump("total")
    return unit * qty


@workflow(name="so.order")
def order(item: str, qty: int) -> int:
    return total(price(item), qty)


def test_fork_with_new_inputs_leaves_the_original_alone(engine, control):
    assert engine.run_workflow(order, "apple", 2, workflow_id="ord") == 6
    fork = control.fork("ord", from_step=1, inputs={"args": ["pear", 3]})
    assert engine.retrieve_workflow(fork).result(timeout=10) == 15
    forked, original = control.get_workflow(fork), control.get_workflow("ord")
    assert forked.inputs == {"args": ["pear", 3], "kwargs": {}} and forked.fork_changes == {
        "inputs": {"args": ["pear", 3], "kwargs": {}}
    }
    assert original.inputs == {"args": ["apple", 2], "kwargs": {}} and original.output == 6


def test_fork_with_an_overridden_step_output(engine, control):
    engine.run_workflow(order, "apple", 2, workflow_id="ord2")
    fork = control.fork("ord2", from_step=2, step_outputs={1: 100})
    assert engine.retrieve_workflow(fork).result(timeout=10) == 200
    assert calls["price"] == 1  # step 1 was not run again: its output was replaced
    assert control.get_workflow(fork).fork_changes == {"step_outputs": {"1": 100}}
    assert control.get_workflow("ord2").steps[0].output == 3


def test_fork_refuses_changes_it_cannot_make(engine, control):
    engine.run_workflow(order, "apple", 2, workflow_id="ord3")
    with pytest.raises(InvalidState, match="before step 2"):
        control.fork("ord3", from_step=2, step_outputs={2: 1})
    with pytest.raises(InvalidState, match="inputs must be"):
        control.fork("ord3", inputs={"args": "pear"})


# virtual time through the project's own use of the plugin -------------------------------------------------


@step(name="so.hourly", interval_seconds=600.0, backoff_rate=10.0, max_interval_seconds=3600.0, max_attempts=4)
def hourly() -> int:
    if bump("hourly") < 4:
        raise ConnectionError("down")
    return step_context().attempt


@workflow(name="so.hourly_wf")
def hourly_wf() -> int:
    return hourly()


def test_long_backoffs_pass_in_virtual_time(durable_engine, durable_clock, steps_of):
    started = time.monotonic()
    assert durable_engine.run_workflow(hourly_wf, workflow_id="hourly") == 4
    assert time.monotonic() - started < 1.0 and durable_clock.skew() == 600 + 3600 + 3600
    (row,) = steps_of("hourly")
    assert (row.status, row.attempts) == ("SUCCESS", 4)
