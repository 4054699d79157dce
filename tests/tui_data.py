"""Support for the dashboard tests: deterministic data made by a real Engine, a worker subprocess, waits.

Snapshot data is produced by really running workflows in the test's schema; only the timestamps (and
the executor's host and pid) are then pinned, so that with the injected clock every rendered time,
age and countdown is the same on every run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from textual.pilot import Pilot

from engine import Control, Engine, sleep, step, step_context, workflow
from engine.store.queues import QueueDefinition
from tests.helpers import Worker, wait_for
from tui.app import DashboardApp

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    return T0


@step(name="snap.charge")
def charge(amount: int) -> dict:
    return {"charged": amount, "currency": "EUR"}


@step(name="snap.ship")
def ship(order: str) -> str:
    return f"shipped {order}"


@step(name="snap.reserve", max_attempts=1)
def reserve(order: str) -> None:
    raise ValueError(f"no stock for {order}")


@step(name="snap.flaky", interval_seconds=600.0, max_attempts=5, backoff_rate=1.0)
def flaky(order: str) -> None:
    raise ConnectionError("payment gateway timed out")


@workflow(name="snap.order")
def order(order_id: str, amount: int) -> str:
    charge(amount)
    return ship(order_id)


@workflow(name="snap.broken")
def broken(order_id: str) -> str:
    charge(1)
    reserve(order_id)
    return "unreachable"


@workflow(name="snap.retrying")
def retrying(order_id: str) -> str:
    charge(5)
    flaky(order_id)
    return "unreachable"


@step(name="snap.flaky-twice", interval_seconds=0.01, max_attempts=4)
def flaky_twice(order: str) -> str:
    if step_context().attempt < 3:
        raise ConnectionError("gateway timed out")
    return f"paid {order}"


@step(name="snap.pack")
def pack(order_id: str) -> str:
    return f"packed {order_id}"


@step(name="snap.label")
def label(order_id: str) -> str:
    return f"labelled {order_id}"


@workflow(name="snap.parcel")
def parcel(order_id: str) -> str:
    pack(order_id)
    return label(order_id)


@workflow(name="snap.journey")
def journey(order_id: str) -> str:
    charge(3)
    flaky_twice(order_id)
    parcel(order_id)
    sleep(0.01)
    flaky(order_id)
    return "unreachable"


@workflow(name="snap.nap")
def nap(order_id: str) -> str:
    charge(1)
    sleep(600)
    return ship(order_id)


# (workflow, step, attempt or 0 for the step row): seconds after the journey's start, from and to
JOURNEY_TIMES = [
    ("trip-1", 1, 0, 0.0, 0.4),
    ("trip-1", 2, 0, 0.5, 8.2),
    ("trip-1", 2, 1, 0.5, 1.0),
    ("trip-1", 2, 2, 3.0, 3.6),
    ("trip-1", 2, 3, 7.6, 8.2),
    ("trip-1", 3, 0, 8.3, 20.0),
    ("trip-1-3", 1, 0, 8.4, 9.0),
    ("trip-1-3", 2, 0, 9.1, 19.8),
    ("trip-1", 4, 0, 20.1, 35.1),
    ("trip-1", 5, 0, 35.2, None),
    ("trip-1", 5, 1, 35.2, 36.0),
    ("nap-1", 1, 0, 0.0, 0.3),
    ("nap-1", 2, 0, 0.4, None),
]


def seed_timeline(database_url: str, schema: str) -> None:
    """A run with a step that failed twice before it succeeded (two backoffs), a child workflow, a finished
    durable sleep and a step waiting to retry (3.4 s left at T0); and a run asleep (23.4 s left). Their
    worker is exec-2 (another executor than seed_mixed's, so that neither recovers the other's work)."""
    with Engine(database_url, "exec-2", schema=schema, auto_recover=False) as eng:
        eng.start_workflow(journey, "T-1", workflow_id="trip-1")
        eng.start_workflow(nap, "N-1", workflow_id="nap-1")
        with Control(database_url, schema=schema) as ctl:
            wait_for(
                lambda: (
                    ctl.get_workflow("trip-1").steps[-1].status == "WAITING_RETRY"
                    and len(ctl.get_workflow("trip-1").steps) == 5
                )
            )
            wait_for(lambda: any(s.status == "SLEEPING" for s in ctl.get_workflow("nap-1").steps))
    pin_times(database_url, schema)
    start = T0 - timedelta(seconds=60)
    s = schema
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(
            f"UPDATE {s}.workflows SET started_at = %(a)s, created_at = %(a)s WHERE workflow_id LIKE 'trip-1%%'"
            f" OR workflow_id = 'nap-1'",
            {"a": start},
        )
        c.execute(
            f"UPDATE {s}.workflows SET created_at = %(a)s, started_at = %(a)s, finished_at = %(e)s"
            " WHERE workflow_id = 'trip-1-3'",
            {"a": start + timedelta(seconds=8.3), "e": start + timedelta(seconds=20)},
        )
        for wid, step_id, attempt, a, b in JOURNEY_TIMES:
            times = {"w": wid, "s": step_id, "n": attempt, "a": start + timedelta(seconds=a)}
            times["b"] = None if b is None else start + timedelta(seconds=b)
            table = "steps" if attempt == 0 else "attempts"
            extra = "" if attempt == 0 else " AND attempt = %(n)s"
            c.execute(
                f"UPDATE {s}.{table} SET started_at = %(a)s, finished_at = %(b)s"
                f" WHERE workflow_id = %(w)s AND step_id = %(s)s{extra}",
                times,
            )
        c.execute(
            f"UPDATE {s}.steps SET next_attempt_at = %(t)s WHERE workflow_id = 'nap-1' AND status = 'SLEEPING'",
            {"t": T0 + timedelta(seconds=23.4)},
        )
        c.execute(  # exec-2 is alive at T0, like exec-1: its workflows wait, they are not orphaned
            f"UPDATE {s}.executors SET heartbeat_at = %(t)s, stopped_at = NULL, pid = 4444"
            " WHERE executor_id = 'exec-2'",
            {"t": T0 - timedelta(seconds=0.4)},
        )


def seed_mixed(database_url: str, schema: str) -> None:
    """Workflows in every status (one waiting to retry with 3.4 s left at T0), and three executors."""
    with Engine(
        database_url, "exec-1", schema=schema, heartbeat_seconds=0.1, lease_seconds=1.0, auto_recover=False
    ) as eng:
        eng.run_workflow(order, "A-1001", 42, workflow_id="order-1001")
        eng.run_workflow(order, "A-1002", 7, workflow_id="order-1002")
        eng.start_workflow(broken, "A-1003", workflow_id="order-1003")
        eng.start_workflow(retrying, "A-1004", workflow_id="order-1004")
        eng.start_workflow(retrying, "A-1005", workflow_id="order-1005")
        with Control(database_url, schema=schema) as ctl:
            wait_for(lambda: ctl.get_workflow("order-1003").status == "ERROR")
            for wid in ("order-1004", "order-1005"):
                wait_for(lambda w=wid: any(s.status == "WAITING_RETRY" for s in ctl.get_workflow(w).steps))
            ctl.cancel("order-1005")
            wait_for(lambda: ctl.get_workflow("order-1005").status == "CANCELLED")
    for executor in ("exec-old", "exec-dead"):
        Engine(database_url, executor, schema=schema, auto_recover=False).launch().shutdown()
    with Control(database_url, schema=schema) as ctl:
        ctl.enqueue_workflow("snap.nobody", "A-1006", workflow_id="order-1006")
        ctl.add_fault("fail", "snap.ship", count=2, message="injected: carrier down")
        ctl.add_fault("delay", "snap.charge", workflow_id="order-1004", count=None, delay_seconds=2.5)
        ctl.add_fault("crash", "snap.reserve", phase="after")
    pin_times(database_url, schema)


def pin_times(database_url: str, schema: str) -> None:
    """Every timestamp relative to T0, executors on a fixed host and pid: the data is the same each run."""
    s = schema
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(
            f"""
            UPDATE {s}.workflows SET
                created_at = %(t0)s - make_interval(secs => 60 - right(workflow_id, 1)::int * 5),
                started_at = CASE WHEN status = 'ENQUEUED' THEN NULL
                             ELSE %(t0)s - make_interval(secs => 60 - right(workflow_id, 1)::int * 5) END,
                updated_at = %(t0)s - interval '1 second',
                finished_at = CASE WHEN status IN ('SUCCESS', 'ERROR', 'CANCELLED')
                              THEN %(t0)s - make_interval(secs => 58.5 - right(workflow_id, 1)::int * 5)
                              END,
                wait_reason = NULL""",
            {"t0": T0},
        )
        c.execute(
            f"""
            UPDATE {s}.steps st SET started_at = w.started_at + make_interval(secs => st.step_id * 0.25),
                finished_at = CASE WHEN st.finished_at IS NULL THEN NULL
                              ELSE w.started_at + make_interval(secs => st.step_id * 0.25 + 0.1) END,
                next_attempt_at = CASE WHEN st.status = 'WAITING_RETRY'
                                  THEN %(t0)s + interval '3.4 seconds' END
            FROM {s}.workflows w WHERE w.workflow_id = st.workflow_id""",
            {"t0": T0},
        )
        c.execute(f"""
            UPDATE {s}.attempts a SET started_at = st.started_at, finished_at = st.started_at + interval '0.1 s',
                traceback = 'Traceback (most recent call last):' || E'\\n' || '  File "shop.py", line 12'
                            || E'\\n' || error_type || ': ' || error_message
            FROM {s}.steps st WHERE st.workflow_id = a.workflow_id AND st.step_id = a.step_id""")
        c.execute(
            f"""
            UPDATE {s}.executors SET host = 'build-box', code_version = 'c0ffee',
                workflows = ARRAY['snap.broken', 'snap.order', 'snap.retrying'],
                pid = CASE executor_id WHEN 'exec-1' THEN 4242
                                                                 WHEN 'exec-old' THEN 4100 ELSE 4343 END,
                started_at = %(t0)s - interval '5 minutes',
                heartbeat_at = CASE executor_id WHEN 'exec-1' THEN %(t0)s - interval '0.4 seconds'
                                                ELSE %(t0)s - interval '42 seconds' END,
                stopped_at = CASE executor_id WHEN 'exec-old' THEN %(t0)s - interval '40 seconds' END
            """,
            {"t0": T0},
        )


def make_app(control: Control, **kwargs: object) -> DashboardApp:
    kwargs.setdefault("clock", fixed_clock)
    kwargs.setdefault("steady", True)
    kwargs.setdefault("where", "root@db:5432/test (test schema)")
    return DashboardApp(control, **kwargs)  # type: ignore[arg-type]


async def until(pilot: Pilot, predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Let the app run until `predicate()` holds (checked every 20 ms)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


async def settle(pilot: Pilot, connected: bool = True) -> None:
    """Wait until the feed is in the expected state and no read is in flight (a stable screen)."""
    app: DashboardApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.connected is connected)
    for _ in range(3):
        await until(pilot, lambda: app.loads_in_flight == 0)
        await pilot.pause(0.05)
    await pilot.pause()


def run(coro_fn: Callable[[], object]) -> None:
    """Pilot tests are sync functions running their scenario with asyncio (no plugin needed)."""
    asyncio.run(coro_fn())  # type: ignore[arg-type]


class WorkerProcess(Worker):
    """`tests.tui_worker` in a subprocess: a real worker the dashboard drives (and may crash)."""

    def __init__(self, database_url: str, schema: str, executor_id: str, directory: Path, auto_recover: bool = True):
        super().__init__(
            database_url,
            schema,
            executor_id,
            directory,
            module="tests.tui_worker",
            AUTO_RECOVER="1" if auto_recover else "0",
        )


@step(name="snap.tick")
def tick(i: int) -> int:
    return i


@workflow(name="snap.long")
def long_run(n: int) -> int:
    return sum(tick(i) for i in range(n))


def seed_queues(control: Control, database_url: str, schema: str) -> None:
    """Two recorded queues, as a worker records them, with work no worker takes (there is none):
    `emails` full (2/2 running, 3 waiting, the oldest 42 s before T0, starts 4 s and 40 s ago in the
    database's time) and `reports` rate-limited and empty. Times are pinned; the sparkline buckets are
    relative to the database's clock, the starts placed mid-bucket so they land in the same cells each run."""
    control._store.queues.record_definitions(
        [
            QueueDefinition("emails", concurrency=2, worker_concurrency=1),
            QueueDefinition("reports", rate_limit=10, rate_period=60.0),
        ]
    )
    for i in range(1, 6):
        control.enqueue_workflow("snap.order", f"mail-{i}", i, workflow_id=f"mail-{i}", queue="emails")
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(
            f"UPDATE {schema}.workflows"
            " SET created_at = %(t0)s - make_interval(secs => 66 - right(workflow_id, 1)::int * 8)",
            {"t0": T0},
        )
        c.execute(
            f"UPDATE {schema}.workflows SET status = 'PENDING', executor_id = 'worker-1', started_at = %(t0)s,"
            " dequeued_at = clock_timestamp() - make_interval(secs => 4 + 36 * (right(workflow_id, 1)::int - 1))"
            " WHERE workflow_id IN ('mail-1', 'mail-2')",
            {"t0": T0},
        )
        c.execute(
            f"UPDATE {schema}.workflows SET wait_reason = 'queue emails full (2/2)'"
            " WHERE status = 'ENQUEUED' AND queue_name = 'emails'"
        )
    serve_queues(database_url, schema, "emails", "reports")


def serve_queues(database_url: str, schema: str, *queues: str) -> None:
    """A worker (`queue-worker`) that serves these queues and stays live through the test (its heartbeat is
    an hour ahead), so that their workflows wait for the queue's limits, not for a worker."""
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(
            f"INSERT INTO {schema}.executors (executor_id, host, pid, heartbeat_at, queues)"
            " VALUES ('queue-worker', 'build-box', 4343, clock_timestamp() + interval '1 hour', %s)",
            (list(queues),),
        )
