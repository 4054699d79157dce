"""Cost with history: the engine and the dashboard with a million finished workflows already in the tables.

    python bench/history.py [--workflows 1000000] [--runs 10] [--starts 300] [--samples 20] [--explain]

Builds the history in bulk (`history_data.build`: generate_series, never the engine; 5 steps per workflow,
the failed attempts of ERROR ones) in a schema of its own, and an empty schema beside it; then measures both
in the same run, alternating between them so background load falls on both alike: the per-step cost of a
100-step workflow, the `start_workflow` call, the dashboard's first paint, and pages of the list by status,
name and id prefix (`Control.summaries`, what the dashboard reads, and `Control.list_workflows`). `--explain`
adds an EXPLAIN ANALYZE of every statement the engine and the dashboard run often, on the history.
Targets: per-step and start cost within 10 % of the empty schema, first paint <= 1 s, a list page <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from benchlib import database_url, drop_schemas, median, percentile, print_table
from history_data import NAMES, build
from history_explain import explain
from tui_latency import SIZE, until

from engine import Control, Engine, step, workflow
from tui.app import DashboardApp
from tui.workflows import WorkflowsScreen

STEPS = 100
PAGE = 50
BIG, EMPTY = "bench_history_big", "bench_history_empty"
STEP_CALLS: list[float] = []


@step(name="bench_history_noop")
def noop(i: int) -> int:
    return i


@workflow(name="bench_history_steps")
def hundred_steps(n: int) -> int:
    for i in range(n):
        t0 = time.perf_counter()
        noop(i)
        STEP_CALLS.append(time.perf_counter() - t0)
    return n


@workflow(name="bench_history_start")
def nothing() -> None:
    return None


@dataclass
class Figure:
    """One measure on both schemas: milliseconds per sample."""

    name: str
    target: str
    empty: list[float] = field(default_factory=list)
    history: list[float] = field(default_factory=list)

    def row(self, met: Callable[[float, float], bool]) -> list[object]:
        e, h = median(self.empty), median(self.history)
        spread = f"{percentile(self.history, 10):.2f}-{percentile(self.history, 90):.2f}"
        return [self.name, e, h, spread, f"{h / e:.2f}x", self.target, "met" if met(e, h) else "NOT met"]


def per_step(engines: dict[str, Engine], runs: int) -> Figure:
    figure = Figure("per step, 100-step workflow", "<= 1.10x empty")
    for _ in range(2):
        for eng in engines.values():
            eng.run_workflow(hundred_steps, STEPS)
    for i in range(runs):
        for schema, eng in alternating(engines, i):
            STEP_CALLS.clear()
            eng.run_workflow(hundred_steps, STEPS)
            target = figure.history if schema == BIG else figure.empty
            target.extend(s * 1000 for s in STEP_CALLS)
    return figure


def start_calls(engines: dict[str, Engine], starts: int) -> Figure:
    figure = Figure("start_workflow call", "<= 1.10x empty")
    for eng in engines.values():
        eng.run_workflow(nothing)
    for i in range(starts):
        for schema, eng in alternating(engines, i):
            t0 = time.perf_counter()
            handle = eng.start_workflow(nothing)
            (figure.history if schema == BIG else figure.empty).append((time.perf_counter() - t0) * 1000)
            handle.result()  # the next call, on either schema, never overlaps this workflow's run
    return figure


def alternating(engines: dict[str, Engine], i: int) -> list[tuple[str, Engine]]:
    """Both schemas, in turn first: what runs just before a call (the other's work) falls on both alike."""
    order = list(engines.items())
    return order if i % 2 == 0 else order[::-1]


async def paint_once(control: Control) -> float:
    start = time.perf_counter()
    app = DashboardApp(control, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WorkflowsScreen) and bool(app.screen.page))
        paint = (time.perf_counter() - start) * 1000
        await until(pilot, lambda: app.loads_in_flight == 0)  # leave no read behind the app's exit
        return paint


def first_paint(controls: dict[str, Control], samples: int) -> Figure:
    figure = Figure("dashboard first paint", "<= 1000 ms")
    for _ in range(samples):
        for schema, control in controls.items():
            (figure.history if schema == BIG else figure.empty).append(asyncio.run(paint_once(control)))
    return figure


def timed(figure: Figure, schema: str, call: Callable[[], object]) -> None:
    t0 = time.perf_counter()
    call()
    (figure.history if schema == BIG else figure.empty).append((time.perf_counter() - t0) * 1000)


