"""A pytest plugin for testing your own workflows (registered as `durable` through the `pytest11` entry point).

Fixtures:
- `durable_engine`: a launched `Engine` on a schema of its own (the embedded Postgres, or
  `$DURABLE_DATABASE_URL`), dropped afterwards. With `durable_clock` in the same test it runs on virtual time.
- `durable_clock`: a `VirtualClock`: retry backoffs and durable sleeps complete at once, recorded times stay
  consistent; `pause()` and `advance(seconds)` give step-by-step control.
- `stub_step`: `stub_step("charge", returns=...)` or `stub_step("charge", raises=ConnectionError("..."),
  times=2)` replaces a step's body for one test; checkpoints, retries and records stay real.
- `steps_of`: `steps_of(workflow_id)` -> the workflow's steps as `StepView(name, status, attempts, output, error)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from engine.clock import VirtualClock
from engine.database import resolve_database_url
from engine.engine import Engine
from engine.execution import STUBS
from engine.specs import STEPS, StepSpec
from engine.store import connect
from engine.store.migrations import drop_schema

_MISSING: Any = object()


@dataclass(frozen=True)
class StepView:
    """One step as a test asserts on it."""

    name: str
    status: str
    attempts: int
    output: Any
    error: dict[str, Any] | None


@pytest.fixture
def durable_clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def durable_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    clock = request.getfixturevalue("durable_clock") if "durable_clock" in request.fixturenames else None
    url = resolve_database_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    engine = Engine(
        url, f"test-{uuid.uuid4().hex[:8]}", schema=schema, heartbeat_seconds=0.1, lease_seconds=1.0, clock=clock
    )
    engine.launch()
    try:
        yield engine
    finally:
        engine.shutdown()
        with connect(url) as conn:
            drop_schema(conn, schema)


class _Stub:
    """A step body that raises `raises` for its first `times` calls (every call without `times`), then
    returns `returns` (or runs the real body when no `returns` was given)."""

    def __init__(self, real: Callable[..., Any], returns: Any, raises: BaseException | None, times: int | None):
        self.real, self.returns, self.raises, self.times = real, returns, raises, times
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.raises is not None and (self.times is None or self.calls <= self.times):
            raise self.raises
        if self.returns is _MISSING:
            return self.real(*args, **kwargs)
        return self.returns


@pytest.fixture
def stub_step() -> Iterator[Callable[..., _Stub]]:
    def stub(
        step: str | Callable[..., Any], *, returns: Any = _MISSING, raises: BaseException | None = None,
        times: int | None = None,
    ) -> _Stub:  # fmt: skip
        spec: StepSpec | None = STEPS.get(step) if isinstance(step, str) else getattr(step, "__durable_step__", None)
        if spec is None:
            raise TypeError(f"{step!r} is neither the name of a step nor a @step function")
        if returns is _MISSING and raises is None:
            raise TypeError("stub_step needs returns=..., raises=... or both")
        STUBS[spec.name] = replacement = _Stub(spec.fn, returns, raises, times)
        return replacement

    before = dict(STUBS)
    yield stub
    STUBS.clear()
    STUBS.update(before)


@pytest.fixture
def steps_of(durable_engine: Engine) -> Callable[[str], list[StepView]]:
    def steps(workflow_id: str) -> list[StepView]:
        record = durable_engine.get_workflow(workflow_id)
        return [
            StepView(s.name, str(s.status), len(s.attempt_records) or s.attempts, s.output, s.error)
            for s in record.steps
        ]

    return steps
