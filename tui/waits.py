"""The live wait of a workflow: what it is waiting for now, and for how long yet.

One function per kind of wait, tried in order; the first that recognises the row answers. Today the
engine has retry backoffs, durable sleeps, `recv` and `get_event` waits (to their timeout), queued work of a
queue no live worker serves, delayed queued work (`not_before`) and the reasons a queue holds work back
(`wait_reason`: a full queue, a reached rate limit); a new kind is one more function in `WAIT_KINDS`.
Countdowns are computed from stored deadlines and the (injected) clock at every render.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from rich.text import Text

from engine.states import StepStatus, WorkflowStatus
from tui.format import STATUS_STYLES, clip, seconds


class Waiting(Protocol):
    """What a wait is read from: a row of the workflow list (`WorkflowSummary`)."""

    @property
    def status(self) -> str: ...
    @property
    def step_status(self) -> str | None: ...

    attempt: int | None
    max_attempts: int | None
    next_attempt_at: datetime | None
    wait_reason: str | None
    not_before: datetime | None
    next_slot_at: datetime | None
    queue_unserved: bool


def until(deadline: datetime, now: datetime) -> str:
    left = (deadline - now).total_seconds()
    return f"in {seconds(left)}" if left >= 0.05 else "now"


def retry_wait(row: Waiting, now: datetime) -> Text | None:
    if row.step_status != StepStatus.WAITING_RETRY or row.next_attempt_at is None:
        return None
    return Text(
        f"retry {(row.attempt or 0) + 1}/{row.max_attempts or '?'} {until(row.next_attempt_at, now)}",
        style=STATUS_STYLES[StepStatus.WAITING_RETRY],
    )


def sleep_wait(row: Waiting, now: datetime) -> Text | None:
    if row.step_status != StepStatus.SLEEPING or row.next_attempt_at is None:
        return None
    return Text(f"sleeping · wakes {until(row.next_attempt_at, now)}", style=STATUS_STYLES[StepStatus.SLEEPING])


def waiting_for(reason: str | None, deadline: datetime, now: datetime) -> Text:
    """`waiting for 'payment' · timeout in 23.4s`: a `recv` or `get_event` counting down to its timeout."""
    left = (deadline - now).total_seconds()
    timeout = f"timeout in {seconds(left)}" if left >= 0.05 else "timing out"
    return Text(f"{reason or 'waiting'} · {timeout}", style=STATUS_STYLES[StepStatus.WAITING])


def message_wait(row: Waiting, now: datetime) -> Text | None:
    """A `recv` or `get_event` waiting (what for is the workflow's wait_reason)."""
    if row.step_status != StepStatus.WAITING or row.next_attempt_at is None:
        return None
    return waiting_for(row.wait_reason, row.next_attempt_at, now)


def unserved_wait(row: Waiting, now: datetime) -> Text | None:
    """Nothing starts a queued workflow whose queue no live worker serves, whatever its delay or rate limit."""
    if row.status != WorkflowStatus.ENQUEUED or not row.queue_unserved or not row.wait_reason:
        return None
    return Text(row.wait_reason, style="italic yellow")


def delayed_wait(row: Waiting, now: datetime) -> Text | None:
    """A queued workflow started with a delay (or debounced): it counts down to its stored due time."""
    if row.status != WorkflowStatus.ENQUEUED or row.not_before is None:
        return None
    left = (row.not_before - now).total_seconds()
    if left < 0.05 and row.next_slot_at is not None and row.next_slot_at > now:
        return None  # due, but the rate limit holds it: that wait says more
    return Text(f"starts in {seconds(left)}" if left >= 0.05 else "due now", style="italic yellow")


def rate_wait(row: Waiting, now: datetime) -> Text | None:
    """A queued workflow held back by its queue's rate limit: it counts down to the limiter's next slot."""
    if row.status != WorkflowStatus.ENQUEUED or row.next_slot_at is None or row.next_slot_at <= now:
        return None
    return Text(f"rate limit: next slot in {seconds((row.next_slot_at - now).total_seconds())}", style="italic yellow")


def reason_wait(row: Waiting, now: datetime) -> Text | None:
    if not row.wait_reason:
        return None
    return Text(row.wait_reason, style="italic yellow")


WaitKind = Callable[[Waiting, datetime], Text | None]
WAIT_KINDS: list[WaitKind] = [retry_wait, sleep_wait, message_wait, unserved_wait, delayed_wait, rate_wait, reason_wait]
"""The kinds of wait, most specific first. A new kind of wait slots in here."""


def live_wait(row: Waiting, now: datetime, width: int) -> Text | str:
    """The wait column: the first kind of wait that applies, else what the current step is doing."""
    if row.status in (WorkflowStatus.PENDING, WorkflowStatus.ENQUEUED):
        for kind in WAIT_KINDS:
            text = kind(row, now)
            if text is not None:
                text.truncate(width, overflow="ellipsis")
                return text
    if row.status == WorkflowStatus.PENDING and row.step_status == StepStatus.RUNNING:
        attempt = f" · try {row.attempt}/{row.max_attempts}" if (row.attempt or 0) > 1 else ""
        return Text(clip("running" + attempt, width), style=STATUS_STYLES[StepStatus.RUNNING])
    if (row.attempt or 0) > 1:
        return Text(clip(f"after {row.attempt} tries", width), style="dim")
    return ""
