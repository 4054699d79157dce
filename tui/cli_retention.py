"""`durable-tui workflows delete --older-than 7d [--dry-run]`: retention on demand, through `Control`.

It deletes what a worker's retention sweep would (finished workflows past the age, a batch per transaction),
so it can run beside live workers and never holds a lock a checkpoint waits on.
"""

from __future__ import annotations

import argparse
import re

from engine import Control
from engine.errors import InvalidInput
from tui.cli_output import print_json

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def parse_duration(text: str) -> float:
    """Seconds of `30s`, `15m`, `12h`, `7d`: argparse turns a refusal into one usage line."""
    match = DURATION.match(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: a number and a unit, e.g. 30s, 15m, 12h, 7d")
    return float(match.group(1)) * UNITS[match.group(2)]


def show_duration(seconds: float) -> str:
    """`604800.0` as `7d`: the largest unit that divides it, else seconds."""
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def add_older_than(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--older-than",
        type=parse_duration,
        metavar="AGE",
        help="every finished workflow that finished more than AGE ago (30s, 15m, 12h, 7d)",
    )
    parser.add_argument("--dry-run", action="store_true", help="with --older-than: only count what would go")


def wants_older_than(args: argparse.Namespace) -> bool:
    """Whether this `workflows delete` is the by-age form; a --dry-run without an age is refused."""
    if getattr(args, "older_than", None) is None:
        if getattr(args, "dry_run", False):
            raise InvalidInput("workflows delete: --dry-run goes with --older-than")
        return False
    if args.workflow_id or args.status or args.name or args.queue or args.all:
        raise InvalidInput("workflows delete: --older-than takes no workflow id nor --status/--name/--queue/--all")
    return True


def cmd_delete_older_than(ctl: Control, args: argparse.Namespace) -> None:
    count = ctl.delete_older_than(args.older_than, dry_run=args.dry_run)
    if args.json:
        print_json({"action": "delete", "count": count, "older_than_seconds": args.older_than, "dry_run": args.dry_run})
    else:
        done = "would delete" if args.dry_run else "deleted"
        print(f"{done} {count} workflow(s) finished more than {show_duration(args.older_than)} ago")
