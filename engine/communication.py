"""Messages, events, streams and `sleep_until` inside a workflow: each call is a step at its position.

Each is recorded like a step (one statement writes the step row together with its effect), so a replayed
or recovered workflow gets the recorded outcome and nothing runs twice: a message is consumed once, an event
or a stream value is written once. `recv` and `get_event` wait on the run's wake-up event in the `RunTable`:
a NOTIFY (a trigger on the new message or event) wakes them, their deadline is recorded at first entry (so a
recovered run waits only what is left), and cancel, retry-now and shutdown cut them short like a durable sleep.
While they wait they make no query at all.

Outside a workflow, `send` and `get_event` go to the default engine (the one launched last).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.context import WorkflowContext, active_workflow, default_engine
from engine.errors import DurableError, InvalidInput, WorkflowNotFound
from engine.execution import StepRun, sleep
from engine.retry import RetryPolicy
from engine.runtime import checkpointing
from engine.serialization import dumps, error_from_dict
from engine.specs import StepSpec
from engine.states import StepKind, StepStatus
from engine.store.messages import MessageStore, StepWrite, WaitOutcome
from engine.validation import check_name, check_number, check_workflow_id

ONCE = RetryPolicy(max_attempts=1, retries_allowed=False)
MAX_TIMEOUT_SECONDS = 366 * 24 * 3600.0
"""A wait of more than a year is a typo."""


def _nothing() -> None:
    """The body of a communication step: the store does the work, in the statement that records the step."""


def step_name(kind: StepKind, subject: str | None) -> str:
    """`recv:payment`, `set_event:progress`, `recv` (no topic): the subject is in the name, so a replay whose
    code waits on another topic or writes another key is caught as non-deterministic."""
    return f"{kind}:{subject}" if subject else str(kind)


def waiting_topic(name: str | None) -> str | None:
    """The topic a step named `name` (by `step_name`) receives on ('' for a recv without topic), None for other
    steps."""
    if name is None:
        return None
    kind, sep, subject = name.partition(":")
    if kind != StepKind.RECV:
        return None
    return subject if sep else ""


def _inside(what: str) -> WorkflowContext:
    ctx = active_workflow()
    if ctx is None:
        raise DurableError(f"{what}() is only possible inside a workflow (outside a step)")
    return ctx


def _topic(topic: str | None) -> str:
    return "" if topic is None else check_name(topic, "a topic")


def _timeout(seconds: float) -> float:
    return float(check_number(seconds, "timeout_seconds", 0, MAX_TIMEOUT_SECONDS))


def _start(ctx: WorkflowContext, kind: StepKind, subject: str | None) -> tuple[StepRun, StepWrite]:
    run = StepRun(ctx, StepSpec(step_name(kind, subject), _nothing, ONCE, kind))
    return run, StepWrite(ctx.workflow_id, run.step_id, run.spec.name, kind, run.started, run.rt.executor_id)


def _recorded(run: StepRun) -> tuple[bool, Any]:
    """(True, outcome) when the step has a recorded outcome (an error is raised again)."""
    rec = run.recorded
    if rec is None or not run.done:
        return False, None
    if rec.status != StepStatus.SUCCESS:
        raise error_from_dict(rec.error or {})
    return True, rec.output


def _wait(run: StepRun, what: tuple[str, str], look: Callable[[], WaitOutcome | None]) -> Any:
    """Look (one statement: the outcome, or the wait recorded), then block until woken or the deadline; again."""
    rt, wid = run.rt, run.workflow_id
    rt.runs.check(wid)
    rt.confirm_ownership(run.ctx, run.where)
    rt.runs.watch(wid, what)  # before the first look: a NOTIFY between the look and the wait is not lost
    try:
        while True:
            with checkpointing():
                outcome = look()
            if outcome is None:
                rt.lost_write(wid, run.where)
            if outcome.done:
                return outcome.value
            rt.runs.wait(wid, outcome.remaining)
    finally:
        rt.runs.unwatch(wid, what)


def _done(run: StepRun, recorded: bool) -> None:
    if not recorded:
        run.rt.lost_write(run.workflow_id, run.where)


# the calls ----------------------------------------------------------------------------------------


def recv(topic: str | None = None, timeout_seconds: float = 60.0) -> Any:
    """The next message sent to this workflow on `topic` (oldest first), or None after `timeout_seconds`."""
    ctx = _inside("recv")
    subject, timeout = _topic(topic), _timeout(timeout_seconds)
    run, write = _start(ctx, StepKind.RECV, subject)
    done, value = _recorded(run)
    if done:
        return value
    reason = f"waiting for {subject!r}" if subject else "waiting for a message"
    store = run.rt.messages
    return _wait(run, ("message", ctx.workflow_id), lambda: store.receive(write, subject, timeout, reason))


def get_event(workflow_id: str, key: str, timeout_seconds: float = 60.0) -> Any:
    """The latest value of event `key` of a workflow, waiting up to `timeout_seconds` for it to be set (None)."""
    ctx = active_workflow()
    if ctx is None:
        return _engine("get_event").get_event(workflow_id, key, timeout_seconds)
    target, name, timeout = check_workflow_id(workflow_id), check_name(key, "an event key"), _timeout(timeout_seconds)
    run, write = _start(ctx, StepKind.GET_EVENT, name)
    done, value = _recorded(run)
    if done:
        return value
    reason = f"waiting for event {name!r} of {target}"
    store = run.rt.messages
    return _wait(run, ("event", target), lambda: store.await_event(write, target, name, timeout, reason))


def send(workflow_id: str, message: Any, topic: str | None = None) -> None:
    """Send `message` to a workflow: inside a workflow exactly once (a step), else through the default engine."""
    ctx = active_workflow()
    if ctx is None:
        _engine("send").send(workflow_id, message, topic)
        return
    target, subject = check_workflow_id(workflow_id), _topic(topic)
    run, write = _start(ctx, StepKind.SEND, subject)
    if _recorded(run)[0]:
        return
    value = dumps(message, lambda: f"{run.where} message")
    run.rt.runs.check(ctx.workflow_id)
    with checkpointing():
        found, recorded = run.rt.messages.send_step(write, target, subject, value)
    if not found:
        run.fail(WorkflowNotFound(f"no workflow with id {target!r} to send a message to"), retryable=False)
    _done(run, recorded)


def set_event(key: str, value: Any) -> None:
    """Publish `value` as event `key` of this workflow, readable from anywhere; a later set_event overwrites it."""
    _publish(StepKind.SET_EVENT, check_name(key, "an event key"), value, lambda s, w, k, v: s.set_event_step(w, k, v))


def write_stream(key: str, value: Any) -> None:
    """Append `value` to this workflow's stream `key`: readers see each value once, in order, as it is written."""
    key = check_name(key, "a stream key")
    _publish(StepKind.WRITE_STREAM, key, value, lambda s, w, k, v: s.stream_step(w, k, v, closed=False))


