"""`durable-tui send|events|stream`: messages, events and streams of a workflow from a shell.

`send ID '<json>' [--topic T]` delivers a message to the workflow's `recv`; `events ID` prints its events;
`stream ID KEY` prints a stream's values, one per line, and with `--follow` keeps printing them as they are
written until the stream is closed or the workflow ends. Bad JSON or an unknown id: one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from engine import Control
from engine.errors import InvalidInput
from tui.cli_output import print_json, print_table


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the message is not JSON ({exc}); quote a string: '\"text\"'") from None


def _line(value: Any, as_json: bool) -> str:
    """A value on one line: JSON, except that a plain string reads as itself unless --json asks for JSON."""
    if isinstance(value, str) and not as_json:
        return value
    return json.dumps(value, ensure_ascii=False)


def cmd_send(ctl: Control, args: argparse.Namespace) -> None:
    sent = ctl.send(args.workflow_id, _value(args.message), topic=args.topic, idempotency_key=args.idempotency_key)
    if args.json:
        print(json.dumps({"workflow_id": args.workflow_id, "topic": args.topic, "sent": sent}))
    elif sent:
        print(f"sent to {args.workflow_id}" + (f" on topic {args.topic!r}" if args.topic else ""))
    else:
        print(f"not sent again: idempotency key {args.idempotency_key!r} was used for {args.workflow_id} before")


def cmd_events(ctl: Control, args: argparse.Namespace) -> None:
    events = ctl.events(args.workflow_id)
    if args.json:
        print_json([e.to_dict() for e in events])
        return
    rows = [[e.key, _line(e.value, True), e.set_at, e.step_id] for e in events]
    print_table(["KEY", "VALUE", "SET AT", "STEP"], rows, f"workflow {args.workflow_id} has set no event")


def cmd_stream(ctl: Control, args: argparse.Namespace) -> None:
    values = (
        ctl.read_stream(args.workflow_id, args.key) if args.follow else ctl.stream_values(args.workflow_id, args.key)
    )
    for value in values:
        print(_line(value, args.json), flush=True)


def add_message_parsers(sub: Any, leaf: Sequence[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("send", parents=leaf, help="send a JSON message to a workflow (its recv takes it)")
    p.add_argument("workflow_id", metavar="ID")
    p.add_argument("message", metavar="JSON", help="the message, JSON: '{\"paid\": 42}', '\"text\"', 3")
    p.add_argument("--topic", metavar="T", help="the topic its recv waits on (default: none)")
    p.add_argument("--idempotency-key", metavar="K", help="send once only, however often the command runs")
    p.set_defaults(run=cmd_send)
    p = sub.add_parser("events", parents=leaf, help="the events a workflow set (set_event): key, value, when")
    p.add_argument("workflow_id", metavar="ID")
    p.set_defaults(run=cmd_events)
    p = sub.add_parser("stream", parents=leaf, help="the values of a workflow's stream, one per line")
    p.add_argument("workflow_id", metavar="ID")
    p.add_argument("key", metavar="KEY")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing values as they are written")
    p.set_defaults(run=cmd_stream)
