"""A retention sweep of many old finished workflows, and the step latency of a workflow running beside it.

    python bench/retention.py [--workflows 100000] [--runs 20]

Builds `--workflows` workflows that finished two hours ago (each with 3 steps, 3 attempts, an event and a
message: rows in every table a deletion reaches) by SQL, not the engine, then: the step latency of a
100-step workflow alone; then a sweep in a thread of the engine's process on the engine's pool, while the
same workflow runs again and again; its step latency while the sweep lasts. The sweep is the service's own
(`Retention.sweep`: it rests after each full batch as long as the batch took), its batches timed.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid

import psycopg
from benchlib import database_url, drop_schemas, median, percentile, print_table

from engine import Engine, step, workflow
from engine.clock import Clock
from engine.retention import Retention
from engine.store.retention import BATCH

SCHEMA = "bench_retention"
STEPS = 100
LATENCIES: list[float] = []

FILL = (
    """INSERT INTO {s}.workflows (workflow_id, name, status, inputs, output, created_at, started_at, finished_at)
    SELECT 'old-' || i, 'bench_old', CASE WHEN i %% 10 = 0 THEN 'ERROR' ELSE 'SUCCESS' END, '{{"args": [1]}}',
           '42', now() - interval '3 hours', now() - interval '3 hours',
           now() - interval '2 hours' + i * interval '1 ms'
    FROM generate_series(1, %(n)s) i""",
    """INSERT INTO {s}.steps (workflow_id, step_id, name, status, attempts, output, started_at, finished_at)
    SELECT 'old-' || i, k, 'bench_step', 'SUCCESS', 1, '1', now() - interval '3 hours', now() - interval '3 hours'
    FROM generate_series(1, %(n)s) i, generate_series(1, 3) k""",
    """INSERT INTO {s}.attempts (workflow_id, step_id, attempt, started_at, finished_at)
    SELECT 'old-' || i, k, 1, now() - interval '3 hours', now() - interval '3 hours'
    FROM generate_series(1, %(n)s) i, generate_series(1, 3) k""",
    """INSERT INTO {s}.events (workflow_id, key, step_id, value)
    SELECT 'old-' || i, 'k', 1, '1' FROM generate_series(1, %(n)s) i""",
    """INSERT INTO {s}.messages (workflow_id, topic, value)
    SELECT 'old-' || i, 't', '1' FROM generate_series(1, %(n)s) i""",
    "ANALYZE {s}.workflows",
    "ANALYZE {s}.steps",
    "ANALYZE {s}.attempts",
)


@step(name="bench_retention_noop")
def noop(i: int) -> int:
    return i


@workflow(name="bench_retention_steps")
def hundred_steps(n: int) -> int:
    for i in range(n):
        t0 = time.perf_counter()
        noop(i)
        LATENCIES.append(time.perf_counter() - t0)
    return n


def figures(latencies: list[float]) -> list[float]:
    ms = [s * 1000 for s in latencies]
    return [median(ms), percentile(ms, 90), percentile(ms, 99), max(ms)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=100_000, help="old finished workflows (default 100000)")
    parser.add_argument("--runs", type=int, default=20, help="workflows timed alone (default 20)")
    args = parser.parse_args()
    url = database_url()
    drop_schemas(url, SCHEMA)
    with Engine(url, f"bench-{uuid.uuid4().hex[:6]}", schema=SCHEMA) as eng:
        t0 = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in FILL:
                conn.execute(statement.format(s=SCHEMA), {"n": args.workflows})
        print(f"built {args.workflows} old workflows and their rows in {time.perf_counter() - t0:.1f}s")

        for _ in range(3):
            eng.run_workflow(hundred_steps, STEPS)
        LATENCIES.clear()
        for _ in range(args.runs):
            eng.run_workflow(hundred_steps, STEPS)
        alone = list(LATENCIES)

        batches: list[float] = []
        deleted: list[int] = []
        done = threading.Event()
        store = eng.store.retention
        service = Retention(store, 3600, Clock(), 1.0)
        plain = store.delete_batch

        def timed_batch(age: float, skew: float = 0.0, limit: int = BATCH, wait: bool = True) -> int | None:
            b0 = time.perf_counter()
            count = plain(age, skew, limit, wait)
            batches.append(time.perf_counter() - b0)
            deleted.append(count or 0)
            return count

        store.delete_batch = timed_batch  # type: ignore[method-assign]

        def sweep() -> None:
            service.sweep()
            done.set()

        LATENCIES.clear()
        sweeper = threading.Thread(target=sweep)
        s0 = time.perf_counter()
        sweeper.start()
        runs = 0
        while not done.is_set():
            eng.run_workflow(hundred_steps, STEPS)
            runs += 1
        sweep_seconds = time.perf_counter() - s0
        sweeper.join()
        during = list(LATENCIES)

    drop_schemas(url, SCHEMA)
    batch_ms = [b * 1000 for b in batches]
    print(
        f"sweep: {sum(deleted)} workflows in {len(batches)} batches of up to {BATCH}, {sweep_seconds:.1f}s; "
        f"per batch median {median(batch_ms):.1f} ms, p90 {percentile(batch_ms, 90):.1f}, max {max(batch_ms):.1f}"
    )
    print_table(
        f"step latency of a {STEPS}-step workflow, ms (during: {runs} workflows while the sweep ran)",
        ["", "median", "p90", "p99", "max"],
        [["alone", *figures(alone)], ["during the sweep", *figures(during)]],
    )


if __name__ == "__main__":
    main()
