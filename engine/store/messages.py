"""The store of messages, events and streams: the statements of `sql/messages.sql`.

Inside a workflow every call is one statement that writes its step row together with what the step does
(consumes a message, sets an event, appends a stream value), so the two can never disagree: the outcome of
a `recv` is committed in the very transaction that marks its message consumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from engine.records import EventRecord, StreamValue
from engine.states import StepKind, StepStatus, WorkflowStatus
from engine.store.queries import for_schema

STREAM_TAIL = 200
"""How many of a stream's newest values the dashboard reads (a stream may hold many more)."""


@dataclass(frozen=True)
class WaitOutcome:
    """One look of a waiting step: done (with its value, found or timed out) or still waiting `remaining` s."""

    done: bool
    found: bool
    value: Any
    remaining: float


@dataclass(frozen=True)
class StepWrite:
    """Who writes: the step at a position of a workflow, started at `started`, by this executor."""

    workflow_id: str
    step_id: int
    name: str
    kind: StepKind
    started: datetime
    executor_id: str
    """The executor that writes: the statement is fenced on the workflow still being its own."""


@dataclass(frozen=True)
class StreamPage:
    """A stream's values after a position, and whether more can come."""

    status: WorkflowStatus | None
    values: list[tuple[int, Any]]
    closed: bool


class MessageStore:
    def __init__(self, pool: ConnectionPool, schema: str, skew: Callable[[], float] | None = None):
        self.pool = pool
        self.sql = for_schema(schema)
        self.skew: Callable[[], float] = skew or (lambda: 0.0)

    def _params(self, step: StepWrite, **more: Any) -> dict[str, Any]:
        return {
            "wid": step.workflow_id,
            "sid": step.step_id,
            "name": step.name,
            "kind": str(step.kind),
            "started": step.started,
            "me": step.executor_id,
            "skew": self.skew(),
            "output": None,
            **more,
        }

    def _wait(self, query: str, params: dict[str, Any]) -> WaitOutcome | None:
        with self.pool.connection() as c:
            row = c.cursor(row_factory=dict_row).execute(self.sql[query], params).fetchone()
        if row is None:
            return None
        done = row["status"] == StepStatus.SUCCESS
        return WaitOutcome(done, bool(row["found"]), row["value"] if done else None, float(row["remaining"] or 0.0))

    def receive(self, step: StepWrite, topic: str, timeout: float, reason: str) -> WaitOutcome | None:
        """Consume the oldest message of `topic` as this recv's outcome, or record (keep) the wait; None when
        the step already had an outcome."""
        return self._wait("receive", self._params(step, topic=topic, timeout=timeout, reason=reason))

    def await_event(self, step: StepWrite, target: str, key: str, timeout: float, reason: str) -> WaitOutcome | None:
        params = self._params(step, target=target, key=key, timeout=timeout, reason=reason)
        return self._wait("await_event", params)

    def send_step(self, step: StepWrite, target: str, topic: str, value: str) -> tuple[bool, bool]:
        """(target found, step recorded)."""
        with self.pool.connection() as c:
            params = self._params(step, target=target, topic=topic, value=value)
            row = c.execute(self.sql["send_step"], params).fetchone()
        assert row is not None  # a SELECT of two EXISTS always has its row
        return bool(row[0]), bool(row[1])

    def set_event_step(self, step: StepWrite, key: str, value: str) -> bool:
        return self._count("set_event_step", self._params(step, key=key, value=value))

    def stream_step(self, step: StepWrite, key: str, value: str | None, closed: bool) -> bool:
        return self._count("stream_step", self._params(step, key=key, value=value, closed=closed))

    def _count(self, query: str, params: dict[str, Any]) -> bool:
        with self.pool.connection() as c:
            row = c.execute(self.sql[query], params).fetchone()
        return bool(row and row[0])

    # from anywhere

    def send(self, target: str, topic: str, value: str, idempotency_key: str | None) -> tuple[bool, bool]:
        """(workflow found, message sent): not sent when the idempotency key was used before."""
        with self.pool.connection() as c:
            params = {"target": target, "topic": topic, "value": value, "key": idempotency_key}
            row = c.execute(self.sql["send_message"], params).fetchone()
        assert row is not None
        return bool(row[0]), bool(row[1])

    def latest_event(self, workflow_id: str, key: str) -> tuple[bool, Any]:
        """(set, value) of one event."""
        with self.pool.connection() as c:
            row = c.execute(self.sql["latest_event"], (workflow_id, key)).fetchone()
        return (False, None) if row is None else (True, row[0])

    def events(self, workflow_id: str) -> list[EventRecord]:
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=class_row(EventRecord))
            return cur.execute(self.sql["events_of"], (workflow_id,)).fetchall()

    def stream_after(self, workflow_id: str, key: str, after: int) -> StreamPage:
        with self.pool.connection() as c:
            params = {"wid": workflow_id, "key": key, "after": after}
            rows = c.cursor(row_factory=dict_row).execute(self.sql["stream_after"], params).fetchall()
        if not rows:
            return StreamPage(None, [], True)
        end = min((r["step_id"] for r in rows if r["closed"]), default=None)
        values = [
            (r["step_id"], r["value"]) for r in rows if r["step_id"] is not None and (end is None or r["step_id"] < end)
        ]
        return StreamPage(WorkflowStatus(rows[0]["status"]), values, end is not None)

    def streams(self, workflow_id: str, tail: int = STREAM_TAIL) -> list[StreamValue]:
        """The newest `tail` rows of each stream of the workflow (a close is a row too), oldest first."""
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=class_row(StreamValue))
            return cur.execute(self.sql["streams_of"], {"wid": workflow_id, "tail": tail}).fetchall()

    def messages_waiting(self, workflow_id: str) -> dict[str, int]:
        with self.pool.connection() as c:
            return {r[0]: int(r[1]) for r in c.execute(self.sql["messages_waiting"], (workflow_id,)).fetchall()}
