"""One retry policy for steps, transactions and plain calls, and the one attempt loop that applies it.

The loop is written once, as a generator that yields each time the user's function is to be called and
is sent how that call went. Everything between two calls (waiting out a backoff, recording an attempt)
is ordinary blocking code inside the generator; a thin adapter drives it from plain code, another from
a coroutine (running those blocking segments in a thread). So sync and async steps cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.context import CURRENT_STEP, StepContext
from engine.errors import MaxAttemptsExceeded


def _any_exception(exc: BaseException) -> bool:
    return True


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long between them, and which failures may be retried at all."""

    max_attempts: int = 3
    interval_seconds: float = 1.0
    backoff_rate: float = 2.0
    retries_allowed: bool = True
    retryable: Callable[[BaseException], bool] = field(default=_any_exception, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.interval_seconds < 0 or self.backoff_rate <= 0:
            raise ValueError("interval_seconds must be >= 0 and backoff_rate > 0")

    @property
    def budget(self) -> int:
        """Attempts a step gets: `max_attempts`, or one when retries are not allowed."""
        return self.max_attempts if self.retries_allowed else 1

    def delay_after(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (from 1)."""
        return self.interval_seconds * self.backoff_rate ** (attempt - 1)

    def may_retry(self, exc: BaseException) -> bool:
        return self.retryable(exc)

    def exhausted(self, name: str, errors: list[BaseException], kind_retries: bool) -> BaseException:
        """What a caller gets when the budget is spent: MaxAttemptsExceeded for a step whose retries ran
        out, the last error itself for a call that was never retried or whose error was not retryable."""
        last = errors[-1]
        if kind_retries and self.retries_allowed and self.may_retry(last):
            return MaxAttemptsExceeded(name, self.budget, errors)
        return last


@dataclass
class Attempt:
    """One attempt about to run: its context, or the failure a fault injected instead of running it."""

    context: StepContext
    injected: Exception | None = None


class Attempts(Protocol):
    """The blocking parts around each attempt; `StepRun` records them, `PlainAttempts` does not."""

    def before_attempt(self) -> Attempt: ...

    def attempt_ended(self) -> None: ...

    def after_failure(self, exc: Exception) -> None:
        """Record the failure; raise when no attempt is left (or it may not be retried)."""

    def after_success(self, value: Any) -> Any: ...


Sent = tuple[bool, Any]


def attempt_loop(run: Attempts) -> Generator[Attempt, Sent, Any]:
    while True:
        ok, value = yield run.before_attempt()
        if ok:
            return run.after_success(value)
        run.after_failure(value)


def _advance(loop: Generator[Attempt, Sent, Any], sent: Sent | None) -> tuple[bool, Any]:
    """One blocking segment of the loop: (True, result) when it finished, else (False, next attempt)."""
    try:
        return False, next(loop) if sent is None else loop.send(sent)
    except StopIteration as done:
        return True, done.value


def run_attempts(run: Attempts, call: Callable[[], Any]) -> Any:
    loop = attempt_loop(run)
    finished, value = _advance(loop, None)
    while not finished:
        sent: Sent
        token = CURRENT_STEP.set(value.context)  # step_context() answers inside the attempt
        try:
            sent = (False, value.injected) if value.injected else (True, call())
        except Exception as exc:
            sent = (False, exc)
        finally:
            CURRENT_STEP.reset(token)
            run.attempt_ended()
        finished, value = _advance(loop, sent)
    return value


async def run_attempts_async(run: Attempts, call: Callable[[], Awaitable[Any]]) -> Any:
    loop = attempt_loop(run)
    finished, value = await asyncio.to_thread(_advance, loop, None)
    while not finished:
        sent: Sent
        token = CURRENT_STEP.set(value.context)
        try:
            sent = (False, value.injected) if value.injected else (True, await call())
        except Exception as exc:
            sent = (False, exc)
        finally:
            CURRENT_STEP.reset(token)
            run.attempt_ended()
        finished, value = await asyncio.to_thread(_advance, loop, sent)
    return value
