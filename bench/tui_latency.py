"""Dashboard benchmark: commit → row rendered latency, a 1500 commits/s burst, first paint with 100k rows,
idle CPU. Runs the real app headless (Textual's test driver) against $DURABLE_DATABASE_URL.

    python bench/tui_latency.py [--rows 100000] [--samples 200]

"Rendered" is the moment the list applies the new window to its table (the next frame paints it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

import psycopg
from benchlib import database_url, drop_schemas, median, percentile

from engine import Control
from tui.app import DashboardApp
from tui.workflows import WorkflowsScreen

SIZE = (160, 45)


async def until(pilot, predicate: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await pilot.pause(0.001)


def hook(screen: WorkflowsScreen, seen: dict[str, float], applies: list[float]) -> None:
    """Record when each workflow id first reaches the table."""
    original = screen.refresher.apply

    def apply(page):
        original(page)
        now = time.perf_counter()
        applies.append(now)
        for row in page.rows:
            seen.setdefault(row.workflow_id, now)

    screen.refresher.apply = apply


async def latency(control: Control, samples: int, burst_seconds: float) -> tuple[list[float], dict]:
    app = DashboardApp(control, steady=True, freeze_startup=True)  # as `run_dashboard` runs it
    seen: dict[str, float] = {}
    applies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.connected and app.loads_in_flight == 0)
        screen = app.screen
        assert isinstance(screen, WorkflowsScreen)
        hook(screen, seen, applies)
        lat = []
        for i in range(samples):
            wid = f"lat-{i}-{uuid.uuid4().hex[:6]}"
            start = time.perf_counter()
            await asyncio.to_thread(control.enqueue_workflow, "bench.none", workflow_id=wid)
            await until(pilot, lambda w=wid: w in seen)
            lat.append((seen[wid] - start) * 1000)
            await pilot.pause(0.01)
        burst = await run_burst(app, pilot, control, seen, applies, seconds=burst_seconds)
    return lat, burst


WRITERS, THREADS = 2, 3
"""The burst's writers: an application of WRITERS processes with THREADS request threads each (bench/burst_writer.py),
every thread calling `Control.enqueue_workflow` one call after another. Six callers keep enough commits in flight
to share WAL flushes (a commit here waits ~1-3 ms for its flush): four fell 0.1-0.7 % behind the 1,500/s schedule
beside the dashboard; more processes only add CPU on 2 cores."""
PROBE = 0.005
WRITER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "burst_writer.py")


async def run_burst(
    app: DashboardApp,
    pilot,
    control: Control,
    seen: dict[str, float],
    applies: list[float],
    rate: int = 1500,
    seconds: float = 3.0,
) -> dict:
    """Commit `rate` new workflows per second from writer processes (1500/s: comfortably past the 1000/s the
    dashboard must absorb); measure loop stalls and catch-up.

    The burst: WRITERS processes × THREADS threads call `Control.enqueue_workflow` (no queue) on one schedule of
    `rate` calls per second, for `seconds`, from a common start once every writer is connected (their start-up is
    not part of it). Each call is one commit of a new ENQUEUED workflow row (no worker runs it), then its
    notification and a wake sent in a transaction of their own; the dashboard hears one notification per commit.
    `rate` in the result is what they reached: the rows committed over `seconds`, however far behind they fell.

    A stall is how late a 5 ms sleep on the UI loop wakes up: whatever ran in between (a reload applied, a
    frame rendered, a flush) held every key press and paint back that long. On a loaded machine that wall
    time includes waiting for a core, so the loop thread's own CPU time over the same gaps is given too
    (`cpu_*`): the part the dashboard's work costs, whatever else runs. On a starved machine one gap holds
    many callbacks, so the CPU of each callback the loop runs is taken too (`callback_*`): the longest is
    the longest the dashboard itself held the loop, key presses and paints included, whatever the load."""
    lags: list[float] = []
    cpu: list[float] = []
    queued: list[float] = []
    callbacks: list[float] = []
    stop = False

    async def probe() -> None:
        while not stop:
            t, c, q = time.perf_counter(), time.thread_time(), waited_for_a_core()
            await asyncio.sleep(PROBE)
            lags.append((time.perf_counter() - t - PROBE) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
            queued.append(waited_for_a_core() - q)

    before = control.count(name="bench.none")
    events0, applies0 = app.events_seen, len(applies)
    args = [control.database_url, control.schema, str(WRITERS), str(THREADS), str(rate), str(seconds)]
    procs = [
        subprocess.Popen(
            [sys.executable, WRITER, args[0], args[1], str(part), *args[2:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for part in range(WRITERS)
    ]
    await asyncio.to_thread(lambda: [p.stdout.readline() for p in procs])  # each is connected
    start = time.time() + 0.02
    for p in procs:
        p.stdin.write(f"{start!r}\n")
        p.stdin.flush()
    probe_task = asyncio.create_task(probe())
    timing = time_callbacks(callbacks)
    await asyncio.to_thread(lambda: [p.wait() for p in procs])
    end = time.perf_counter()
    n = control.count(name="bench.none") - before
    # the newest by creation time tops the screen; the highest id need not be the newest, since the writers'
    # threads commit side by side
    last = control.summaries(name="bench.none", sort="created", limit=1)[0].workflow_id
    screen = app.screen
    # polled without the pilot, whose pauses post a callback to every widget and force a frame each time: the loop
    # runs only what the dashboard itself does while the stalls are still being measured
    while not (screen.total >= n + before and any(r.workflow_id == last for r in screen.page)):
        if time.perf_counter() - end > 30:
            raise TimeoutError("the list did not catch up with the burst")
        await asyncio.sleep(PROBE)
    caught_up = (time.perf_counter() - end) * 1000
    stop = True
    await probe_task
    timing.close()
    return {
        "commits": n,
        "rate": n / seconds,
        "events": app.events_seen - events0,
        "reloads": len(applies) - applies0,
        "lag_p50": statistics.median(lags),
        "lag_p99": percentile(lags, 99),
        "lag_max": max(lags),
        "cpu_p99": percentile(cpu, 99),
        "cpu_max": max(cpu),
        "queued_in_longest": queued[lags.index(max(lags))],
        "callback_cpu_p99": percentile(callbacks, 99),
        "callback_cpu_max": max(callbacks),
        "callbacks_over_16ms": sum(c > 16 for c in callbacks),
        "catch_up_ms": caught_up,
    }


def waited_for_a_core() -> float:
    """How long (ms) the calling thread has waited, runnable, for a core since it began (Linux's schedstat; NaN
    elsewhere): the part of a stall that the machine's load, not the dashboard's work, made."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return float("nan")