def pages(controls: dict[str, Control], samples: int, prefix: str) -> list[Figure]:
    """The list's first page and a page further down, by each filter; then `list_workflows` (full records)."""
    cases: list[tuple[str, dict[str, object]]] = [
        ("page by status", {"status": "ERROR"}),
        ("page by status, offset 1000", {"status": "SUCCESS", "offset": 1000}),
        ("page by name", {"name": NAMES[3]}),
        ("page by name, sort updated", {"name": NAMES[3], "sort": "updated"}),
        ("page by id prefix", {"id_prefix": prefix}),
        ("page, all, sort updated", {"sort": "updated"}),
        ("page by queue", {"queue": "emails"}),
        ("header counts + filtered total", {}),
    ]
    figures = [Figure(name, "<= 50 ms") for name, _ in cases]
    listed = Figure("list_workflows(status=ERROR), 50 records", "<= 50 ms")
    for _ in range(samples):
        for schema, control in controls.items():
            for figure, (name, query) in zip(figures, cases, strict=True):
                if name.startswith("header"):
                    timed(figure, schema, partial(header_reads, control))
                else:
                    timed(figure, schema, partial(control.summaries, **query, limit=PAGE))
            timed(listed, schema, partial(control.list_workflows, status="ERROR", limit=PAGE))
    return [*figures, listed]


def header_reads(control: Control) -> None:
    """What the dashboard reads for its header with a name filter set: the counts and the filter's total."""
    control.status_counts()
    control.count(name=NAMES[3])


@dataclass
class Measured:
    """What one history run found: the figures on both schemas, the EXPLAIN rows if asked, the build time."""

    workflows: int
    build_seconds: float
    figures: list[Figure]
    explained: list[tuple[str, float, bool]]

    def rows(self) -> list[list[object]]:
        return [f.row(within_tenth if f.name in RELATIVE else partial(under_limit, f)) for f in self.figures]


RELATIVE = {"per step, 100-step workflow", "start_workflow call"}


def measure(
    url: str,
    workflows: int,
    runs: int = 10,
    starts: int = 300,
    samples: int = 20,
    paints: int = 3,
    explained: bool = False,
    keep: bool = False,
) -> Measured:
    """Build the history, then measure it against an empty schema (alternating); drop both unless `keep`."""
    drop_schemas(url, BIG, EMPTY)
    try:
        seconds = build(url, BIG, workflows)
        print(f"history of {workflows:,} workflows ({workflows * 5:,} steps) built in {seconds:.1f} s", flush=True)
        tag = uuid.uuid4().hex[:6]
        with (
            Engine(url, f"bench-big-{tag}", schema=BIG) as big,
            Engine(url, f"bench-empty-{tag}", schema=EMPTY) as empty,
        ):
            engines = {EMPTY: empty, BIG: big}
            figures = [per_step(engines, runs), start_calls(engines, starts)]
        with Control(url, schema=BIG) as big_control, Control(url, schema=EMPTY) as empty_control:
            controls = {EMPTY: empty_control, BIG: big_control}
            prefix = big_control.summaries(limit=1)[0].workflow_id[:2]
            failed = big_control.summaries(status="ERROR", limit=1)[0].workflow_id
            figures.append(first_paint(controls, paints))
            figures += pages(controls, samples, prefix)
        rows = explain(url, BIG, NAMES, failed) if explained else []
        return Measured(workflows, seconds, figures, rows)
    finally:
        if not keep:
            drop_schemas(url, BIG, EMPTY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=1_000_000, help="finished workflows in the history")
    parser.add_argument("--runs", type=int, default=10, help="100-step workflows per schema")
    parser.add_argument("--starts", type=int, default=300, help="start_workflow calls per schema")
    parser.add_argument("--samples", type=int, default=20, help="list reads per schema and case")
    parser.add_argument("--paints", type=int, default=3, help="dashboard first paints per schema")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every frequent statement")
    parser.add_argument("--keep", action="store_true", help="keep the schemas (to explore them with psql)")
    args = parser.parse_args()
    found = measure(
        database_url(), args.workflows, args.runs, args.starts, args.samples, args.paints, args.explain, args.keep
    )
    print_table(
        f"cost with history: {args.workflows:,} finished workflows vs an empty schema, ms (same run, alternating)",
        ["figure", "empty", "history", "history p10-p90", "ratio", "target", ""],
        found.rows(),
    )
    if args.explain:
        print_table(
            f"EXPLAIN ANALYZE on the history ({args.workflows:,} workflows)",
            ["statement", "ms", "seq scan of a history table"],
            [[label, ms, "SEQ SCAN" if seq else ""] for label, ms, seq in found.explained],
        )


def within_tenth(empty: float, history: float) -> bool:
    return history <= 1.1 * empty


def under_limit(figure: Figure, empty: float, history: float) -> bool:
    return history <= (1000.0 if "paint" in figure.name else 50.0)


if __name__ == "__main__":
    main()
