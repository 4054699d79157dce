"""Queues and debouncing (issue 10): `Queue`, `Debouncer`, and the registry of queues this process defines.

A queue is defined in code, by the workers that import it; each worker records the definitions it
imports at launch (`queues` table), so a controller without the code can enqueue by name and read the
definition. The limits are enforced where work is claimed (`store/queues.py`), under a lock per queue
partition, so they hold across any number of workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.context import default_engine
from engine.errors import DurableError, InvalidInput
from engine.handle import WorkflowHandle
from engine.ids import make_workflow_id
from engine.serialization import dumps
from engine.specs import name_and_timeout, spec_of
from engine.store.queues import QueueDefinition
from engine.validation import check_name, check_number

if TYPE_CHECKING:
    from engine.engine import Engine

QUEUES: dict[str, Queue] = {}
"""The queues this process defines, by name: its workers claim from these."""

MAX_SECONDS = 365 * 24 * 3600.0


def _limit(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{what} must be a whole number of at least 1, not {value!r}")
    return value


class Queue:
    """A named queue: its workflows start only as its limits allow, across all workers."""

    def __init__(
        self,
        name: str,
        concurrency: int | None = None,
        worker_concurrency: int | None = None,
        limiter: dict[str, float] | None = None,
        priority_enabled: bool = False,
        partitioned: bool = False,
    ):
        rate_limit = rate_period = None
        if limiter is not None:
            if set(limiter) != {"limit", "period"}:
                raise InvalidInput(f"a limiter is {{'limit': n, 'period': seconds}}, not {limiter!r}")
            rate_limit = _limit(limiter["limit"], "a limiter's limit")
            rate_period = float(check_number(limiter["period"], "a limiter's period", 0.001, MAX_SECONDS))
        self.definition = QueueDefinition(
            name=check_name(name, "a queue name"),
            concurrency=_limit(concurrency, "concurrency"),
            worker_concurrency=_limit(worker_concurrency, "worker_concurrency"),
            rate_limit=rate_limit,
            rate_period=rate_period,
            priority_enabled=bool(priority_enabled),
            partitioned=bool(partitioned),
        )
        QUEUES[name] = self

    @property
    def name(self) -> str:
        return self.definition.name

    def enqueue(
        self,
        fn: Callable[..., Any] | str,
        *args: Any,
        workflow_id: str | None = None,
        priority: int | None = None,
        deduplication_id: str | None = None,
        delay_seconds: float | None = None,
        partition_key: str | None = None,
        timeout_seconds: float | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle:
        """Queue a workflow here through the launched engine of this process; raises `QueueDeduplicated`
        while a workflow with the same `deduplication_id` is queued or running in this queue."""
        engine = _engine()
        name, timeout = name_and_timeout(fn, timeout_seconds)
        wid = engine.control.enqueue_queued(
            name,
            list(args),
            kwargs,
            self.name,
            workflow_id=workflow_id,
            priority=priority,
            deduplication_id=deduplication_id,
            delay_seconds=delay_seconds,
            partition_key=partition_key,
            timeout_seconds=timeout,
            # this engine recorded this very definition: no need to read it back
            definition=self.definition if engine.recorded_queues.get(self.name) == self.definition else None,
            later=engine.runtime_store.notes,
        )
        engine.heartbeat.wake(self.name)  # this worker claims at once; the others hear the wake from its notifier
        return WorkflowHandle(engine, wid)

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"


class Debouncer:
    """Collapses calls for one key into one run, once the key has been quiet for the period, with the
    latest arguments; `timeout_seconds` bounds the delay from the first call of a burst."""

    def __init__(self, fn: Callable[..., Any], queue: Queue | None = None, timeout_seconds: float | None = None):
        self.name = spec_of(fn).name
        self.queue = queue
        self.timeout_seconds = (
            None if timeout_seconds is None else check_number(timeout_seconds, "timeout_seconds", 0, MAX_SECONDS)
        )

    def debounce(self, key: str, period_seconds: float, *args: Any, **kwargs: Any) -> WorkflowHandle:
        """Run the workflow `period_seconds` after the last call for `key`: returns the handle of that run."""
        engine = _engine()
        check_name(key, "a debounce key")
        period = check_number(period_seconds, "a debounce period", 0, MAX_SECONDS)
        wid = make_workflow_id()
        inputs = dumps({"args": list(args), "kwargs": kwargs}, f"workflow {wid!r} ({self.name}) inputs")
        queue = self.queue.name if self.queue is not None else None
        found = engine.store.queues.debounce(wid, self.name, key, inputs, period, self.timeout_seconds, queue)
        if found == wid:
            engine.store.ops.wake()
        return WorkflowHandle(engine, found)


def _engine() -> Engine:
    engine = default_engine()
    if engine is None:
        raise DurableError("no Engine is launched in this process: launch one, or use Control.enqueue_workflow")
    return engine
