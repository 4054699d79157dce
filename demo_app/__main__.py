"""`python -m demo_app worker [--reload]` runs the demo worker; `python -m demo_app load` feeds it work."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from demo_app.settings import add_flags, apply_flags
from engine.config import DEFAULT_SCHEMA, ENV_URL
from engine.errors import DurableError


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help=f"Postgres URL (default: ${ENV_URL}, else the embedded one)")
    common.add_argument("--schema", default=DEFAULT_SCHEMA, help="the engine's schema (default %(default)s)")
    parser = argparse.ArgumentParser(prog="python -m demo_app", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    worker = sub.add_parser("worker", parents=[common], help="run a worker with the demo workflows until Ctrl-C")
    worker.add_argument(
        "--reload", action="store_true", help="restart the worker when a .py file under demo_app/ changes"
    )
    worker.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one is gone (used by the launcher)",
    )
    add_flags(worker)

    load = sub.add_parser("load", parents=[common], help="queue demo workflows at a steady rate")
    load.add_argument("--rate", default="5/s", help="how fast: 5/s, 30/min, ... (default %(default)s)")
    load.add_argument("--count", type=int, help="how many (default: until Ctrl-C)")
    load.add_argument(
        "--kind", choices=("mix", "order", "pipeline"), default="mix", help="orders, pipelines, or a mix (default)"
    )
    load.add_argument("--quiet", action="store_true", help="print only the total")
    return parser


def run_load(args: argparse.Namespace) -> int:
    from demo_app.load import generate, parse_rate
    from engine import Control

    try:
        rate = parse_rate(args.rate)
    except ValueError as exc:
        print(f"python -m demo_app load: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    with Control(schema=args.schema) as control:

        def show(name: str, wid: str) -> None:
            if not args.quiet:
                print(f"queued {wid} ({name})", flush=True)

        try:
            started = generate(control, rate, args.count, args.kind, stop, show)
        except KeyboardInterrupt:
            stop.set()
            print("stopped", file=sys.stderr)
            return 130
    print(f"queued {started} workflow(s) on {control.where}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.database_url:
        os.environ[ENV_URL] = args.database_url
    try:
        if args.command == "load":
            return run_load(args)
        apply_flags(args)
        from demo_app.worker import demo_config
        from tui.dev.supervisor import supervise
        from tui.dev.worker import serve

        if args.reload:
            return supervise(demo_config(args.schema), watch_parent=args.exit_with_parent)
        serve(demo_config(args.schema), watch_parent=args.exit_with_parent)
        return 0
    except DurableError as exc:
        print(f"python -m demo_app {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
