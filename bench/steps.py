"""Milliseconds per step of a workflow of 100 no-op steps: our engine, DBOS (if installed), raw psycopg.

    python bench/steps.py [--runs 20] [--systems ours,dbos,raw] [--profile FILE]

All on the same Postgres ($DURABLE_DATABASE_URL, default postgresql://root@127.0.0.1:5432/test), in this
process, each in a schema of its own, taking turns run by run (each system in turn first), so that the machine's
load of the moment falls on all of them alike. Per system it prints the latency of one
step call as the workflow sees it (median, p90, p99 over every step of every run) and the wall time
of a whole workflow divided by its steps (start, 100 checkpoints, finish). The target for ours is
at most 0.5 ms per step, attempt record and notifications included.

`--profile FILE` runs only our engine under cProfile, in the thread that executes the workflow (a
profiler started in the main thread would see nothing of it), writes FILE and prints the top entries.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import psycopg
from benchlib import database_url, drop_schemas, launch_dbos, median, percentile, print_table

from engine import Engine, step, workflow

STEPS = 100
WARMUP = 3
SCHEMA, DBOS_SCHEMA, RAW_SCHEMA = "bench_steps", "bench_steps_dbos", "bench_steps_raw"

LATENCIES: list[float] = []
PROFILER: list[cProfile.Profile] = []


@dataclass
class Result:
    system: str
    step_seconds: list[float] = field(default_factory=list)
    run_seconds: list[float] = field(default_factory=list)
    note: str = ""

    def row(self) -> list[object]:
        ms = [s * 1000 for s in self.step_seconds]
        wall = median(self.run_seconds) * 1000 / STEPS
        return [self.system, median(ms), percentile(ms, 90), percentile(ms, 99), wall, round(1000 / wall)]


@step(name="bench_noop")
def noop(i: int) -> int:
    return i


@workflow(name="bench_hundred_steps")
def hundred_steps(n: int) -> int:
    profiler = PROFILER[0] if PROFILER else None
    if profiler:
        profiler.enable()
    for i in range(n):
        t0 = time.perf_counter()
        noop(i)
        LATENCIES.append(time.perf_counter() - t0)
    if profiler:
        profiler.disable()
    return n


Run = Callable[[], object]
"""One workflow of STEPS steps on one system; the step calls it makes are appended to LATENCIES."""


def timed_runs(systems: list[tuple[Result, Run]], runs: int) -> None:
    """WARMUP untimed runs of each system, then `runs` timed ones, the systems taking turns (each in turn first),
    so that the load of the moment falls on all alike: a ratio compares runs made within a second of each other."""
    for _ in range(WARMUP):
        for _, run_one in systems:
            run_one()
    for i in range(runs):
        shift = i % len(systems)
        for result, run_one in systems[shift:] + systems[:shift]:
            LATENCIES.clear()
            t0 = time.perf_counter()
            run_one()
            result.run_seconds.append(time.perf_counter() - t0)
            result.step_seconds += LATENCIES


@contextmanager
def ours(url: str) -> Iterator[tuple[Result, Run]]:
    drop_schemas(url, SCHEMA)
    with Engine(url, f"bench-{uuid.uuid4().hex[:6]}", schema=SCHEMA) as eng:
        yield Result("durable-tui (ours)"), lambda: eng.run_workflow(hundred_steps, STEPS)
    drop_schemas(url, SCHEMA)


@contextmanager
def dbos(url: str, notes: list[Result]) -> Iterator[list[tuple[Result, Run]]]:
    try:
        from dbos import DBOS
    except ImportError:
        notes.append(Result("DBOS", note="not installed (pip install 'durable-tui[bench]')"))
        yield []
        return

    @DBOS.step()
    def dbos_noop(i: int) -> int:
        return i

    @DBOS.workflow()
    def dbos_hundred_steps(n: int) -> int:
        for i in range(n):
            t0 = time.perf_counter()
            dbos_noop(i)
            LATENCIES.append(time.perf_counter() - t0)
        return n

    version = launch_dbos("bench-steps", url, DBOS_SCHEMA)
    try:
        yield [(Result(f"DBOS {version}"), lambda: dbos_hundred_steps(STEPS))]
    finally:
        DBOS.destroy()
        drop_schemas(url, DBOS_SCHEMA)


@contextmanager
def raw(url: str) -> Iterator[list[tuple[Result, Run]]]:
    """The floor: one INSERT per step, committed, on one connection (autocommit and explicit COMMIT)."""
    drop_schemas(url, RAW_SCHEMA)
    with psycopg.connect(url, autocommit=True) as auto, psycopg.connect(url) as conn:
        auto.execute(f"CREATE SCHEMA {RAW_SCHEMA}")
        auto.execute(
            f"CREATE TABLE {RAW_SCHEMA}.steps (workflow_id text, step_id int, output jsonb, "
            "PRIMARY KEY (workflow_id, step_id))"
        )
        insert = f"INSERT INTO {RAW_SCHEMA}.steps VALUES (%s, %s, %s::jsonb)"

        def autocommit_run() -> None:
            wid = uuid.uuid4().hex
            for i in range(STEPS):
                t0 = time.perf_counter()
                auto.execute(insert, (wid, i, str(i)), prepare=True)
                LATENCIES.append(time.perf_counter() - t0)

        def commit_run() -> None:
            wid = uuid.uuid4().hex
            for i in range(STEPS):
                t0 = time.perf_counter()
                conn.execute(insert, (wid, i, str(i)), prepare=True)
                conn.commit()
                LATENCIES.append(time.perf_counter() - t0)

        yield [
            (Result("raw psycopg INSERT (autocommit)"), autocommit_run),
            (Result("raw psycopg INSERT+COMMIT"), commit_run),
        ]
    drop_schemas(url, RAW_SCHEMA)


def profile_ours(url: str, runs: int, path: str) -> None:
    PROFILER.append(cProfile.Profile())
    with ours(url) as system:
        timed_runs([system], runs)
    PROFILER[0].dump_stats(path)
    print(
        f"profiled {runs + WARMUP} runs of {STEPS} steps (median {system[0].row()[1]:.3f} ms/step under the "
        f"profiler); stats in {path}"
    )
    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def measure(url: str, runs: int, systems: list[str]) -> list[Result]:
    """Every system asked for, all open at once and run in turns; DBOS absent gives a Result with a note and no
    figures."""
    notes: list[Result] = []
    with ExitStack() as stack:
        chosen: list[tuple[Result, Run]] = []
        if "raw" in systems:
            chosen += stack.enter_context(raw(url))
        if "ours" in systems:
            chosen.append(stack.enter_context(ours(url)))
        if "dbos" in systems:
            chosen += stack.enter_context(dbos(url, notes))
        timed_runs(chosen, runs)
    return [result for result, _ in chosen] + notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="timed workflows per system (default 20)")
    parser.add_argument("--systems", default="ours,dbos,raw", help="comma-separated: ours, dbos, raw")
    parser.add_argument("--profile", metavar="FILE", help="profile our engine only, write cProfile stats")
    args = parser.parse_args()
    url = database_url()
    if args.profile:
        profile_ours(url, args.runs, args.profile)
        return
    results = measure(url, args.runs, args.systems.split(","))
    measured = [r for r in results if r.step_seconds]
    print_table(
        f"{STEPS} no-op steps per workflow, {args.runs} workflows per system (+{WARMUP} warm-up), "
        f"Postgres {psycopg.conninfo.conninfo_to_dict(url).get('host', 'local')}",
        ["system", "median ms/step", "p90", "p99", "wall ms/step", "steps/s"],
        [r.row() for r in measured],
    )
    for r in results:
        if r.note:
            print(f"{r.system}: {r.note}")
    ours = next((r for r in measured if r.system.startswith("durable-tui")), None)
    if ours is None:
        return
    print(
        f"\ntarget: ours <= 0.5 ms/step -> median {ours.row()[1]:.3f} ms "
        f"({'met' if ours.row()[1] <= 0.5 else 'NOT met'}), wall {ours.row()[4]:.3f} ms"
    )
    for other in measured:
        if other is not ours:
            print(
                f"ratio ours / {other.system}: median {ours.row()[1] / other.row()[1]:.2f}x, "
                f"wall {ours.row()[4] / other.row()[4]:.2f}x"
            )


if __name__ == "__main__":
    main()
