"""A worker process for queue tests: `python -m tests.queue_app URL SCHEMA EXECUTOR_ID DIR`.

Its workflow `qa.record` runs one step that appends `workflow-id start end` (wall-clock seconds) to
DIR/times-<pid>, so a test can measure how many ran at once across processes. The step blocks while
DIR/hold exists, so a test can SIGKILL a worker while it holds queue slots.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine import Debouncer, Queue, step, step_context, workflow
from tests.worker_main import serve

DIR = Path(".")

CONCURRENT = Queue("q.concurrent", concurrency=5)
PER_WORKER = Queue("q.per_worker", worker_concurrency=2)
LIMITED = Queue("q.limited", limiter={"limit": 5, "period": 0.5})
PRIORITY = Queue("q.priority", concurrency=1, priority_enabled=True)
FIFO = Queue("q.fifo", concurrency=1)
TENANTS = Queue("q.tenants", concurrency=2, partitioned=True)
OPEN = Queue("q.open")


def times() -> list[tuple[str, float, float]]:
    """Every recorded run: (workflow id, start, end), from all worker processes."""
    return [run for runs in times_by_process() for run in runs]


def times_by_process() -> list[list[tuple[str, float, float]]]:
    """The recorded runs of each worker process apart."""
    return [[_parse(line) for line in path.read_text().splitlines()] for path in DIR.glob("times-*")]


def _parse(line: str) -> tuple[str, float, float]:
    wid, start, end = line.split()
    return wid, float(start), float(end)


def most_at_once(runs: list[tuple[str, float, float]]) -> int:
    """The largest number of runs whose intervals overlap at one moment."""
    events = sorted([(start, 1) for _, start, _ in runs] + [(end, -1) for _, _, end in runs])
    most = now = 0
    for _, delta in events:  # an end sorts before a start at the same instant
        now += delta
        most = max(most, now)
    return most


@step(name="qa.work")
def work(seconds: float) -> str:
    start = time.time()
    while (DIR / "hold").exists():
        time.sleep(0.01)
    time.sleep(seconds)
    wid = step_context().workflow_id
    with open(DIR / f"times-{os.getpid()}", "a") as f:
        f.write(f"{wid} {start:.6f} {time.time():.6f}\n")
    return wid


@workflow(name="qa.record")
def record(seconds: float, tag: str = "") -> str:
    work(seconds)
    return tag


DEBOUNCED = Debouncer(record)
BOUNDED = Debouncer(record, queue=OPEN, timeout_seconds=1.0)


def _set_dir(path: Path) -> None:
    global DIR
    DIR = path


if __name__ == "__main__":
    serve(_set_dir)
