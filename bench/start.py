"""Starting workflows: the `start_workflow` call and 1000 three-step workflows started together.

    python bench/start.py [--workflows 1000] [--alone 200] [--systems ours,bulk,dbos,raw]

Per system, in one run on the same Postgres: the start call's latency (row committed, handle returned)
measured two ways: *alone* (one start, then its result, then the next: nothing else of ours runs beside
the call) and *in burst* (while the workflows already started run beside it), and the wall time from the
first start of the burst to its last result. The floor is a raw single-row INSERT+COMMIT on one connection,
measured in the same run: for the burst, as a run of its own; for *alone*, one timed just before each call;
and a second burst times one just before each of its calls, so that they compare under the same load. `bulk`
is ours starting them all with one `start_workflows` call (its "start call" is that call's time per workflow).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from benchlib import database_url, drop_schemas, launch_dbos, median, percentile, print_table

from engine import Engine, step, workflow

SCHEMA, DBOS_SCHEMA, RAW_SCHEMA = "bench_start", "bench_start_dbos", "bench_start_raw"
BULK = "durable-tui start_workflows"


@dataclass
class Result:
    system: str
    calls: list[float] = field(default_factory=list)
    wall: float = float("nan")
    note: str = ""
    alone: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    """Raw INSERT+COMMITs, each timed just before one of `alone`'s calls: the floor under the same load."""
    paired: list[float] = field(default_factory=list)
    """Start calls of a second burst, each timed just after a raw INSERT+COMMIT (in `paired_floor`): the
    burst's own contention, the same for both (that burst's wall time is not taken)."""
    paired_floor: list[float] = field(default_factory=list)

    def row(self, workflows: int) -> list[object]:
        ms = [c * 1000 for c in self.calls]
        lone = [c * 1000 for c in self.alone]
        rate = round(workflows / self.wall) if self.wall == self.wall else ""
        return [
            self.system,
            median(lone) if lone else "",
            percentile(lone, 90) if lone else "",
            median(ms),
            percentile(ms, 90),
            self.wall if self.wall == self.wall else "",
            rate,
        ]


@step(name="bench_start_noop")
def noop(i: int) -> int:
    return i


@workflow(name="bench_start_three")
def three(i: int) -> int:
    return noop(i) + noop(i) + noop(i)


def one_at_a_time(
    result: Result,
    count: int,
    start: Callable[[int], object],
    wait: Callable[[object], object],
    floor: Callable[[], object] | None = None,
) -> Result:
    """Time `count` start calls, each alone: the previous workflow has finished before the next starts. With
    `floor`, a raw INSERT+COMMIT is timed just before each call, so a ratio pairs samples taken under the same
    load (this machine's load moves from second to second)."""
    for i in range(count):
        if floor is not None:
            t0 = time.perf_counter()
            floor()
            result.floor.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        handle = start(i)
        result.alone.append(time.perf_counter() - t0)
        wait(handle)
    return result


class RawFloor:
    """A raw single-row INSERT+COMMIT on its own connection and table: the floor of a start."""

    def __init__(self, url: str):
        drop_schemas(url, RAW_SCHEMA)
        self.conn = psycopg.connect(url)
        self.conn.execute(f"CREATE SCHEMA {RAW_SCHEMA}")
        self.conn.execute(f"CREATE TABLE {RAW_SCHEMA}.workflows (workflow_id text PRIMARY KEY, inputs jsonb)")
        self.conn.commit()
        self.insert = f"INSERT INTO {RAW_SCHEMA}.workflows VALUES (%s, %s::jsonb)"
        self.url = url

    def __call__(self) -> None:
        self.conn.execute(self.insert, (uuid.uuid4().hex, '{"args": [1]}'), prepare=True)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()
        drop_schemas(self.url, RAW_SCHEMA)


def together(
    result: Result, workflows: int, start: Callable[[int], object], wait: Callable[[object], object]
) -> Result:
    """Start `workflows` at once (timing each call), then wait for every result."""
    began = time.perf_counter()
    handles = []
    for i in range(workflows):
        t0 = time.perf_counter()
        handles.append(start(i))
        result.calls.append(time.perf_counter() - t0)
    for handle in handles:
        wait(handle)
    result.wall = time.perf_counter() - began
    return result


def paired_burst(
    result: Result,
    workflows: int,
    start: Callable[[int], object],
    wait: Callable[[object], object],
    floor: Callable[[], object],
) -> Result:
    """Another burst, a raw INSERT+COMMIT timed just before each start call: how the call compares with a plain
    commit made under the same load, that of the workflows already started running beside both."""
    handles = []
    for i in range(workflows):
        t0 = time.perf_counter()
        floor()
        t1 = time.perf_counter()
        handles.append(start(i))
        result.paired.append(time.perf_counter() - t1)
        result.paired_floor.append(t1 - t0)
    for handle in handles:
        wait(handle)
    return result


def bench_ours(url: str, workflows: int, alone: int = 0) -> Result:
    drop_schemas(url, SCHEMA)
    with Engine(url, f"bench-{uuid.uuid4().hex[:6]}", schema=SCHEMA) as eng:
        eng.run_workflow(three, -1)  # warm up: the pool's connections, prepared statements
        floor = RawFloor(url)
        try:
            result = one_at_a_time(
                Result("durable-tui (ours)"),
                alone,
                lambda i: eng.start_workflow(three, -2 - i),
                lambda h: h.result(),
                floor,
            )
            result = together(result, workflows, lambda i: eng.start_workflow(three, i), lambda h: h.result())
            paired_burst(
                result, workflows, lambda i: eng.start_workflow(three, workflows + i), lambda h: h.result(), floor
            )
        finally:
            floor.close()
    drop_schemas(url, SCHEMA)
    return result


