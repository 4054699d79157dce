"""Queues: enqueue -> claimed latency, and throughput through a `concurrency=100` queue against direct starts.

    python bench/queues.py [--workflows 1000] [--workers 1,4] [--rounds 3]

Per worker count, in one run on the same Postgres: worker subprocesses (each an Engine) start their share
of N three-step workflows at once, either directly (`start_workflow`, run where it was called) or through
`Queue("bench_queue", concurrency=100).enqueue` (claimed by whichever worker the queue lets). Latency is
`started_at - created_at` of each row (for a queued workflow: enqueue -> claimed); throughput is N over
the first `created_at` to the last `finished_at`, both read from the database's own clock, so no process's
waiting for results is counted; the ratio takes each mode's median over alternating rounds. Target: the queue
at least 70 % of the direct throughput.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import psycopg
from benchlib import database_url, drop_schemas, median, percentile, print_table

from engine import Engine, Queue, step, workflow

SCHEMA = "bench_queues"
MODES = ("direct", "queue")
TARGET = 0.70
BENCH_QUEUE = Queue("bench_queue", concurrency=100)


@step(name="bench_queues_noop")
def noop(i: int) -> int:
    return i


@workflow(name="bench_queues_three")
def three(i: int) -> int:
    return noop(i) + noop(i) + noop(i)


@dataclass
class Run:
    mode: str
    workers: int
    latencies: list[float]
    wall: float

    def row(self, workflows: int) -> list[object]:
        ms = [x * 1000 for x in self.latencies]
        return [
            f"{self.mode}, {self.workers} worker(s)",
            median(ms),
            percentile(ms, 90),
            self.wall,
            workflows / self.wall,
        ]


def child(mode: str, schema: str, first: int, count: int) -> None:
    """One worker process: launch, say ready, start its share on `go`, run whatever it claims until `stop`."""
    with Engine(database_url(), f"bench-q-{uuid.uuid4().hex[:6]}", schema=schema) as eng:
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(first, first + count):
            if mode == "queue":
                BENCH_QUEUE.enqueue(three, i)
            else:
                eng.start_workflow(three, i)
        sys.stdin.readline()


def measure(url: str, mode: str, workers: int, workflows: int) -> Run:
    schema = f"{SCHEMA}_{mode}_{workers}"
    drop_schemas(url, schema)
    with Engine(url, "bench-q-setup", schema=schema):
        pass  # creates the schema and records the queue before the workers race to
    share, extra = divmod(workflows, workers)
    procs, first = [], 0
    for w in range(workers):
        count = share + (w < extra)
        argv = [sys.executable, __file__, "--child", mode, "--schema", schema, "--first", str(first), "--count"]
        procs.append(subprocess.Popen([*argv, str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        first += count
    try:
        for p in procs:
            if p.stdout is None or p.stdout.readline().strip() != "ready":
                raise SystemExit(f"a {mode} worker did not start (exit code {p.wait()})")
        for p in procs:
            p.stdin.write("go\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
        with psycopg.connect(url, autocommit=True) as conn:
            done = f"SELECT count(*) FROM {schema}.workflows WHERE status = 'SUCCESS' AND name = 'bench_queues_three'"
            while conn.execute(done).fetchone()[0] < workflows:  # type: ignore[index]
                if any(p.poll() is not None for p in procs):
                    raise SystemExit(f"a {mode} worker exited early")
                time.sleep(0.01)
            rows = conn.execute(
                f"SELECT extract(epoch FROM started_at - created_at), created_at, finished_at FROM {schema}.workflows"
                " WHERE name = 'bench_queues_three'"
            ).fetchall()
    finally:
        for p in procs:
            if p.poll() is None:
                p.stdin.write("stop\n")  # type: ignore[union-attr]
                p.stdin.close()  # type: ignore[union-attr]
        for p in procs:
            p.wait(timeout=60)
        drop_schemas(url, schema)
    wall = (max(r[2] for r in rows) - min(r[1] for r in rows)).total_seconds()
    return Run(mode, workers, [float(r[0]) for r in rows], wall)


def measure_all(url: str, workflows: int, counts: list[int], rounds: int = 1) -> list[Run]:
    """Direct, then queued, for each worker count, `rounds` times over (alternating, so that both modes meet the
    same moments of a machine whose load moves)."""
    return [measure(url, mode, n, workflows) for n in counts for _ in range(rounds) for mode in MODES]


def ratio(runs: list[Run], workers: int) -> tuple[float, float, float]:
    """Queue / direct throughput with `workers` processes, and each mode's median wall time (s) over its rounds."""
    direct, queued = (median([r.wall for r in runs if (r.mode, r.workers) == (m, workers)]) for m in MODES)
    return direct / queued, direct, queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=1000, help="workflows per measurement (default 1000)")
    parser.add_argument("--workers", default="1,4", help="comma-separated worker process counts (default 1,4)")
    parser.add_argument("--rounds", type=int, default=3, help="direct/queue pairs per worker count (default 3)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.schema, args.first, args.count)
        return
    try:
        counts = [int(n) for n in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers takes counts like 1,4, not {args.workers!r}")
    if args.workflows < 1 or any(n < 1 for n in counts):
        parser.error("--workflows and each --workers count must be at least 1")
    runs = measure_all(database_url(), args.workflows, counts, args.rounds)
    print_table(
        f"{args.workflows} three-step workflows started at once, direct vs a concurrency=100 queue, "
        f"{args.rounds} alternating round(s)",
        ["how", "created -> started (claimed) median ms", "p90", "first start -> last finish s", "workflows/s"],
        [r.row(args.workflows) for r in runs],
    )
    for n in counts:
        share, _, _ = ratio(runs, n)
        claims = [x for r in runs if (r.mode, r.workers) == ("queue", n) for x in r.latencies]
        print(
            f"ratio queue / direct throughput, {n} worker(s), median wall times: {share:.0%} "
            f"(target: at least {TARGET:.0%}); claim latency median {median(claims) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
