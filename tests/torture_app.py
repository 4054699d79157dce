"""The crash torture's worker: `python -m tests.torture_app URL SCHEMA EXECUTOR_ID DIR`.

A five-step workflow alternates plain steps and `@transaction`s. Every step appends a `start` and an `end`
line (workflow, step, kind, attempt, pid, time; the end also when it raises) to DIR/spans-<pid>.log: a
file, not a table, because it must keep what happened while the database is down; a line written before
a SIGKILL is in the kernel and stays. Each transaction inserts one row into `EFFECTS` in its own database
transaction: that row is its effect, which must exist exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

from engine import db, step, step_context, transaction, workflow
from tests.worker_main import serve

EFFECTS = "torture_side.effects"
PAUSE_SECONDS = float(os.environ.get("TORTURE_PAUSE", "0.15"))  # set by the harness
_spans = {"fd": -1}


def _write(event: str, kind: str) -> None:
    ctx = step_context()
    line = f"{event} {ctx.workflow_id} {ctx.step_id} {kind} {ctx.attempt} {os.getpid()} {time.time():.6f}\n"
    os.write(_spans["fd"], line.encode())


@contextlib.contextmanager
def _span(kind: str) -> Iterator[None]:
    """A run of a step, from its start to its return or its exception (a transaction cut by a restart)."""
    _write("start", kind)
    try:
        yield
    finally:
        _write("end", kind)


@step(name="torture.add", interval_seconds=0.05, max_attempts=5)
def add(x: int, n: int) -> int:
    with _span("step"):
        time.sleep(random.uniform(0, PAUSE_SECONDS))  # long enough for a kill or a restart to land mid-step
    return x + n


@transaction(name="torture.double")
def double(x: int) -> int:
    ctx = step_context()
    with _span("transaction"):
        db().execute(
            f"INSERT INTO {EFFECTS} (workflow_id, step_id, attempt, pid) VALUES (%s, %s, %s, %s)",  # type: ignore[arg-type]
            (ctx.workflow_id, ctx.step_id, ctx.attempt, os.getpid()),
        )
        db().execute("SELECT pg_sleep(%s)", (random.uniform(0, PAUSE_SECONDS / 3),))  # a restart may cut it here
    return x * 2


# Every SIGKILL counts a recovery for each workflow its worker held, queued in its pool or running: at the
# torture's kill rate on a loaded machine that passes the default poison limit without any poison step.
@workflow(name="torture.flow", max_recovery_attempts=1000)
def flow(x: int) -> int:
    return add(double(add(double(add(x, 1)), 3)), 5)


def expected_output(x: int) -> int:
    return ((x + 1) * 2 + 3) * 2 + 5


def _open_spans(directory: Path) -> None:
    _spans["fd"] = os.open(directory / f"spans-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


if __name__ == "__main__":
    logging.basicConfig(format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    serve(_open_spans)
