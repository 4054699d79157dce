"""Recovery: N PENDING workflows of a SIGKILLed worker, time from a new worker's launch to all SUCCESS.

    python bench/recovery.py [--workflows 1000] [--runs 3] [--systems ours,dbos]

A doomed worker subprocess starts N workflows of three steps; the first two record their outcome and
the third blocks. Once all N are in their third step, the worker is SIGKILLed. Then a new worker
subprocess launches and the clock runs from the start of its launch (engine construction, after
imports) until every workflow is SUCCESS, as that worker sees it in the database. Two cases for ours:

- restart: the new worker has the dead one's executor id, and recovers its PENDING workflows at launch;
- takeover: another executor id adopts the dead executor's workflows once its heartbeat lease (1 s
  here, 5 s by default) has run out; the bench waits out the lease before launching, so the figure is
  the engine's own work, and the lease adds to it in real life.

DBOS (if installed) is measured on its own restart case (same executor id "local": DBOS recovers the
workflows of its own executor at launch). Target for ours: at most 1 s for 1000 workflows.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
from benchlib import database_url, drop_schemas, median, print_table

from engine import Engine, step, workflow

SCHEMA, DBOS_SCHEMA = "bench_recovery", "bench_recovery_dbos"
DOOMED = "bench-recovery-doomed"
LEASE = 1.0
BLOCK = os.environ.get("BENCH_BLOCK") == "1"


@step(name="bench_rec_a")
def step_a(i: int) -> int:
    return i


@step(name="bench_rec_b")
def step_b(i: int) -> int:
    return i + 1


@step(name="bench_rec_c")
def step_c(i: int) -> int:
    if BLOCK:
        threading.Event().wait()
    return i + 2


@workflow(name="bench_rec_workflow")
def three_steps(i: int) -> int:
    return step_a(i) + step_b(i) + step_c(i)


# the worker processes --------------------------------------------------------------------------------


def wait_count(conn: psycopg.Connection, query: str, target: int, timeout: float) -> float:
    """Poll `query` (a count) every 2 ms until it reaches `target`; return the perf_counter time it did."""
    deadline = time.perf_counter() + timeout
    while True:
        now = time.perf_counter()
        try:
            if conn.execute(query).fetchone()[0] >= target:  # type: ignore[index]
                return now
        except psycopg.errors.UndefinedTable:
            pass  # the worker has not created its schema yet
        if now > deadline:
            raise SystemExit(f"timed out waiting for {target}: {query}")
        time.sleep(0.002)


def doomed_ours(url: str, n: int) -> None:
    eng = Engine(url, DOOMED, schema=SCHEMA, max_workers=n + 16, lease_seconds=LEASE, heartbeat_seconds=0.2).launch()
    for i in range(n):
        eng.start_workflow(three_steps, i, workflow_id=f"rec-{i}")
    threading.Event().wait()


def recover_ours(url: str, n: int, executor_id: str) -> dict[str, float]:
    conn = psycopg.connect(url, autocommit=True)
    t0 = time.perf_counter()
    eng = Engine(url, executor_id, schema=SCHEMA, lease_seconds=LEASE).launch()
    launched = time.perf_counter()
    done = wait_count(conn, f"SELECT count(*) FROM {SCHEMA}.workflows WHERE status = 'SUCCESS'", n, 60)
    eng.shutdown()
    return {"launch": launched - t0, "all_success": done - t0}


def dbos_app(url: str):  # type: ignore[no-untyped-def]
    from dbos import DBOS

    @DBOS.step()
    def dbos_a(i: int) -> int:
        return i

    @DBOS.step()
    def dbos_b(i: int) -> int:
        return i + 1

    @DBOS.step()
    def dbos_c(i: int) -> int:
        if BLOCK:
            threading.Event().wait()
        return i + 2

    @DBOS.workflow()
    def dbos_three_steps(i: int) -> int:
        return dbos_a(i) + dbos_b(i) + dbos_c(i)

    DBOS(
        config={
            "name": "bench-recovery",
            "system_database_url": url,
            "dbos_system_schema": DBOS_SCHEMA,
            "run_admin_server": False,
            "log_level": "WARNING",
            "application_version": "bench",
        }
    )
    return DBOS, dbos_three_steps


def doomed_dbos(url: str, n: int) -> None:
    from dbos import SetWorkflowID

    dbos, fn = dbos_app(url)
    dbos.launch()
    for i in range(n):
        with SetWorkflowID(f"rec-{i}"):
            dbos.start_workflow(fn, i)
    threading.Event().wait()


def recover_dbos(url: str, n: int, executor_id: str) -> dict[str, float]:
    conn = psycopg.connect(url, autocommit=True)
    dbos, _ = dbos_app(url)
    t0 = time.perf_counter()
    dbos.launch()
    launched = time.perf_counter()
    done = wait_count(conn, f"SELECT count(*) FROM {DBOS_SCHEMA}.workflow_status WHERE status = 'SUCCESS'", n, 120)
    dbos.destroy()
    return {"launch": launched - t0, "all_success": done - t0}


# the driver ----------------------------------------------------------------------------------------


def spawn(role: str, system: str, n: int, executor_id: str = DOOMED, block: bool = False) -> subprocess.Popen:
    env = {**os.environ, "BENCH_BLOCK": "1" if block else "0"}
    return subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__)),
            "--role",
            role,
            "--system",
            system,
            "--workflows",
            str(n),
            "--executor-id",
            executor_id,
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def one_run(url: str, system: str, n: int, takeover: bool) -> dict[str, float]:
    schema = SCHEMA if system == "ours" else DBOS_SCHEMA
    steps_done = (
        f"SELECT count(*) FROM {SCHEMA}.steps WHERE status = 'SUCCESS'"
        if system == "ours"
        else f"SELECT count(*) FROM {DBOS_SCHEMA}.operation_outputs"
    )
    drop_schemas(url, schema)
    doomed = spawn("doomed", system, n, block=True)
    with psycopg.connect(url, autocommit=True) as conn:
        wait_count(conn, steps_done, 2 * n, 120)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        pending = conn.execute(
            f"SELECT count(*) FROM {schema}."
            f"{'workflows' if system == 'ours' else 'workflow_status'} "
            "WHERE status = 'PENDING'"
        ).fetchone()[0]  # type: ignore[index]
    if pending != n:
        raise SystemExit(f"expected {n} PENDING workflows after the kill, found {pending}")
    if takeover:
        time.sleep(LEASE + 0.2)
    t0 = time.perf_counter()
    worker = spawn("recover", system, n, executor_id="bench-recovery-new" if takeover else DOOMED)
    out, _ = worker.communicate(timeout=180)
    figures = json.loads(out.strip().splitlines()[-1])
    figures["spawn_to_success"] = time.perf_counter() - t0
    drop_schemas(url, schema)
    return figures


CASES = [
    ("durable-tui restart (same executor id)", "ours", False),
    ("durable-tui takeover (other executor)", "ours", True),
    ("DBOS restart (same executor id)", "dbos", False),
]


def measure(url: str, workflows: int, runs: int, systems: list[str]) -> dict[str, list[dict[str, float]]]:
    """The runs of each case of the systems asked for, by case label; DBOS absent is left out (and said)."""
    cases = [c for c in CASES if c[1] in systems]
    if "dbos" in systems:
        try:
            import dbos  # noqa: F401
        except ImportError:
            print("DBOS: not installed (pip install 'durable-tui[bench]')")
            cases = [c for c in cases if c[1] != "dbos"]
    figures = {}
    for label, system, takeover in cases:
        figures[label] = [one_run(url, system, workflows, takeover) for _ in range(runs)]
        total = ", ".join(f"{r['all_success']:.3f}" for r in figures[label])
        print(f"{label}: all SUCCESS after {total} s", flush=True)
    return figures


def drive(args: argparse.Namespace) -> None:
    rows = []
    for label, runs in measure(database_url(), args.workflows, args.runs, args.systems.split(",")).items():
        total = [r["all_success"] for r in runs]
        rows.append(
            [
                label,
                median([r["launch"] for r in runs]),
                median(total),
                min(total),
                max(total),
                median([r["spawn_to_success"] for r in runs]),
            ]
        )
    print_table(
        f"Recovery of {args.workflows} PENDING workflows (3 steps, 2 recorded) after SIGKILL, "
        f"{args.runs} run(s) each; seconds from the new worker's launch",
        ["case", "launch s", "all SUCCESS s (median)", "min", "max", "process spawn -> all s"],
        rows,
    )
    print("\ntarget: ours <= 1 s for 1000 workflows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--systems", default="ours,dbos", help="comma-separated: ours, dbos")
    parser.add_argument("--role", choices=("doomed", "recover"), help=argparse.SUPPRESS)
    parser.add_argument("--system", choices=("ours", "dbos"), help=argparse.SUPPRESS)
    parser.add_argument("--executor-id", default=DOOMED, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role is None:
        drive(args)
        return
    url = database_url()
    if args.role == "doomed":
        (doomed_ours if args.system == "ours" else doomed_dbos)(url, args.workflows)
    else:
        recover = recover_ours if args.system == "ours" else recover_dbos
        print(json.dumps(recover(url, args.workflows, args.executor_id)), flush=True)


if __name__ == "__main__":
    main()
