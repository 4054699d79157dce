"""A worker process for crash and control tests: `python -m tests.worker_app URL SCHEMA EXECUTOR_ID DIR`.

Its steps append a line to DIR/<name> each time they run, so a test can count executions across processes,
and block while DIR/hold-<name> exists, so a test can SIGKILL the worker at a chosen point.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine import sleep, step, step_context, workflow
from tests.worker_main import serve

DIR = Path(".")


def _mark(name: str) -> None:
    with open(DIR / name, "a") as f:
        f.write(f"{step_context().attempt}\n")
    while (DIR / f"hold-{name}").exists():
        time.sleep(0.01)


@step(name="w.one")
def one(x: int) -> int:
    _mark("one")
    return x + 1


@step(name="w.two")
def two(x: int) -> int:
    _mark("two")
    return x * 2


@step(name="w.three")
def three(x: int) -> int:
    _mark("three")
    return x - 3


@step(name="w.four")
def four(x: int) -> int:
    _mark("four")
    return x + 4


@step(name="w.five")
def five(x: int) -> int:
    _mark("five")
    return x * 5


@workflow(name="w.five_steps")
def five_steps(x: int) -> int:
    return five(four(three(two(one(x)))))


@step(name="w.always_fails", interval_seconds=0.6, max_attempts=3, backoff_rate=1.0)
def always_fails() -> None:
    _mark("always_fails")
    raise RuntimeError(f"attempt {step_context().attempt} failed")


@workflow(name="w.backoff")
def backoff() -> str:
    try:
        always_fails()
    except Exception as exc:
        return type(exc).__name__
    return "no error"


@step(name="w.slow_retry", interval_seconds=30.0, max_attempts=2)
def slow_retry() -> str:
    _mark("slow_retry")
    if step_context().attempt == 1:
        raise RuntimeError("first attempt fails, then a long wait")
    return "second attempt ran"


@workflow(name="w.long_wait")
def long_wait() -> str:
    return slow_retry()


@step(name="w.noop")
def noop(i: int) -> int:
    return i


@workflow(name="w.quick")
def quick(n: int) -> int:
    return sum(noop(i) for i in range(n))


@step(name="w.target", interval_seconds=0.05, max_attempts=3)
def target() -> int:
    _mark("target")
    return step_context().attempt


@workflow(name="w.faulty")
def faulty() -> int:
    return target()


@step(name="w.fixable", interval_seconds=0.01, max_attempts=2)
def fixable() -> str:
    _mark("fixable")
    if (DIR / "broken").exists():
        raise RuntimeError("still broken")
    return "fixed"


@workflow(name="w.fix_me")
def fix_me() -> str:
    one(0)
    return fixable()


@step(name="w.counted")
def counted(i: int) -> int:
    _mark("counted")
    return i


@workflow(name="w.count")
def count(i: int) -> int:
    return counted(i) + counted(i)


@workflow(name="w.sleepy")
def sleepy(seconds: float) -> int:
    sleep(seconds)
    return one(0)


@step(name="w.kills_its_worker")
def kills_its_worker() -> None:
    _mark("kills_its_worker")
    os._exit(3)  # as a segfault or an out-of-memory kill would


@workflow(name="w.poison", max_recovery_attempts=2)
def poison() -> None:
    one(0)
    kills_its_worker()


def _set_dir(path: Path) -> None:
    global DIR
    DIR = path


if __name__ == "__main__":
    serve(_set_dir)