def close_stream(key: str) -> None:
    """End this workflow's stream `key`: its readers stop once they have read every value."""
    key = check_name(key, "a stream key")
    _publish(StepKind.CLOSE_STREAM, key, None, lambda s, w, k, _: s.stream_step(w, k, None, closed=True))


Publish = Callable[[MessageStore, StepWrite, str, str], bool]


def _publish(kind: StepKind, key: str, value: Any, write: Publish) -> None:
    """A step that writes a row of its own (an event, a stream value or close) with its record, unless replayed."""
    ctx = _inside(str(kind))
    run, step = _start(ctx, kind, key)
    if _recorded(run)[0]:
        return
    encoded = dumps(value, lambda: f"{run.where} value")
    run.rt.runs.check(ctx.workflow_id)
    with checkpointing():
        _done(run, write(run.rt.messages, step, key, encoded))


def sleep_until(when: datetime) -> None:
    """A durable sleep until `when` (an aware datetime): its wake-up time is recorded like `sleep`'s."""
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInput(f"sleep_until needs an aware datetime (with a time zone), not {when!r}")
    ctx = active_workflow()
    now = ctx.runtime.runs.clock.now() if ctx is not None else datetime.now(when.tzinfo)
    sleep(max(0.0, (when - now).total_seconds()))


def _engine(what: str) -> Any:
    engine = default_engine()
    if engine is None:
        raise DurableError(f"{what}() outside a workflow needs a launched Engine (or use Control.{what})")
    return engine
