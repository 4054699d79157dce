"""`durable-tui`: the dashboard by default, and a scriptable CLI over `engine.Control` for scripts and CI.

Every command resolves the database like the engine does (`--database-url`, `$DURABLE_DATABASE_URL`,
else the embedded Postgres of the current directory), prints a table or `--json`, and exits 0 on
success or 2 with one readable line on stderr for a usage or state error, bad input, an unreachable
database or a right the database role lacks (1, also one line, for any other database error): never a
traceback, never a password. No SQL here: everything goes through `Control`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

import psycopg

from engine import Control, DurableError
from engine.config import DEFAULT_SCHEMA, ENV_EXECUTOR
from engine.records import WorkflowRecord
from engine.states import FaultKind, WorkflowStatus
from engine.store.connection import failure_reason
from engine.store.migrations import check_schema_name
from tui.cli_output import cell, json_default, print_json, print_table
from tui.cli_retention import add_older_than, cmd_delete_older_than, wants_older_than
from tui.cli_schedules import add_schedules_parser
from tui.db_commands import add_db_parser
from tui.dev.config import DEFAULT_STOP_GRACE, DEV_EXECUTOR_ID
from tui.message_commands import add_message_parsers

PROG = "durable-tui"
USAGE_ERROR = 2
MAX_INT = 2**31 - 1


class UsageError(Exception):
    """A command line that parses but makes no sense (e.g. an id and a bulk filter at once)."""


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line on stderr (exit 2), like every other error of the CLI, not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {_first_line(message)} (see --help)\n")


# output ------------------------------------------------------------------------------------------


def _short(value: Any, width: int = 100) -> str:
    text = json.dumps(value, default=json_default)
    return text if len(text) <= width else text[: width - 3] + "..."


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "-"
    ms = (end - start).total_seconds() * 1000
    return f"{ms:.1f}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def print_workflow(w: WorkflowRecord) -> None:
    print(f"workflow   {w.workflow_id}  ({w.name})  {w.status}")
    print(f"executor   {cell(w.executor_id)}   recoveries {w.recovery_count}")
    print(f"created    {cell(w.created_at)}   started {cell(w.started_at)}   finished {cell(w.finished_at)}")
    print(f"inputs     {_short(w.inputs)}")
    if w.output is not None:
        print(f"output     {_short(w.output)}")
    if w.error:
        print(f"error      {w.error.get('type')}: {w.error.get('message')}")
    if w.wait_reason:
        print(f"waiting    {w.wait_reason}")
    if w.parent_workflow_id:
        print(f"parent     {w.parent_workflow_id} (step {w.parent_step_id})")
    if w.forked_from:
        print(f"forked     from {w.forked_from} at step {w.forked_from_step}")
    for label, ids in (("children", w.children), ("forks", w.forks)):
        if ids:
            print(f"{label:<10} {', '.join(ids)}")
    print()
    rows: list[list[Any]] = []
    for s in w.steps:
        budget = f"{s.attempts - s.attempt_base}/{s.max_attempts - s.attempt_base}"
        outcome = f"{s.error.get('type')}: {s.error.get('message')}" if s.error else _short(s.output, 60)
        if s.next_attempt_at is not None:
            outcome = f"next attempt at {cell(s.next_attempt_at)}"
        rows.append([s.step_id, s.name, s.kind, s.status, budget, _duration(s.started_at, s.finished_at), outcome])
        for a in s.attempt_records:
            error = f"{a.error_type}: {a.error_message}" if a.error_type else ("ok" if a.ok else "running")
            rows.append(["", f"  attempt {a.attempt}", "", "", "", _duration(a.started_at, a.finished_at), error])
    print_table(["STEP", "NAME", "KIND", "STATUS", "ATTEMPTS", "TOOK", "OUTCOME"], rows, "no steps recorded")


# commands ----------------------------------------------------------------------------------------


def cmd_list(ctl: Control, args: argparse.Namespace) -> None:
    rows = ctl.summaries(status=args.status, name=args.name, queue=args.queue, limit=args.limit)
    if args.json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        ["ID", "NAME", "STATUS", "STEP", "ATTEMPT", "EXECUTOR", "CREATED"],
        [
            [
                r.workflow_id,
                r.name,
                r.status,
                f"{r.step_id} {r.step_name} {r.step_status}" if r.step_id else None,
                f"{r.attempt}/{r.max_attempts}" if r.attempt else None,
                r.executor_id,
                r.created_at,
            ]
            for r in rows
        ],
        "no workflows",
    )


def cmd_show(ctl: Control, args: argparse.Namespace) -> None:
    record = ctl.get_workflow(args.workflow_id)
    if args.json:
        print_json(record.to_dict())
    else:
        print_workflow(record)


BULK: dict[str, tuple[str, str, str]] = {
    # command: (Control method for one id, Control method for a filter, past tense for the report)
    "cancel": ("cancel", "cancel_many", "cancelled"),
    "resume": ("resume", "resume_many", "resumed"),
    "recover": ("recover", "recover_many", "recovered"),
    "delete": ("delete", "delete_many", "deleted"),
}


def cmd_bulkable(ctl: Control, args: argparse.Namespace) -> None:
    """One workflow by id (with its children), or every workflow matching --status/--name/--all."""
    if args.command == "delete" and wants_older_than(args):
        cmd_delete_older_than(ctl, args)
        return
    one, many, done = BULK[args.command]
    has_filter = bool(args.status or args.name or args.queue or args.all)
    if args.workflow_id and has_filter:
        raise UsageError(
            f"workflows {args.command}: give a workflow id or a filter (--status/--name/--queue/--all), not both"
        )
    if not args.workflow_id and not has_filter:
        raise UsageError(
            f"workflows {args.command}: give a workflow id, or --status/--name/--queue (or --all) for a bulk operation"
        )
    if args.workflow_id:
        ids = getattr(ctl, one)(args.workflow_id)
        report: dict[str, Any] = {"action": args.command, "count": len(ids), "workflow_ids": ids}
        text = f"{done} {len(ids)} workflow(s): {', '.join(ids)}" if ids else f"{done} nothing"
    else:
        count = getattr(ctl, many)(status=args.status, name=args.name, queue=args.queue)
        report = {"action": args.command, "count": count, "status": args.status, "name": args.name, "queue": args.queue}
        text = f"{done} {count} workflow(s)"
    if args.json:
        print_json(report)
    else:
        print(text)


def cmd_retry_now(ctl: Control, args: argparse.Namespace) -> None:
    ids = ctl.retry_now(args.workflow_id)
    if args.json:
        print_json({"action": "retry-now", "count": len(ids), "workflow_ids": ids})
    else:
        print(f"retry now: {', '.join(ids)}")


def cmd_fork(ctl: Control, args: argparse.Namespace) -> None:
    new_id = ctl.fork(args.workflow_id, from_step=args.from_step, new_workflow_id=args.new_id)
    if args.json:
        print_json(
            {"action": "fork", "workflow_id": new_id, "forked_from": args.workflow_id, "from_step": args.from_step}
        )
    else:
        print(new_id)


def cmd_start(ctl: Control, args: argparse.Namespace) -> None:
    from tui.start_workflow import parse_inputs, start_by_name

    positional, keywords = parse_inputs(args.args, args.kwargs)
    started = start_by_name(ctl, args.name, positional, keywords, args.workflow_id, args.queue)
    if args.json:
        print_json(
            {
                "action": "start",
                "workflow_id": started.workflow_id,
                "name": started.name,
                "started": started.created,
                "status": started.existing_status or WorkflowStatus.ENQUEUED,
            }
        )
    elif started.created:
        print(started.workflow_id)
    else:
        print(
            f"{started.workflow_id} exists already ({started.name}, {started.existing_status}): not started again",
            file=sys.stderr,
        )
        print(started.workflow_id)


def cmd_faults_add(ctl: Control, args: argparse.Namespace) -> None:
    fault_id = ctl.add_fault(
        args.kind,
        args.step,
        workflow_id=args.workflow,
        count=None if args.every else args.count,
        delay_seconds=args.delay,
        phase=args.phase,
        message=args.message,
        ttl_seconds=args.ttl,
    )
    if args.json:
        print_json({"action": "add", "fault_id": fault_id})
    else:
        print(fault_id)


def cmd_faults_list(ctl: Control, args: argparse.Namespace) -> None:
    faults = ctl.faults()
    if args.json:
        print_json([f.to_dict() for f in faults])
        return
    print_table(
        ["ID", "KIND", "STEP", "WORKFLOW", "REMAINING", "DELAY", "PHASE", "EXPIRES", "MESSAGE"],
        [
            [
                f.fault_id,
                f.kind,
                f.step_name,
                f.workflow_id or "*",
                "every" if f.remaining is None else f.remaining,
                f.delay_seconds if f.kind == "delay" else None,
                f.phase,
                f.expires_at,
                f.message,
            ]
            for f in faults
        ],
        "no faults",
    )


def cmd_faults_clear(ctl: Control, args: argparse.Namespace) -> None:
    count = ctl.clear_faults(args.fault_ids or None)
    if args.json:
        print_json({"action": "clear", "count": count})
    else:
        print(f"cleared {count} fault(s)")


def cmd_crash_worker(ctl: Control, args: argparse.Namespace) -> None:
    ctl.crash_worker(args.executor_id)
    if args.json:
        print_json({"action": "crash-worker", "executor_id": args.executor_id})
    else:
        print(f"crash sent to worker {args.executor_id}")


def cmd_workers(ctl: Control, args: argparse.Namespace) -> None:
    workers = ctl.workers()
    if args.json:
        print_json([w.to_dict() for w in workers])
        return
    print_table(
        ["EXECUTOR", "STATE", "HOST", "PID", "HEARTBEAT", "IN FLIGHT", "VERSION", "STARTED", "WORKFLOWS"],
        [
            [
                w.executor_id,
                "alive" if w.alive else ("stopped" if w.stopped_at else "dead"),
                w.host,
                w.pid,
                f"{w.heartbeat_age:.1f}s ago",
                w.in_flight,
                w.code_version,
                w.started_at,
                w.workflows,
            ]
            for w in workers
        ],
        "no workers",
    )


def cmd_queues(ctl: Control, args: argparse.Namespace) -> None:
    queues = ctl.list_queues()
    if args.json:
        print_json([q.to_dict() for q in queues])
        return
    print_table(
        ["QUEUE", "ENQUEUED", "RUNNING", "CONCURRENCY", "PER WORKER", "RATE LIMIT", "STARTED IN PERIOD", "ORDER"],
        [
            [
                q.name,
                q.enqueued,
                q.pending,
                q.concurrency,
                q.worker_concurrency,
                f"{q.rate_limit} per {q.rate_period:g}s" if q.rate_limit and q.rate_period else None,
                q.started_in_period if q.rate_limit else None,
                ("priority" if q.priority_enabled else "fifo") + (", partitioned" if q.partitioned else ""),
            ]
            for q in queues
        ],
        "no queues: a worker records the queues it defines when it launches",
    )


# parser ------------------------------------------------------------------------------------------


def _schema(value: str) -> str:
    try:
        return check_schema_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(value: str) -> int:
    number = int(value)
    if not 1 <= number <= MAX_INT:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_INT}, not {number}")
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, not {number}")
    return number


def _common(defaults: bool) -> OneLineParser:
    """Connection options, accepted before or after the subcommand (after: no default, so no override)."""
    parser = OneLineParser(add_help=False)
    keep: dict[str, Any] = {} if defaults else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="Postgres URL (default: $DURABLE_DATABASE_URL, else the embedded database of the current directory)",
        **keep,
    )
    parser.add_argument(
        "--schema",
        type=_schema,
        help=f"schema of the tables (default: {DEFAULT_SCHEMA})",
        **({"default": DEFAULT_SCHEMA} if defaults else keep),
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    common = _common(defaults=False)
    out = OneLineParser(add_help=False)
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    leaf = [common, out]

    parser = OneLineParser(
        prog=PROG,
        parents=[_common(defaults=True)],
        description="Durable workflows in Postgres: the live dashboard (no subcommand), a demo, a development "
        "loop for your own workflows (dev), and commands to drive workflows from scripts.",
    )
    parser.add_argument("--read-only", action="store_true", help="dashboard: watch only, no operations")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[common], help="run the demo app with the dashboard")
    demo.add_argument("--rate", default="2/s", help="how fast the demo queues workflows (default %(default)s)")
    demo.add_argument("--count", type=_positive, help="how many workflows to queue (default: no end)")
    demo.set_defaults(run=None)

    serve = sub.add_parser("serve", parents=[common], help="serve the dashboard to a web browser")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default %(default)s)")
    serve.add_argument(
        "--read-only",
        dest="serve_read_only",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="watch only (the default); --no-read-only lets the browser run operations",
    )
    serve.set_defaults(run=None)

    wf = sub.add_parser("workflows", help="list, inspect and drive workflows")
    wf_sub = wf.add_subparsers(dest="command", metavar="ACTION", required=True)
    p = wf_sub.add_parser("list", parents=leaf, help="list workflows, newest first")
    p.add_argument("--status", type=str.upper, choices=list(WorkflowStatus))
    p.add_argument("--name", help="workflow function name")
    p.add_argument("--queue", help="the workflows of one queue")
    p.add_argument("--limit", type=_positive, default=100)
    p.set_defaults(run=cmd_list)
    p = wf_sub.add_parser("show", parents=leaf, help="one workflow with its steps and attempts")
    p.add_argument("workflow_id", metavar="ID")
    p.set_defaults(run=cmd_show)
    for command, (_, _, done) in BULK.items():
        p = wf_sub.add_parser(command, parents=leaf, help=f"{command} a workflow, or all matching a filter")
        p.add_argument("workflow_id", metavar="ID", nargs="?")
        p.add_argument("--status", type=str.upper, choices=list(WorkflowStatus), help="bulk: by status")
        p.add_argument("--name", help="bulk: by workflow function name")
        p.add_argument("--queue", help="bulk: by queue")
        p.add_argument("--all", action="store_true", help=f"bulk: every workflow that can be {done}")
        if command == "delete":
            add_older_than(p)
        p.set_defaults(run=cmd_bulkable)
    p = wf_sub.add_parser(
        "start", parents=leaf, help="start a workflow by name; any live worker that registers it runs it"
    )
    p.add_argument("name", metavar="NAME", help="the registered workflow name (see `durable-tui workers`)")
    p.add_argument("--args", default="", metavar="JSON", help='positional arguments, a JSON array: [1, "a"]')
    p.add_argument("--kwargs", default="", metavar="JSON", help='keyword arguments, a JSON object: {"k": 2}')
    p.add_argument("--id", dest="workflow_id", metavar="ID", help="the workflow id (the idempotency key)")
    p.add_argument("--queue", metavar="Q", help="wait its turn in this queue (defined by the workers that import it)")
    p.set_defaults(run=cmd_start)
    p = wf_sub.add_parser("retry-now", parents=leaf, help="skip the rest of a step's retry wait")
    p.add_argument("workflow_id", metavar="ID")
    p.set_defaults(run=cmd_retry_now)
    p = wf_sub.add_parser("fork", parents=leaf, help="replay a workflow from a step under a new id")
    p.add_argument("workflow_id", metavar="ID")
    p.add_argument("--from-step", type=_positive, default=1, metavar="N", help="first step to run again")
    p.add_argument("--new-id", help="id of the new workflow (default: <ID>-fork-<random>)")
    p.set_defaults(run=cmd_fork)

    faults = sub.add_parser("faults", help="inject, list and clear faults")
    f_sub = faults.add_subparsers(dest="command", metavar="ACTION", required=True)
    p = f_sub.add_parser("add", parents=leaf, help="inject a fault at attempts of a step")
    p.add_argument("--kind", required=True, choices=[str(kind) for kind in FaultKind])
    p.add_argument("--step", required=True, metavar="NAME", help="step name")
    p.add_argument("--workflow", metavar="ID", help="only this workflow (default: every workflow)")
    p.add_argument("--count", type=_positive, default=1, metavar="N", help="attempts hit (default 1)")
    p.add_argument("--every", action="store_true", help="hit every attempt until cleared or expired")
    p.add_argument("--delay", type=float, default=0.0, metavar="S", help="delay: seconds to wait")
    p.add_argument(
        "--phase",
        choices=("before", "after"),
        default="before",
        help="crash: before the step runs, or right after its checkpoint",
    )
    p.add_argument("--message", default="injected fault", metavar="M", help="fail: the error message")
    p.add_argument("--ttl", type=float, metavar="S", help="expire after S seconds")
    p.set_defaults(run=cmd_faults_add)
    p = f_sub.add_parser("list", parents=leaf, help="list faults")
    p.set_defaults(run=cmd_faults_list)
    p = f_sub.add_parser("clear", parents=leaf, help="remove faults (none given: all)")
    p.add_argument("fault_ids", metavar="ID", type=int, nargs="*")
    p.set_defaults(run=cmd_faults_clear)
    p = f_sub.add_parser("crash-worker", parents=leaf, help="kill a live worker process now (as SIGKILL)")
    p.add_argument("executor_id", metavar="EXECUTOR")
    p.set_defaults(run=cmd_crash_worker)

    p = sub.add_parser("workers", parents=leaf, help="list executors, alive or dead")
    p.set_defaults(run=cmd_workers)

    p = sub.add_parser("queues", parents=leaf, help="list queues: their limits and what they hold now")
    p.set_defaults(run=cmd_queues)

    dev = sub.add_parser(
        "dev", parents=[common], help="your workflows: embedded Postgres, a worker that reloads on save, the dashboard"
    )
    dev.add_argument("modules", metavar="MODULE", nargs="+", help="modules (myapp.workflows) or .py paths to run")
    dev.add_argument(
        "--watch",
        action="append",
        default=[],
        metavar="DIR",
        help="restart the worker on a save under DIR (repeatable; default: the directories of the modules)",
    )
    dev.add_argument(
        "--executor-id",
        default=None,
        metavar="ID",
        help=f"the worker's executor id, kept across restarts (default: ${ENV_EXECUTOR}, else {DEV_EXECUTOR_ID})",
    )
    dev.add_argument(
        "--stop-grace",
        type=float,
        default=DEFAULT_STOP_GRACE,
        metavar="S",
        help="seconds a reload waits for running steps before it restarts anyway (default %(default)s)",
    )
    add_db_parser(sub, leaf)
    add_message_parsers(sub, leaf)
    add_schedules_parser(sub, leaf)
    return parser


# entry point -------------------------------------------------------------------------------------


def _dashboard(args: argparse.Namespace) -> int:
    from tui.app import run_dashboard

    return run_dashboard(args.database_url, args.read_only, schema=args.schema)


def _demo(args: argparse.Namespace) -> int:
    from demo_app.launcher import run_demo

    return run_demo(database_url=args.database_url, rate=args.rate, count=args.count, schema=args.schema)


def _serve(args: argparse.Namespace) -> int:
    from tui.serve import serve_dashboard

    return serve_dashboard(
        args.database_url, schema=args.schema, host=args.host, port=args.port, read_only=args.serve_read_only
    )


def _dev(args: argparse.Namespace) -> int:
    from tui.dev.launcher import run_dev

    return run_dev(
        args.modules,
        args.watch,
        args.database_url,
        schema=args.schema,
        executor_id=args.executor_id or os.environ.get(ENV_EXECUTOR) or DEV_EXECUTOR_ID,
        stop_grace=args.stop_grace,
    )


def _run(args: argparse.Namespace) -> int:
    if args.group is None:
        return _dashboard(args)
    if args.group == "demo":
        return _demo(args)
    if args.group == "serve":
        return _serve(args)
    if args.group == "dev":
        return _dev(args)
    if args.group == "db":
        db_command: Callable[[argparse.Namespace], int] = args.run_db
        return db_command(args)
    command: Callable[[Control, argparse.Namespace], None] = args.run
    with Control(args.database_url, schema=args.schema) as ctl:
        command(ctl, args)
    return 0


def _first_line(exc: BaseException | str) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    try:
        return _run(args)
    except (DurableError, UsageError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except psycopg.errors.InsufficientPrivilege as exc:
        print(f"{PROG}: error: not allowed for this database role: {_first_line(exc)}", file=sys.stderr)
        return USAGE_ERROR
    except psycopg.OperationalError as exc:  # the database went away during the command
        print(f"{PROG}: error: database unreachable: {failure_reason(exc)}", file=sys.stderr)
        return USAGE_ERROR
    except psycopg.Error as exc:
        print(f"{PROG}: database error: {_first_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
