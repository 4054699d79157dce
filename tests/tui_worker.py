"""A worker process for the dashboard's tests: `python -m tests.tui_worker URL SCHEMA EXECUTOR_ID DIR`.

Steps block while DIR/hold exists and fail while DIR/broken exists, so a test decides from outside
when a workflow is running, waiting to retry, or done. Prints "ready" once its Engine is launched.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from engine import Engine, step, workflow

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


def main() -> None:
    global DIR
    url, schema, executor_id, directory = sys.argv[1:5]
    DIR = Path(directory)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    auto = os.environ.get("AUTO_RECOVER", "1") == "1"
    with Engine(url, executor_id, schema=schema, heartbeat_seconds=0.1, lease_seconds=1.0, auto_recover=auto):
        print("ready", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
