"""The detail screen's pane of a workflow's events and streams (and the messages waiting for its `recv`).

Read with the workflow whenever it changes: a `write_stream` is a step, so its row's trigger reaches the
dashboard's feed and the screen reloads, and the stream's newest values appear as they are written. Only a
workflow that has such steps pays the reads; for the others the pane stays hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from engine.control import Control
from engine.records import EventRecord, StepRecord, StreamValue
from engine.states import StepKind
from tui.format import clip, clock_time

COMMUNICATION = frozenset(
    {StepKind.RECV, StepKind.SET_EVENT, StepKind.WRITE_STREAM, StepKind.CLOSE_STREAM, StepKind.GET_EVENT}
)
"""Steps after which a workflow may have events, streams or messages to show."""
LABEL = 10


@dataclass
class Communication:
    events: list[EventRecord] = field(default_factory=list)
    streams: list[StreamValue] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.streams or self.waiting)


def read_communication(control: Control, workflow_id: str, steps: list[StepRecord]) -> Communication:
    """The workflow's events, streams and waiting messages: three reads, only if its steps can have any."""
    if not any(s.kind in COMMUNICATION for s in steps):
        return Communication()
    return Communication(
        control.events(workflow_id), control.streams(workflow_id), control.messages_waiting(workflow_id)
    )


def as_json(value: object, width: int) -> str:
    """A value as JSON on one line (a string keeps its quotes: `"done"` is not `done`)."""
    return clip(json.dumps(value, ensure_ascii=False, default=str), width)


def _head(t: Text, label: str, first: bool) -> None:
    t.append("\n" if t.plain else "")
    t.append(f" {label:<{LABEL}}" if first else " " * (LABEL + 1), style="bold")


def render(comms: Communication, now: datetime, width: int) -> Text:
    t = Text()
    for i, e in enumerate(comms.events):
        _head(t, "events", i == 0)
        t.append(f"{e.key} = ", style="cyan")
        t.append(as_json(e.value, max(10, width - LABEL - len(e.key) - 30)))
        t.append(f"  {clock_time(e.set_at, now)} · step {e.step_id}", style="dim")
    keys = list(dict.fromkeys(s.key for s in comms.streams))
    for i, key in enumerate(keys):
        rows = [s for s in comms.streams if s.key == key]
        values = [s for s in rows if not s.closed]
        total = rows[-1].total if rows else 0
        state = "closed" if any(s.closed for s in rows) else "open"
        _head(t, "streams", i == 0)
        t.append(f"{key} ", style="cyan")
        t.append(f"({total} value{'s' if total != 1 else ''}, {state}): ", style="dim")
        room = max(10, width - len(t.plain.rsplit("\n", 1)[-1]) - 4)
        shown: list[str] = []
        for s in reversed(values):  # the newest values that fit, oldest of them first
            piece = as_json(s.value, 30)
            if sum(len(p) + 3 for p in shown) + len(piece) > room:
                break
            shown.insert(0, piece)
        more = "… · " if len(shown) < total else ""
        t.append(more + " · ".join(shown))
    if comms.waiting:
        _head(t, "messages", True)
        waiting = ", ".join(f"{n} on {k!r}" if k else f"{n} without topic" for k, n in comms.waiting.items())
        t.append(clip(f"waiting for its recv: {waiting}", width - LABEL - 2), style="yellow")
    return t


class MessagesPane(Static):
    DEFAULT_CSS = """
    MessagesPane { height: auto; max-height: 10; border-top: solid $primary-darken-2; display: none; }
    """

    def show(self, comms: Communication, now: datetime) -> None:
        self.display = bool(comms)
        if comms:
            self.update(render(comms, now, self.app.size.width - 2))
