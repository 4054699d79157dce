"""How values look on screen: statuses in colour, times, durations, countdowns, truncated JSON.

Pure functions of a record and "now", so every render (and every snapshot) is a function of the data
and the injected clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.text import Text

from engine.states import StepStatus

STATUS_STYLES = {
    "ENQUEUED": "bold cyan",
    "PENDING": "bold yellow",
    "SUCCESS": "bold green",
    "ERROR": "bold red",
    "CANCELLED": "bold magenta",
    "DELETED": "dim",
    "RUNNING": "yellow",
    StepStatus.WAITING_RETRY: "bold #ff8700",
    StepStatus.SLEEPING: "cyan",
    StepStatus.WAITING: "bold #5fafff",
}


def status_text(status: str | None) -> Text:
    if not status:
        return Text("")
    return Text(status, style=STATUS_STYLES.get(status, ""))


def clip(text: str, width: int) -> str:
    """One line of at most `width` characters, with an ellipsis when cut."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


def preview(value: Any, width: int = 60) -> str:
    """A one-line JSON preview of a user value (values are JSON: never evaluated, only printed)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return clip(text, width)


def pretty(value: Any) -> str:
    """The full value, indented, for the scrollable viewer."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


def clock_time(ts: datetime | None, now: datetime) -> str:
    """HH:MM:SS today, else MM-DD HH:MM, in the zone of `now` (the clock's zone)."""
    if ts is None:
        return ""
    local = ts.astimezone(now.tzinfo)
    if local.date() == now.date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%m-%d %H:%M")


def seconds(value: float) -> str:
    """A compact duration: 0.3s, 12.5s, 4m05s, 2h07m, 3d04h."""
    value = max(0.0, value)
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def duration(start: datetime | None, end: datetime | None, now: datetime) -> str:
    if start is None:
        return ""
    return seconds(((end or now) - start).total_seconds())


def age(ts: datetime | None, now: datetime) -> str:
    """Whole seconds (or coarser): ages tick at most once a second on screen."""
    if ts is None:
        return ""
    value = max(0.0, (now - ts).total_seconds())
    return f"{int(value)}s" if value < 60 else seconds(value)
