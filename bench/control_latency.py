"""Operation-to-reaction latency of the control plane, with a real worker subprocess.

    python bench/control_latency.py [--trials 50]

For each trial the worker starts a workflow whose step fails its first attempt and then waits 60 s
before the next one (a backoff wait). The controller (this process, through `engine.Control`):

- cancel: once the step is waiting, `Control.cancel(id)`; reaction = the worker's workflow thread
  stops (the workflow body unwinds);
- retry now: once the step is waiting, `Control.retry_now(id)`; reaction = the second attempt starts.

Times are wall clock (`time.time()`) in both processes on one machine. The latency is counted from the
moment the operation's call returned in the controller (its commit acknowledged); the call's own
duration (state check + transaction) is shown apart, so "from the call" is the sum.
"""

from __future__ import annotations

import argparse
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
from benchlib import database_url, drop_schemas, median, percentile, print_table

from engine import Control, Engine, step, step_context, workflow

SCHEMA = "bench_latency"
PRINT = threading.Lock()


def emit(*fields: object) -> None:
    with PRINT:
        print(*fields, flush=True)


@step(name="bench_lat_flaky", interval_seconds=60, max_attempts=2)
def flaky(wid: str) -> str:
    attempt = step_context().attempt
    emit("attempt", wid, attempt, repr(time.time()))
    if attempt == 1:
        raise RuntimeError("first attempt fails")
    return "ok"


@workflow(name="bench_lat_workflow")
def waits_then_retries(wid: str) -> str:
    try:
        return flaky(wid)
    finally:
        emit("stopped", wid, repr(time.time()))


def worker(url: str) -> None:
    """Start one workflow per line read on stdin ("start ID"); report on stdout."""
    with Engine(url, "bench-latency-worker", schema=SCHEMA) as eng:
        emit("ready")
        for line in sys.stdin:
            _, wid = line.split()
            eng.start_workflow(waits_then_retries, wid, workflow_id=wid)


class Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[list[str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.split())

    def expect(self, *prefix: str, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            fields = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if fields[: len(prefix)] == list(prefix):
                return fields

    def start(self, wid: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"start {wid}\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def wait_waiting(conn: psycopg.Connection, wid: str) -> None:
    """Until the step's failed first attempt is committed and its backoff wait has begun."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = conn.execute(f"SELECT status FROM {SCHEMA}.steps WHERE workflow_id = %s", (wid,)).fetchone()
        if row and row[0] == "WAITING_RETRY":
            time.sleep(0.005)  # the worker thread is now inside its wait
            return
        time.sleep(0.002)
    raise SystemExit(f"{wid} never reached its backoff wait")


def trial(ctl: Control, conn: psycopg.Connection, w: Worker, op: str, n: int) -> tuple[float, float]:
    """(call duration, reaction after the call returned), in ms."""
    wid = f"{op}-{n}"
    w.start(wid)
    w.expect("attempt", wid, "1")
    wait_waiting(conn, wid)
    t0 = time.time()
    (ctl.cancel if op == "cancel" else ctl.retry_now)(wid)
    t1 = time.time()
    reacted = float(w.expect("stopped", wid)[2] if op == "cancel" else w.expect("attempt", wid, "2")[3])
    return (t1 - t0) * 1000, (reacted - t1) * 1000


OPERATIONS = (("cancel", "cancel -> workflow stopped"), ("retry", "retry_now -> next attempt"))


def measure(trials: int) -> dict[str, list[tuple[float, float]]]:
    """(call ms, reaction ms) of each trial, by operation label, against one worker subprocess."""
    url = database_url()
    drop_schemas(url, SCHEMA)
    w = Worker()
    figures = {}
    with Control(url, schema=SCHEMA) as ctl, psycopg.connect(url, autocommit=True) as conn:
        for op, label in OPERATIONS:
            trial(ctl, conn, w, op, -1)  # warm-up
            figures[label] = [trial(ctl, conn, w, op, n) for n in range(trials)]
    w.stop()
    drop_schemas(url, SCHEMA)
    return figures


def drive(trials: int) -> None:
    rows = []
    for label, figures in measure(trials).items():
        calls, reactions = [f[0] for f in figures], [f[1] for f in figures]
        rows.append(
            [
                label,
                median(reactions),
                percentile(reactions, 90),
                percentile(reactions, 99),
                max(reactions),
                median(calls),
                median([c + r for c, r in figures]),
            ]
        )
    print_table(
        f"Control latency, {trials} trials each, worker subprocess (ms after the operation's call returned)",
        ["operation", "median", "p90", "p99", "max", "call (median)", "from call start (median)"],
        rows,
    )
    print("\ntarget: median reaction under 100 ms from the operation's commit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(database_url())
    else:
        drive(args.trials)


if __name__ == "__main__":
    main()
