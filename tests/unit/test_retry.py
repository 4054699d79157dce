"""The retry policy's arithmetic and the one attempt loop, driven sync and async (no database)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.context import CURRENT_STEP, StepContext
from engine.errors import MaxAttemptsExceeded
from engine.retry import Attempt, RetryPolicy, run_attempts, run_attempts_async


def test_backoff_grows_by_the_rate():
    policy = RetryPolicy(max_attempts=4, interval_seconds=0.5, backoff_rate=3.0)
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [0.5, 1.5, 4.5]
    assert policy.budget == 4


def test_no_retries_means_one_attempt():
    assert RetryPolicy(max_attempts=5, retries_allowed=False).budget == 1


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"interval_seconds": -1}, {"backoff_rate": 0}])
def test_bad_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_exhausted_is_max_attempts_for_a_retried_step_else_the_error_itself():
    errors: list[BaseException] = [ValueError("a"), ValueError("b")]
    policy = RetryPolicy(max_attempts=2)
    assert isinstance(policy.exhausted("s", errors, kind_retries=True), MaxAttemptsExceeded)
    assert policy.exhausted("s", errors, kind_retries=False) is errors[-1]
    picky = RetryPolicy(max_attempts=2, should_retry=lambda exc: isinstance(exc, KeyError))
    assert picky.exhausted("s", errors, kind_retries=True) is errors[-1]


class Recorder:
    """An `Attempts` that records what the loop asks of it and gives up after `budget` attempts."""

    def __init__(self, budget: int, inject: Exception | None = None):
        self.budget = budget
        self.inject = inject
        self.log: list[Any] = []
        self.attempt = 0

    def before_attempt(self) -> Attempt:
        self.attempt += 1
        self.log.append(("before", self.attempt))
        injected, self.inject = self.inject, None
        return Attempt(StepContext("w", 1, "s", self.attempt, self.budget), injected)

    def attempt_ended(self) -> None:
        self.log.append(("ended", self.attempt))

    def after_failure(self, exc: Exception) -> None:
        self.log.append(("failed", str(exc)))
        if self.attempt >= self.budget:
            raise exc

    def after_success(self, value: Any) -> Any:
        self.log.append(("succeeded", value))
        return value * 10


def flaky(fail_times: int):
    calls = []

    def call() -> int:
        calls.append(CURRENT_STEP.get())
        if len(calls) <= fail_times:
            raise RuntimeError(f"no {len(calls)}")
        return len(calls)

    return call, calls


def test_sync_loop_retries_until_success_with_the_step_context_set():
    run = Recorder(budget=3)
    call, calls = flaky(2)
    assert run_attempts(run, call) == 30
    assert [c.attempt for c in calls] == [1, 2, 3]
    assert run.log == [
        ("before", 1), ("ended", 1), ("failed", "no 1"),
        ("before", 2), ("ended", 2), ("failed", "no 2"),
        ("before", 3), ("ended", 3), ("succeeded", 3),
    ]  # fmt: skip
    assert CURRENT_STEP.get() is None


def test_sync_loop_raises_when_the_budget_is_spent():
    with pytest.raises(RuntimeError, match="no 2"):
        run_attempts(Recorder(budget=2), flaky(5)[0])


def test_an_injected_failure_counts_as_the_attempt_without_calling():
    run = Recorder(budget=2, inject=RuntimeError("injected"))
    call, calls = flaky(0)
    assert run_attempts(run, call) == 10
    assert len(calls) == 1 and ("failed", "injected") in run.log


def test_async_loop_is_the_same_loop():
    run = Recorder(budget=3)
    call, calls = flaky(2)

    async def acall() -> int:
        return call()

    assert asyncio.run(run_attempts_async(run, acall)) == 30
    sync_run = Recorder(budget=3)
    run_attempts(sync_run, flaky(2)[0])
    assert run.log == sync_run.log


def test_a_base_exception_ends_the_attempt_and_passes_through():
    run = Recorder(budget=3)

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_attempts(run, interrupted)
    assert run.log == [("before", 1), ("ended", 1)]


def test_the_backoff_is_capped_and_jitter_stays_within_half_and_one_and_a_half():
    capped = RetryPolicy(max_attempts=9, interval_seconds=1.0, backoff_rate=10.0, max_interval_seconds=30.0)
    assert [capped.delay_after(n) for n in (1, 2, 3)] == [1.0, 10.0, 30.0]
    jittery = RetryPolicy(interval_seconds=2.0, jitter=True)
    delays = {jittery.delay_after(1) for _ in range(200)}
    assert len(delays) > 100 and all(1.0 <= d < 3.0 for d in delays)


def test_retry_on_and_should_retry_decide_what_may_retry():
    on = RetryPolicy(retry_on=(ConnectionError, TimeoutError))
    assert on.may_retry(ConnectionResetError()) and not on.may_retry(ValueError())
    decided = RetryPolicy(retry_on=(ValueError,), should_retry=lambda exc: "again" in str(exc))
    assert decided.may_retry(KeyError("again")) and not decided.may_retry(ValueError("no"))


def test_the_limits_in_words():
    assert RetryPolicy().describe() == "3 attempts · 1s ×2"
    assert RetryPolicy(retries_allowed=False, timeout_seconds=5).describe() == "1 attempt · timeout 5s"
    full = RetryPolicy(5, 0.5, 3, max_interval_seconds=60, jitter=True, retry_on=(ConnectionError,))
    assert full.describe() == "5 attempts · 0.5s ×3 ≤60s · jitter · retry on ConnectionError"


@pytest.mark.parametrize(
    "kwargs", [{"max_interval_seconds": -1}, {"timeout_seconds": 0}, {"retry_on": ("ConnectionError",)}]
)
def test_bad_step_options_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
