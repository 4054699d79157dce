"""The benchmark suite behind `python -m bench`: each part runs one script's `measure` and turns its figures
into lines of one table (figure | ours | DBOS | raw floor | ratios | target | met?), kept for the JSON too.

The scripts stay runnable on their own (`python bench/steps.py`); they import each other as siblings, so this
module puts bench/ on the path the way running a script there does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # the scripts' sibling imports (`from benchlib import ...`), as under `python bench/x.py`

import control_latency  # noqa: E402
import history  # noqa: E402
import queues  # noqa: E402
import recovery  # noqa: E402
import start  # noqa: E402
import steps  # noqa: E402
import tui_latency  # noqa: E402
import tui_tmux  # noqa: E402
import workers  # noqa: E402
from benchlib import database_url, median, print_table  # noqa: E402

__all__ = ["database_url", "print_table"]  # for __main__, which cannot import the siblings before this module

NOT_RUN, NOT_INSTALLED = "not run", "not installed"


@dataclass
class Sizes:
    """How much each part does: the defaults, or tiny ones for a smoke run (`--quick`) that says nothing of
    the targets, which are set for the default sizes."""

    steps_runs: int = 20
    start_workflows: int = 1000
    recovery_workflows: int = 1000
    recovery_runs: int = 3
    workers_workflows: int = 2000
    workers_counts: tuple[int, ...] = (1, 2, 4)
    workers_runs: int = 3
    queue_workflows: int = 1000
    queue_counts: tuple[int, ...] = (1, 4)
    queue_rounds: int = 3
    history_workflows: int = 100_000
    history_runs: int = 10
    history_starts: int = 300
    history_samples: int = 20
    history_paints: int = 3
    tui_rows: int = 100_000
    tui_samples: int = 200
    tui_burst_seconds: float = 3.0
    tui_idle_seconds: float = 5.0
    tmux_trials: int = 30
    control_trials: int = 50


QUICK = Sizes(
    steps_runs=2,
    start_workflows=20,
    recovery_workflows=20,
    recovery_runs=1,
    workers_workflows=40,
    workers_counts=(1, 2),
    workers_runs=1,
    queue_workflows=20,
    queue_counts=(1,),
    queue_rounds=1,
    history_workflows=2000,
    history_runs=1,
    history_starts=5,
    history_samples=1,
    history_paints=1,
    tui_rows=2000,
    tui_samples=5,
    tui_burst_seconds=0.5,
    tui_idle_seconds=0.5,
    tmux_trials=2,
    control_trials=2,
)


@dataclass
class Line:
    """One row of the table; `met` is None where there is no target, and `unjudged` names a part of the target
    that could not be checked (DBOS not run or not installed)."""

    figure: str
    ours: str
    dbos: str = "-"
    raw: str = "-"
    ratios: str = ""
    target: str = ""
    met: bool | None = None
    unjudged: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[str]:
        met = "-" if self.met is None else ("met" if self.met else "NOT met") + ("*" if self.unjudged else "")
        return [self.figure, self.ours, self.dbos, self.raw, self.ratios, self.target, met]


HEADERS = ["figure", "ours", "DBOS", "raw floor", "ratio(s)", "target", "met?"]


@dataclass
class Context:
    url: str
    sizes: Sizes
    systems: list[str]
    dbos: str | None  # None: DBOS measured; else why not ("not run", "not installed")


def dbos_state(systems: list[str]) -> str | None:
    if "dbos" not in systems:
        return NOT_RUN
    try:
        import dbos  # noqa: F401
    except ImportError:
        return NOT_INSTALLED
    return None


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def times(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def part_steps(ctx: Context) -> tuple[list[Line], Any]:
    results = steps.measure(ctx.url, ctx.sizes.steps_runs, ctx.systems)
    by = {r.system: r for r in results if r.step_seconds}
    ours = by.get("durable-tui (ours)")
    raw = by.get("raw psycopg INSERT+COMMIT")
    dbos = next((r for name, r in by.items() if name.startswith("DBOS")), None)
    line = Line(f"per step, {steps.STEPS}-step workflow (median call)", "-", target="<= 1.3x raw floor")
    if ours:
        o = median(ours.step_seconds) * 1000
        line.ours, line.values["ours_ms"] = ms(o), o
        ratios = []
        if raw:
            r = median(raw.step_seconds) * 1000
            line.raw, line.values["raw_ms"], line.met = f"{ms(r)} INSERT+COMMIT", r, o <= 1.3 * r
            ratios.append(f"ours/raw {times(o / r)}")
        if dbos:
            d = median(dbos.step_seconds) * 1000
            line.dbos, line.values["dbos_ms"] = ms(d), d
            ratios.append(f"DBOS/ours {times(d / o)}")
        line.ratios = ", ".join(ratios)
    line.dbos = ctx.dbos or line.dbos
    details = [{"system": r.system, "row": r.row() if r.step_seconds else [], "note": r.note} for r in results]
    return [line], details


def part_start(ctx: Context) -> tuple[list[Line], Any]:
    n = ctx.sizes.start_workflows
    results = start.measure(ctx.url, n, [*ctx.systems, "bulk"] if "ours" in ctx.systems else ctx.systems)
    by = {r.system.split(" ")[0]: r for r in results if r.calls and r.system != start.BULK}
    ours, raw, dbos = by.get("durable-tui"), by.get("raw"), by.get("DBOS")
    bulk = next((r for r in results if r.calls and r.system == start.BULK), None)
    call = Line("start_workflow call in a burst, vs raw alone (median)", "-", target="(context)")
    lone = Line("start_workflow call, alone (median)", "-", target="<= 1.5x raw floor")
    together = Line(f"{n} three-step workflows started together", "-", target=">= 10x DBOS, >= 1000 wf/s")
    if ours:
        o = median(ours.calls) * 1000
        call.ours, call.values["ours_ms"] = ms(o), o
        rate = n / ours.wall
        together.ours, together.values["ours_wf_per_s"] = f"{rate:.0f} wf/s", rate
        together.met = rate >= 1000
        if raw:
            r = median(raw.calls) * 1000
            call.raw, call.values["raw_ms"] = f"{ms(r)} INSERT+COMMIT, in a run of its own", r
            call.ratios = f"ours/raw {times(o / r)}"
            if ours.alone:
                a, f = median(ours.alone) * 1000, median(ours.floor) * 1000
                lone.ours, lone.values["ours_ms"], lone.met = ms(a), a, a <= 1.5 * f
                lone.raw, lone.values["raw_ms"] = f"{ms(f)} INSERT+COMMIT, timed beside each call", f
                lone.ratios = f"ours/raw {times(a / f)}"
        if dbos:
            if dbos.alone:
                lone.dbos = ms(median(dbos.alone) * 1000)
                lone.values["dbos_ms"] = median(dbos.alone) * 1000
            d, d_rate = median(dbos.calls) * 1000, n / dbos.wall
            call.dbos, call.values["dbos_ms"] = ms(d), d
            together.dbos, together.values["dbos_wf_per_s"] = f"{d_rate:.0f} wf/s", d_rate
            together.ratios = f"ours/DBOS {times(rate / d_rate)}"
            together.met = together.met and rate / d_rate >= 10
        else:
            together.unjudged = "the DBOS ratio"
    if ctx.dbos:
        call.dbos = lone.dbos = together.dbos = ctx.dbos
    beside = Line("start_workflow call in a burst, raw timed beside each (median)", "-", target="<= 1.5x raw floor")
    if ours and ours.paired:
        p, f = median(ours.paired) * 1000, median(ours.paired_floor) * 1000
        beside.ours, beside.values["ours_ms"], beside.raw, beside.values["raw_ms"] = (
            ms(p),
            p,
            f"{ms(f)} INSERT+COMMIT",
            f,
        )
        beside.ratios, beside.met = f"ours/raw {times(p / f)}", p <= 1.5 * f
    lines = [beside, lone, call, together] if ours and ours.alone else [call, together]
    if bulk:
        bulk_rate = n / bulk.wall
        lines.append(
            Line(
                f"{n} started in one start_workflows call",
                f"{bulk_rate:.0f} wf/s",
                ratios=f"{times(bulk_rate / (n / ours.wall))} the one-by-one starts" if ours else "",
                values={"ours_wf_per_s": bulk_rate},
            )
        )
    details = [{"system": r.system, "row": r.row(n) if r.calls else [], "note": r.note} for r in results]
    return lines, details


def part_recovery(ctx: Context) -> tuple[list[Line], Any]:
    n = ctx.sizes.recovery_workflows
    found = recovery.measure(ctx.url, n, ctx.sizes.recovery_runs, [s for s in ctx.systems if s != "raw"])
    totals = {label: median([r["all_success"] for r in runs]) for label, runs in found.items()}
    restart, takeover, dbos = (totals.get(label) for label, _, _ in recovery.CASES)
    lines = [
        Line(f"recover {n} PENDING after SIGKILL, restart", "-", target="<= 1 s, >= 15x DBOS"),
        Line(f"recover {n} PENDING after SIGKILL, takeover", "-", target="<= 1 s"),
    ]
    for line, value in zip(lines, (restart, takeover), strict=True):
        if value is not None:
            line.ours, line.values["ours_s"], line.met = f"{value:.2f} s", value, value <= 1.0
    if restart is not None:
        if dbos is not None:
            lines[0].dbos, lines[0].values["dbos_s"] = f"{dbos:.2f} s", dbos
            lines[0].ratios = f"DBOS/ours {times(dbos / restart)}"
            lines[0].met = lines[0].met and dbos / restart >= 15
        else:
            lines[0].unjudged = "the DBOS ratio"
    lines[0].dbos = ctx.dbos or lines[0].dbos
    return lines, found


def part_workers(ctx: Context) -> tuple[list[Line], Any]:
    s = ctx.sizes
    summaries = workers.measure_all(ctx.url, s.workers_workflows, list(s.workers_counts), s.workers_runs)
    one = median([r.rate for r in summaries[0].runs])
    lines = []
    for summary in summaries:
        rates = [r.rate for r in summary.runs]
        rate = median(rates)
        word, _ = summary.middle.limit()
        scale = f"{times(rate / one)} {summaries[0].workers} worker, " if summary is not summaries[0] else ""
        lines.append(
            Line(
                f"{s.workers_workflows} three-step workflows, {summary.workers} worker process(es)",
                f"{rate:.0f} wf/s ({min(rates):.0f}-{max(rates):.0f})",
                ratios=f"{scale}limit: {word}",
                target="(where the limit is)",
                values={"ours_wf_per_s": rate, "steps_per_s": rate * workers.STEPS, "limit": word},
            )
        )
    return lines, [summary.as_json() for summary in summaries]


def part_queues(ctx: Context) -> tuple[list[Line], Any]:
    n = ctx.sizes.queue_workflows
    runs = queues.measure_all(ctx.url, n, list(ctx.sizes.queue_counts), ctx.sizes.queue_rounds)
    lines = []
    for count in ctx.sizes.queue_counts:
        ratio, direct, queued = queues.ratio(runs, count)
        lines.append(
            Line(
                f"{n} workflows through a concurrency=100 queue, {count} worker(s)",
                f"{n / queued:.0f} wf/s",
                ratios=f"queue/direct {ratio:.0%} (direct {n / direct:.0f} wf/s; medians of "
                f"{ctx.sizes.queue_rounds} alternating rounds)",
                target=f">= {queues.TARGET:.0%} of direct",
                met=ratio >= queues.TARGET,
                values={"queue_wf_per_s": n / queued, "direct_wf_per_s": n / direct, "ratio": ratio},
            )
        )
    details = [{"row": r.row(n)} for r in runs]
    return lines, details


def part_history(ctx: Context) -> tuple[list[Line], Any]:
    s = ctx.sizes
    found = history.measure(
        ctx.url, s.history_workflows, s.history_runs, s.history_starts, s.history_samples, s.history_paints, True
    )
    by = {f.name: f for f in found.figures}
    size = f"{s.history_workflows:,} finished"
    lines = []
    for name, label in (("per step, 100-step workflow", "per step"), ("start_workflow call", "start_workflow call")):
        f = by[name]
        e, h = median(f.empty), median(f.history)
        lines.append(
            Line(
                f"{label} with {size} in history",
                ms(h),
                ratios=f"history/empty {times(h / e)} (empty {ms(e)})",
                target="<= 1.10x empty",
                met=history.within_tenth(e, h),
                values={"history_ms": h, "empty_ms": e},
            )
        )
    paint = median(by["dashboard first paint"].history)
    lines.append(
        Line(
            f"dashboard first paint, {size}",
            ms(paint),
            target="<= 1000 ms",
            met=paint <= 1000,
            values={"history_ms": paint},
        )
    )
    page_figures = [f for f in found.figures if f.name.startswith(("page", "header", "list_workflows"))]
    worst = max(page_figures, key=lambda f: median(f.history))
    slowest = median(worst.history)
    lines.append(
        Line(
            f"list page, slowest of {len(page_figures)} kinds, {size}",
            ms(slowest),
            ratios=worst.name,
            target="<= 50 ms",
            met=slowest <= 50,
            values={"history_ms": slowest, "case": worst.name},
        )
    )
    scans = [label for label, _, seq in found.explained if seq]
    lines.append(
        Line(
            f"frequent statements reading the history by seq scan, {size}",
            f"{len(scans)} of {len(found.explained)}",
            ratios=", ".join(scans),
            target="none",
            met=not scans,
            values={"seq_scans": scans, "statements": len(found.explained)},
        )
    )
    details = {"build_seconds": found.build_seconds, "rows": found.rows(), "explain": found.explained}
    return lines, details


KEPT_PACE = 0.99
"""The burst counts as 1500 commits/s when its writers kept to that schedule within 1 %: they share the two cores
with the dashboard and Postgres, and a commit or two late at the deadline is not a lighter burst."""


def part_tui(ctx: Context) -> tuple[list[Line], Any]:
    s = ctx.sizes
    found = tui_latency.measure(ctx.url, s.tui_rows, s.tui_samples, s.tui_burst_seconds, s.tui_idle_seconds)
    screen = tui_tmux.measure(ctx.url, s.tmux_trials)
    rendered, cancelled = found["latency_median_ms"], screen["cancel_to_screen_median_ms"]
    rate, stall = found["burst_rate"], found["burst_lag_max"]
    return [
        Line(
            "dashboard: commit -> row rendered (median)",
            ms(rendered),
            target="< 100 ms",
            met=rendered < 100,
            values={"ours_ms": rendered},
        ),
        Line(
            "dashboard in tmux: committed cancel -> CANCELLED on screen (median)",
            ms(cancelled),
            ratios=f"p90 {screen['cancel_to_screen_p90_ms']:.0f} ms, {s.tmux_trials} trials",
            target="<= 50 ms",
            met=cancelled <= 50,
            values={"ours_ms": cancelled, "p90_ms": screen["cancel_to_screen_p90_ms"]},
        ),
        Line(
            "dashboard: longest UI stall under a commit burst",
            ms(stall),
            ratios=f"{rate:.1f} commits/s, {found['burst_events']:.0f} notifications -> "
            f"{found['burst_reloads']:.0f} reloads; p99 {found['burst_lag_p99']:.0f} ms; longest loop callback "
            f"{found['burst_callback_cpu_max']:.0f} ms CPU; the longest stall waited "
            f"{found['burst_queued_in_longest']:.0f} ms for a core",
            target="<= 50 ms at 1500 commits/s",
            met=stall <= 50 and rate >= KEPT_PACE * 1500,
            values={
                "lag_max_ms": stall,
                "lag_p99_ms": found["burst_lag_p99"],
                "commits_per_s": rate,
                "callback_cpu_max_ms": found["burst_callback_cpu_max"],
                "longest_stall_waiting_for_a_core_ms": found["burst_queued_in_longest"],
            },
        ),
        Line(
            f"dashboard first paint, {s.tui_rows:,} workflows",
            ms(found["first_paint_ms"]),
            target="<= 1000 ms",
            met=found["first_paint_ms"] <= 1000,
            values={"ours_ms": found["first_paint_ms"]},
        ),
        Line(
            "dashboard idle CPU",
            f"{found['idle_cpu_percent']:.1f} %",
            target="< 2 %",
            met=found["idle_cpu_percent"] < 2,
            values={"ours_percent": found["idle_cpu_percent"]},
        ),
    ], {**found, **screen}


def part_control(ctx: Context) -> tuple[list[Line], Any]:
    found = control_latency.measure(ctx.sizes.control_trials)
    lines = []
    for (_, label), limit in zip(control_latency.OPERATIONS, (50, 100), strict=True):
        total = median([call + reaction for call, reaction in found[label]])
        lines.append(
            Line(
                f"{label} (median, from the call)",
                ms(total),
                target=f"<= {limit} ms",
                met=total <= limit,
                values={"ours_ms": total},
            )
        )
    return lines, found


PARTS: dict[str, Callable[[Context], tuple[list[Line], Any]]] = {
    "steps": part_steps,
    "start": part_start,
    "recovery": part_recovery,
    "workers": part_workers,
    "queues": part_queues,
    "history": part_history,
    "tui": part_tui,
    "control": part_control,
}