def bench_bulk(url: str, workflows: int) -> Result:
    drop_schemas(url, SCHEMA)
    result = Result(BULK)
    with Engine(url, f"bench-{uuid.uuid4().hex[:6]}", schema=SCHEMA) as eng:
        eng.run_workflow(three, -1)
        began = time.perf_counter()
        handles = eng.start_workflows(three, [(i,) for i in range(workflows)])
        result.calls = [(time.perf_counter() - began) / workflows]
        for handle in handles:
            handle.result()
        result.wall = time.perf_counter() - began
    drop_schemas(url, SCHEMA)
    return result


def bench_dbos(url: str, workflows: int, alone: int = 0) -> Result:
    try:
        from dbos import DBOS
    except ImportError:
        return Result("DBOS", note="not installed (pip install 'durable-tui[bench]')")

    @DBOS.step()
    def dbos_start_noop(i: int) -> int:
        return i

    @DBOS.workflow()
    def dbos_three(i: int) -> int:
        return dbos_start_noop(i) + dbos_start_noop(i) + dbos_start_noop(i)

    version = launch_dbos("bench-start", url, DBOS_SCHEMA)
    try:
        DBOS.start_workflow(dbos_three, -1).get_result()
        result = Result(f"DBOS {version}")
        one_at_a_time(result, alone, lambda i: DBOS.start_workflow(dbos_three, -2 - i), lambda h: h.get_result())
        return together(result, workflows, lambda i: DBOS.start_workflow(dbos_three, i), lambda h: h.get_result())
    finally:
        DBOS.destroy()
        drop_schemas(url, DBOS_SCHEMA)


def bench_raw(url: str, workflows: int) -> Result:
    """The floor of a start: one single-row INSERT, committed, on one connection."""
    result = Result("raw psycopg INSERT+COMMIT")
    floor = RawFloor(url)
    try:
        for _ in range(workflows):
            t0 = time.perf_counter()
            floor()
            result.calls.append(time.perf_counter() - t0)
    finally:
        floor.close()
    return result


def measure(url: str, workflows: int, systems: list[str], alone: int | None = None) -> list[Result]:
    """Every system asked for, one after another; DBOS absent gives a Result with a note and no figures.
    `alone`: how many start calls are timed one at a time before the burst (default: up to 200)."""
    lone = min(workflows, 200) if alone is None else alone
    results: list[Result] = []
    if "raw" in systems:
        results.append(bench_raw(url, workflows))
    if "ours" in systems:
        results.append(bench_ours(url, workflows, lone))
    if "bulk" in systems:
        results.append(bench_bulk(url, workflows))
    if "dbos" in systems:
        results.append(bench_dbos(url, workflows, lone))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=1000, help="workflows started together (default 1000)")
    parser.add_argument("--alone", type=int, default=200, help="start calls timed one at a time (default 200)")
    parser.add_argument("--systems", default="ours,bulk,dbos,raw", help="comma-separated: ours, bulk, dbos, raw")
    args = parser.parse_args()
    url = database_url()
    results = measure(url, args.workflows, args.systems.split(","), args.alone)
    measured = [r for r in results if r.calls]
    print_table(
        f"{args.workflows} three-step workflows started together, one run, Postgres "
        f"{psycopg.conninfo.conninfo_to_dict(url).get('host', 'local')}",
        [
            "system",
            "start call alone median ms",
            "p90",
            "start call in burst median ms",
            "p90",
            "start -> all results s",
            "workflows/s",
        ],
        [r.row(args.workflows) for r in measured],
    )
    by = {r.system.split(" ")[0]: r for r in measured if r.system != "durable-tui start_workflows"}
    ours, raw, dbos = by.get("durable-tui"), by.get("raw"), by.get("DBOS")
    if ours and raw:
        floor = median(raw.calls)
        if ours.alone:
            paired = median(ours.floor) * 1000
            print(
                f"ratio start call, alone / raw INSERT+COMMIT timed beside each call ({paired:.3f} ms): "
                f"median {median(ours.alone) * 1000 / paired:.2f}x"
            )
        print(f"ratio start call, in burst / raw INSERT+COMMIT: median {median(ours.calls) / floor:.2f}x")
        if ours.paired:
            beside = median(ours.paired_floor) * 1000
            print(
                f"ratio start call, in a second burst / raw INSERT+COMMIT timed beside each call ({beside:.3f} ms): "
                f"median {median(ours.paired) * 1000 / beside:.2f}x"
            )
    if ours and dbos:
        print(f"ratio throughput ours / DBOS: {dbos.wall / ours.wall:.1f}x")
    bulk = next((r for r in measured if r.system == "durable-tui start_workflows"), None)
    if ours and bulk:
        print(f"ratio throughput start_workflows / start_workflow: {ours.wall / bulk.wall:.1f}x")
    for r in results:
        if r.note:
            print(f"{r.system}: {r.note}")


if __name__ == "__main__":
    main()
