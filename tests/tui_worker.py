"""A worker process for the dashboard's tests: `python -m tests.tui_worker URL SCHEMA EXECUTOR_ID DIR`.

Steps block while DIR/hold exists and fail while DIR/broken exists, so a test decides from outside
when a workflow is running, waiting to retry, or done. Prints "ready" once its Engine is launched.
"""

from __future__ import annotations

import time
from pathlib import Path

from engine import step, workflow
from tests.worker_main import serve

DIR = Path(".")


@step(name="tui.gate")
def gate(x: int) -> int:
    while (DIR / "hold").exists():
        time.sleep(0.01)
    return x


@step(name="tui.add")
def add(x: int) -> int:
    return x + 1


@step(name="tui.flaky", interval_seconds=600.0, max_attempts=5, backoff_rate=1.0)
def flaky(x: int) -> int:
    if (DIR / "broken").exists():
        raise RuntimeError("card declined")
    return x


@workflow(name="tui.held")
def held(x: int) -> int:
    return add(gate(x))


@workflow(name="tui.retry")
def retry(x: int) -> int:
    return add(flaky(x))


@workflow(name="tui.chain")
def chain(x: int) -> int:
    return add(add(add(x)))


def _set_dir(path: Path) -> None:
    global DIR
    DIR = path


if __name__ == "__main__":
    serve(_set_dir)