class time_callbacks:  # noqa: N801 (used as a context: started at creation, `close()` ends it)
    """The loop thread's CPU (ms) of every callback the UI loop runs (asyncio's `Handle._run`: task steps,
    timers, `call_soon`s), appended to `into` until `close()`. Only the loop thread's handles are timed."""

    def __init__(self, into: list[float]):
        self.original = asyncio.events.Handle._run
        original, thread = self.original, threading.get_ident()

        def timed(handle: asyncio.events.Handle) -> None:
            if threading.get_ident() != thread:
                return original(handle)
            c = time.thread_time()
            try:
                return original(handle)
            finally:
                into.append((time.thread_time() - c) * 1000)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]

    def close(self) -> None:
        asyncio.events.Handle._run = self.original  # type: ignore[method-assign]


def seed(url: str, schema: str, rows: int) -> None:
    with Control(url, schema=schema):
        pass
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            f"""
            INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, created_at, updated_at)
            SELECT 'wf-' || lpad(i::text, 7, '0'), 'bench.flow' || (i %% 7),
                   (ARRAY['SUCCESS','SUCCESS','SUCCESS','ERROR','PENDING','ENQUEUED','CANCELLED'])[1 + i %% 7],
                   jsonb_build_object('args', jsonb_build_array(i), 'kwargs', '{{}}'::jsonb),
                   now() - make_interval(secs => i), now()
            FROM generate_series(1, %s) i""",
            (rows,),
        )
        c.execute(f"""
            INSERT INTO {schema}.steps (workflow_id, step_id, name, kind, status, attempts, attempt_base,
                                        max_attempts, started_at)
            SELECT workflow_id, 1, 'bench.step', 'step', 'SUCCESS', 1, 0, 3, created_at
            FROM {schema}.workflows""")
        c.execute(f"ANALYZE {schema}.workflows")
        c.execute(f"ANALYZE {schema}.steps")


async def first_paint(control: Control, idle_seconds: float) -> tuple[float, float, float]:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    app = DashboardApp(control, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WorkflowsScreen) and app.screen.page)
        paint = (time.perf_counter() - start) * 1000
        for _ in range(20):
            await pilot.press("pagedown")
        await until(pilot, lambda: app.loads_in_flight == 0)
        await pilot.press("G")
        await until(pilot, lambda: app.loads_in_flight == 0 and app.screen.table.window_offset > 0)
        last = app.screen.page[-1].workflow_id
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await pilot.pause(idle_seconds)
        idle = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    print(f"  (end of list reached: last row {last})")
    return paint, rss, idle


def stall(url: str | None = None, rate: int = 1500, seconds: float = 3.0) -> dict[str, float]:
    """Only the burst, on a fresh schema: the UI loop's stalls (ms) while `rate` commits/s arrive."""
    url = url or database_url()
    schema = f"bench_tui_{uuid.uuid4().hex[:6]}"

    async def burst_only(control: Control) -> dict:
        app = DashboardApp(control, steady=True, freeze_startup=True)  # as `run_dashboard` runs it
        seen: dict[str, float] = {}
        applies: list[float] = []
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.connected and app.loads_in_flight == 0)
            hook(app.screen, seen, applies)
            return await run_burst(app, pilot, control, seen, applies, rate=rate, seconds=seconds)

    gc.freeze()  # as `run_dashboard` does before the app runs
    try:
        with Control(url, schema=schema) as control:
            return asyncio.run(burst_only(control))
    finally:
        drop_schemas(url, schema)


