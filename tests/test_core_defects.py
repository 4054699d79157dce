"""The four defects of the engine-core issue, each caught by a test that fails without its fix."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import psycopg
import pytest

from engine import SerializationError, step, workflow
from engine.states import StepKind, StepStatus
from tests.helpers import wait_for

seen: dict[str, int] = {}


# 1. a background thread never dies silently: the finisher survives a failing completion callback -----


def test_finisher_survives_a_callback_that_fails(engine, caplog):
    def broken(committed: bool) -> None:
        raise psycopg.OperationalError("the database went away")

    caplog.set_level(logging.ERROR, logger="durable.worker")
    engine.finisher.submit(("nobody", "SUCCESS", "1", None), broken)
    wait_for(lambda: "handling a finished workflow failed" in caplog.text)
    assert engine.finisher.alive
    assert engine.run_workflow(plain, 3) == 3


@step(name="cd.echo")
def echo(x: int) -> int:
    return x


@workflow(name="cd.plain")
def plain(x: int) -> int:
    return echo(x)


# 2. a slow-step mark never moves a step backwards ------------------------------------------------------


@step(name="cd.fails_once", interval_seconds=30.0, max_attempts=2)
def fails_once() -> str:
    seen["fails_once"] = seen.get("fails_once", 0) + 1
    if seen["fails_once"] == 1:
        raise RuntimeError("first attempt fails")
    return "ok"


@workflow(name="cd.retrying")
def retrying() -> str:
    return fails_once()


def test_a_late_running_mark_leaves_the_retry_countdown_alone(engine, control):
    engine.start_workflow(retrying, workflow_id="m1")
    st = wait_for(lambda: next((s for s in control.get_workflow("m1").steps if s.status == "WAITING_RETRY"), None))
    # What the slow-step marker writes when it fires just after attempt 1 failed:
    engine.runtime_store.mark_step(
        "m1", 1, "cd.fails_once", StepKind.STEP, StepStatus.RUNNING, 1, 2, datetime.now(timezone.utc)
    )
    after = control.get_workflow("m1").steps[0]
    assert after.status == "WAITING_RETRY" and after.attempts == 1
    assert after.next_attempt_at == st.next_attempt_at
    control.retry_now("m1")
    assert engine.retrieve_workflow("m1").result(timeout=10) == "ok"


# 3. a BaseException from a step reaches the in-process caller at once; the workflow stays recoverable --


@step(name="cd.interrupt_once")
def interrupt_once() -> str:
    if seen.get("interrupting"):
        raise KeyboardInterrupt
    return "resumed"


@workflow(name="cd.interrupted")
def interrupted() -> str:
    return interrupt_once()


def test_keyboard_interrupt_reaches_the_caller_and_the_workflow_recovers(make_engine):
    seen["interrupting"] = 1
    first = make_engine("cd-exec")
    handle = first.start_workflow(interrupted, workflow_id="ki")
    with pytest.raises(KeyboardInterrupt):
        handle.result(timeout=10)
    with pytest.raises(KeyboardInterrupt):
        first.run_workflow(interrupted, workflow_id="ki-2")
    assert first.get_workflow("ki").status == "PENDING"
    seen["interrupting"] = 0
    first.shutdown()
    again = make_engine("cd-exec")
    assert again.retrieve_workflow("ki").result(timeout=10) == "resumed"
    assert again.retrieve_workflow("ki-2").result(timeout=10) == "resumed"


# 4. in process, result() raises the workflow's own exception object -------------------------------------


class BadError(Exception):
    def __init__(self, a: int, b: int):
        super().__init__(f"{a}, {b}")


@workflow(name="cd.bad")
def bad() -> None:
    raise BadError(1, 2)


def test_in_process_result_raises_the_original_exception(engine):
    with pytest.raises(BadError, match="1, 2"):
        engine.start_workflow(bad, workflow_id="bad").result(timeout=10)
    with pytest.raises(BadError):
        engine.run_workflow(bad, workflow_id="bad-2")


def test_serialization_error_is_a_type_error():
    assert issubclass(SerializationError, TypeError)
