"""One retry policy for steps, transactions and plain calls, and the one attempt loop that applies it.

The loop is written once, as a generator that yields each time the user's function is to be called and
is sent how that call went. Everything between two calls (waiting out a backoff, recording an attempt)
is ordinary blocking code inside the generator; a thin adapter drives it from plain code, another from
a coroutine (running those blocking segments in a thread). So sync and async steps cannot drift apart.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.context import CURRENT_STEP, StepContext
from engine.errors import MaxAttemptsExceeded


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long between them, how long each may take, and which failures may retry.

    `retry_on` retries only those exception types; `should_retry(exc)` decides per exception (it wins over
    `retry_on`); any other failure fails the step at once. The wait after failed attempt n is
    `interval_seconds * backoff_rate ** (n - 1)`, scaled by a random factor in [0.5, 1.5) with `jitter`,
    then capped at `max_interval_seconds`.
    """

    max_attempts: int = 3
    interval_seconds: float = 1.0
    backoff_rate: float = 2.0
    retries_allowed: bool = True
    retry_on: tuple[type[BaseException], ...] | None = None
    should_retry: Callable[[BaseException], bool] | None = field(default=None, compare=False)
    max_interval_seconds: float | None = None
    jitter: bool = False
    timeout_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.interval_seconds < 0 or self.backoff_rate <= 0:
            raise ValueError("interval_seconds must be >= 0 and backoff_rate > 0")
        if self.max_interval_seconds is not None and self.max_interval_seconds < 0:
            raise ValueError("max_interval_seconds must be >= 0")
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")
        if self.retry_on is not None and not all(
            isinstance(t, type) and issubclass(t, BaseException) for t in self.retry_on
        ):
            raise ValueError("retry_on must be a tuple of exception types")

    @property
    def budget(self) -> int:
        """Attempts a step gets: `max_attempts`, or one when retries are not allowed."""
        return self.max_attempts if self.retries_allowed else 1

    def delay_after(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (from 1)."""
        delay = self.interval_seconds * self.backoff_rate ** (attempt - 1)
        if self.jitter:
            delay *= random.uniform(0.5, 1.5)
        if self.max_interval_seconds is not None:
            delay = min(delay, self.max_interval_seconds)
        return delay

    def may_retry(self, exc: BaseException) -> bool:
        if self.should_retry is not None:
            return bool(self.should_retry(exc))
        return self.retry_on is None or isinstance(exc, self.retry_on)

    def exhausted(self, name: str, errors: list[BaseException], kind_retries: bool) -> BaseException:
        """What a caller gets when the budget is spent: MaxAttemptsExceeded for a step whose retries ran
        out, the last error itself for a call that was never retried or whose error was not retryable."""
        last = errors[-1]
        if kind_retries and self.retries_allowed and self.may_retry(last):
            return MaxAttemptsExceeded(name, self.budget, errors)
        return last

    def describe(self) -> str:
        """The limits in words, as the dashboard shows them: `3 attempts · 1s ×2 ≤30s · jitter · timeout 10s`."""
        if not self.retries_allowed or self.budget == 1:
            words = ["1 attempt"]
        else:
            backoff = f"{self.interval_seconds:g}s ×{self.backoff_rate:g}"
            if self.max_interval_seconds is not None:
                backoff += f" ≤{self.max_interval_seconds:g}s"
            words = [f"{self.budget} attempts", backoff]
            if self.jitter:
                words.append("jitter")
        if self.timeout_seconds is not None:
            words.append(f"timeout {self.timeout_seconds:g}s")
        if self.retry_on is not None:
            words.append("retry on " + ", ".join(t.__name__ for t in self.retry_on))
        if self.should_retry is not None:
            words.append(f"retry if {getattr(self.should_retry, '__name__', 'should_retry')}")
        return " · ".join(words)


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