def measure(
    url: str | None = None,
    rows: int = 100_000,
    samples: int = 200,
    burst_seconds: float = 3.0,
    idle_seconds: float = 5.0,
) -> dict[str, float]:
    """Every figure of the table, by name (ms, MB, %): latency, the 1500/s burst, first paint, idle CPU."""
    url = url or database_url()
    live, big = f"bench_tui_{uuid.uuid4().hex[:6]}", f"bench_tui_{uuid.uuid4().hex[:6]}"
    try:
        gc.freeze()  # as `run_dashboard` does before the app runs
        with Control(url, schema=live) as control:
            lat, burst = asyncio.run(latency(control, samples, burst_seconds))
        seed(url, big, rows)
        with Control(url, schema=big) as control:
            paint, rss, idle = asyncio.run(first_paint(control, idle_seconds))
    finally:
        drop_schemas(url, live, big)
    return {
        "latency_median_ms": median(lat),
        "latency_p99_ms": percentile(lat, 99),
        **{f"burst_{k}": float(v) for k, v in burst.items()},
        "first_paint_ms": paint,
        "rss_growth_mb": rss,
        "idle_cpu_percent": idle,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--burst-seconds", type=float, default=3.0)
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="how long idle CPU is measured")
    parser.add_argument("--stall-only", action="store_true", help="only the 1500 commits/s burst's UI stalls")
    args = parser.parse_args()
    if not os.environ.get("DURABLE_DATABASE_URL"):
        raise SystemExit("set DURABLE_DATABASE_URL to a Postgres the benchmark may create schemas in")
    if args.stall_only:
        burst = stall(seconds=args.burst_seconds)
        print(
            f"burst ({WRITERS} processes × {THREADS} threads calling enqueue_workflow, 1500/s asked): "
            f"{burst['rate']:.0f} commits/s, {burst['events']} notifications → {burst['reloads']} reloads"
        )
        stalls = f"{burst['lag_p50']:.1f} / {burst['lag_p99']:.1f} / {burst['lag_max']:.1f} ms"
        print(f"UI loop stall p50 / p99 / max: {stalls}")
        print(f"  of which the loop's own CPU, p99 / max: {burst['cpu_p99']:.1f} / {burst['cpu_max']:.1f} ms")
        print(f"  the longest, waiting for a core (the machine's load): {burst['queued_in_longest']:.1f} ms")
        longest = f"{burst['callback_cpu_p99']:.2f} / {burst['callback_cpu_max']:.1f} ms"
        print(f"UI loop callback CPU p99 / max: {longest}, {burst['callbacks_over_16ms']} over 16 ms")
        return
    f = measure(rows=args.rows, samples=args.samples, burst_seconds=args.burst_seconds, idle_seconds=args.idle_seconds)
    rows = [
        ("commit → row rendered, median", f"{f['latency_median_ms']:.1f} ms", "< 100 ms"),
        ("commit → row rendered, p99", f"{f['latency_p99_ms']:.1f} ms", ""),
        ("burst: commits/s sustained", f"{f['burst_rate']:.0f}/s ({f['burst_commits']:.0f} commits)", "≥ 1000/s"),
        ("burst: notifications → reloads", f"{f['burst_events']:.0f} → {f['burst_reloads']:.0f}", "coalesced"),
        (
            "burst: UI loop stall p50 / p99 / max",
            f"{f['burst_lag_p50']:.1f} / {f['burst_lag_p99']:.1f} / {f['burst_lag_max']:.1f} ms",
            "max ≤ 50 ms",
        ),
        ("burst: loop's own CPU in a stall p99 / max", f"{f['burst_cpu_p99']:.1f} / {f['burst_cpu_max']:.1f} ms", ""),
        ("burst: longest stall, waiting for a core", f"{f['burst_queued_in_longest']:.1f} ms", ""),
        (
            "burst: longest loop callback (CPU) p99 / max",
            f"{f['burst_callback_cpu_p99']:.2f} / {f['burst_callback_cpu_max']:.1f} ms",
            "",
        ),
        ("burst: last commit → on screen", f"{f['burst_catch_up_ms']:.0f} ms", "catches up"),
        (f"first paint, {args.rows:,} workflows", f"{f['first_paint_ms']:.0f} ms", "< 1000 ms"),
        ("memory growth (max RSS)", f"{f['rss_growth_mb']:.1f} MB", "bounded"),
        ("idle CPU of the app", f"{f['idle_cpu_percent']:.2f} %", "< 2 %"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'value':<28} target")
    print("-" * (width + 44))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<28} {target}")


if __name__ == "__main__":
    main()
