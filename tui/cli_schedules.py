"""`durable-tui schedules list|pause|resume|trigger|backfill`: the schedules the workers recorded, driven through
`Control` (errors are one line and exit 2, as for every command)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from engine import Control
from engine.errors import InvalidInput
from tui.cli_output import print_json, print_table


def cmd_list(ctl: Control, args: argparse.Namespace) -> None:
    schedules = ctl.list_schedules()
    if args.json:
        print_json([s.to_dict() for s in schedules])
        return
    print_table(
        ["SCHEDULE", "CRON", "STATE", "NEXT TICK", "LAST TICK", "LAST RUN", "STATUS", "WORKFLOW"],
        [
            [
                s.name,
                s.cron,
                "paused" if s.paused else "running",
                s.next_at,
                s.last_tick_at,
                s.last_workflow_id,
                s.last_status,
                s.workflow_name,
            ]
            for s in schedules
        ],
        "no schedules: a worker records the schedules it defines when it launches",
    )


def cmd_pause(ctl: Control, args: argparse.Namespace) -> None:
    ctl.pause_schedule(args.name)
    print(f"paused schedule {args.name}")


def cmd_resume(ctl: Control, args: argparse.Namespace) -> None:
    ctl.resume_schedule(args.name)
    print(f"resumed schedule {args.name}: ticks run again from the next one")


def cmd_trigger(ctl: Control, args: argparse.Namespace) -> None:
    wid = ctl.trigger_schedule(args.name)
    if args.json:
        print_json({"workflow_id": wid})
        return
    print(f"started {wid}")


def cmd_backfill(ctl: Control, args: argparse.Namespace) -> None:
    ids = ctl.backfill_schedule(args.name, _moment(args.start, "START"), _moment(args.end, "END"))
    if args.json:
        print_json(ids)
        return
    print(f"{len(ids)} tick(s) of {args.name}, each started once:")
    for wid in ids:
        print(wid)


def _moment(text: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{what} must be an ISO date and time with a zone (2026-12-01T00:00+00:00), not {text!r}"
        ) from None


def add_schedules_parser(sub: argparse._SubParsersAction[Any], leaf: Sequence[argparse.ArgumentParser]) -> None:
    """The `schedules` group, under the CLI's subcommands (`leaf`: the connection and --json options)."""
    group = sub.add_parser("schedules", help="list, pause, resume, trigger and backfill schedules")
    actions = group.add_subparsers(dest="command", metavar="ACTION", required=True)
    p = actions.add_parser("list", parents=leaf, help="list schedules: cron, next and last tick, last run")
    p.set_defaults(run=cmd_list)
    for name, run, text in (
        ("pause", cmd_pause, "run no tick of a schedule until it is resumed"),
        ("resume", cmd_resume, "run a paused schedule's ticks again (missed ones are not run)"),
        ("trigger", cmd_trigger, "run a schedule's workflow once now"),
    ):
        p = actions.add_parser(name, parents=leaf, help=text)
        p.add_argument("name", metavar="NAME")
        p.set_defaults(run=run)
    p = actions.add_parser("backfill", parents=leaf, help="run the ticks in [START, END) that have not run")
    p.add_argument("name", metavar="NAME")
    p.add_argument("start", metavar="START", help="ISO date and time with a zone")
    p.add_argument("end", metavar="END", help="ISO date and time with a zone")
    p.set_defaults(run=cmd_backfill)
