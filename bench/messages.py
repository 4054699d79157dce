"""Milliseconds from `send` to the `recv` that takes it, in a waiting workflow: our engine and DBOS (if installed).

    python bench/messages.py [--messages 200] [--systems ours,dbos] [--idle 2]

One workflow loops on `recv("ping")`; before each message it is already blocked in its recv (it said so,
then the sender waits 3 ms), so every message takes the whole path: the send's commit, the NOTIFY, the
worker's listener, the wake-up, the statement that consumes the message and records the recv. Two figures
per message, both on this process's clock: from the start of the `send` call (its commit included) and from
its return (the message committed) to the moment `recv` returns in the workflow. The target for ours is a
median of at most 5 ms from the commit.

Then it checks that a waiting workflow costs no queries: one workflow waits `--idle` seconds in a recv while
every statement psycopg executes is counted by thread; the table shows those of the workflow's own thread
(its first look, which records the wait, then nothing until woken) and, for context, of the whole process
(the worker's heartbeat and, for DBOS, its background pollers).
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from benchlib import database_url, drop_schemas, launch_dbos, median, percentile, print_table

from engine import Engine, recv, workflow

SCHEMA, DBOS_SCHEMA = "bench_messages", "bench_messages_dbos"
GAP = 0.003
"""How long the sender waits after the workflow said it is about to block in its recv."""

READY = threading.Event()
GOT = threading.Event()
RECEIVED: list[float] = []
WAITER: list[int] = []
STATEMENTS: Counter[int] = Counter()


@dataclass
class Result:
    system: str
    from_call: list[float] = field(default_factory=list)
    from_commit: list[float] = field(default_factory=list)
    idle_own: int = -1
    idle_all: int = -1
    note: str = ""

    def row(self) -> list[object]:
        call = [s * 1000 for s in self.from_call]
        commit = [s * 1000 for s in self.from_commit]
        return [self.system, median(commit), percentile(commit, 99), median(call), percentile(call, 99)]


def count_statements() -> None:
    """Count every statement psycopg executes, by thread (SQLAlchemy's too: it runs on psycopg here)."""
    real = psycopg.Cursor.execute

    def counted(self: psycopg.Cursor[Any], *args: Any, **kwargs: Any) -> Any:
        STATEMENTS[threading.get_ident()] += 1
        return real(self, *args, **kwargs)

    psycopg.Cursor.execute = counted  # type: ignore[method-assign]


def ping_loop(receive: Callable[[], Any], n: int) -> int:
    """The body of both systems' workflow: say it is about to wait, then wait; note when each message came."""
    WAITER[:] = [threading.get_ident()]
    for _ in range(n):
        READY.set()
        receive()
        RECEIVED.append(time.perf_counter())
        GOT.set()
    return n


@workflow(name="bench_ping")
def ours_ping(n: int) -> int:
    return ping_loop(lambda: recv("ping", 30), n)


def drive(result: Result, n: int, send: Callable[[], object]) -> Result:
    """Send `n` messages, each once the workflow is blocked in its recv; pair each with its recv's return."""
    RECEIVED.clear()
    for i in range(n):
        if not READY.wait(10):
            raise RuntimeError("the workflow never reached its recv")
        READY.clear()
        GOT.clear()
        time.sleep(GAP)
        t0 = time.perf_counter()
        send()
        t1 = time.perf_counter()
        if not GOT.wait(10):
            raise RuntimeError("a message was not received")
        result.from_call.append(RECEIVED[i] - t0)
        result.from_commit.append(max(0.0, RECEIVED[i] - t1))
    return result


def idle_cost(seconds: float, start: Callable[[], Any], wake: Callable[[], object]) -> tuple[int, int]:
    """Statements of the workflow's thread and of the whole process while one workflow waits `seconds`."""
    READY.clear()
    handle = start()
    READY.wait(10)
    time.sleep(0.2)  # its first look (which records the wait) is done
    before_own, before_all = STATEMENTS[WAITER[0]], sum(STATEMENTS.values())
    time.sleep(seconds)
    own, every = STATEMENTS[WAITER[0]] - before_own, sum(STATEMENTS.values()) - before_all
    wake()
    finished(handle)
    return own, every


def finished(handle: Any) -> None:
    """Let the workflow end before its engine stops (either system's handle)."""
    (handle.result if hasattr(handle, "result") else handle.get_result)()


def send_to(send: Callable[..., object], workflow_id: str) -> Callable[[], object]:
    return lambda: send(workflow_id, "ping", topic="ping")


def measure(
    result: Result, n: int, idle: float, start: Callable[[int, str | None], Any], send: Callable[..., object]
) -> Result:
    """Warm up, time `n` messages to one workflow, then count the statements of a workflow left waiting. `start(n,
    workflow_id)` starts a ping loop and returns its handle; `send(workflow_id, message, topic=)` sends."""
    for _ in range(2):
        READY.clear()
        drive(Result("warm-up"), 5, send_to(send, start(5, None).workflow_id))
    READY.clear()
    drive(result, n, send_to(send, start(n, None).workflow_id))
    idle_id = f"idle-{uuid.uuid4().hex[:6]}"
    result.idle_own, result.idle_all = idle_cost(idle, lambda: start(1, idle_id), send_to(send, idle_id))
    return result


def bench_ours(url: str, n: int, idle: float) -> Result:
    drop_schemas(url, SCHEMA)
    with Engine(url, f"bench-{uuid.uuid4().hex[:6]}", schema=SCHEMA) as eng:
        result = measure(
            Result("durable-tui (ours)"),
            n,
            idle,
            lambda k, wid: eng.start_workflow(ours_ping, k, workflow_id=wid),
            eng.send,
        )
    drop_schemas(url, SCHEMA)
    return result


def bench_dbos(url: str, n: int, idle: float) -> Result:
    try:
        from dbos import DBOS, SetWorkflowID
    except ImportError:
        return Result("DBOS", note="not installed (pip install 'durable-tui[bench]')")

    @DBOS.workflow()
    def dbos_ping(count: int) -> int:
        return ping_loop(lambda: DBOS.recv("ping", 30), count)

    def start(count: int, workflow_id: str | None) -> Any:
        with SetWorkflowID(workflow_id or str(uuid.uuid4())):
            return DBOS.start_workflow(dbos_ping, count)

    version = launch_dbos("bench-messages", url, DBOS_SCHEMA)
    try:
        return measure(Result(f"DBOS {version}"), n, idle, start, DBOS.send)
    finally:
        DBOS.destroy()
        drop_schemas(url, DBOS_SCHEMA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="messages timed per system (default 200)")
    parser.add_argument("--systems", default="ours,dbos", help="comma-separated: ours, dbos")
    parser.add_argument("--idle", type=float, default=2.0, help="seconds a workflow waits while counting (default 2)")
    args = parser.parse_args()
    url = database_url()
    count_statements()
    systems = args.systems.split(",")
    results: list[Result] = []
    if "ours" in systems:
        results.append(bench_ours(url, args.messages, args.idle))
    if "dbos" in systems:
        results.append(bench_dbos(url, args.messages, args.idle))
    measured = [r for r in results if r.from_call]
    print_table(
        f"send -> recv returns in a waiting workflow, {args.messages} messages per system, ms",
        ["system", "median from commit", "p99", "median from send call", "p99"],
        [r.row() for r in measured],
    )
    print_table(
        f"statements while one workflow waits {args.idle:g} s in recv",
        ["system", "workflow's thread", "whole process"],
        [[r.system, r.idle_own, r.idle_all] for r in measured],
    )
    for r in results:
        if r.note:
            print(f"{r.system}: {r.note}")
    ours = next((r for r in measured if r.system.startswith("durable-tui")), None)
    if ours is not None:
        figure = ours.row()[1]
        assert isinstance(figure, float)
        print(f"\ntarget: ours median <= 5 ms from commit -> {figure:.3f} ms ({'met' if figure <= 5 else 'NOT met'})")
        print(f"target: no query while waiting -> {ours.idle_own} ({'met' if ours.idle_own == 0 else 'NOT met'})")


if __name__ == "__main__":
    main()
