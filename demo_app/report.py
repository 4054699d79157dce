"""A nightly-style report on a schedule: it runs at every minute in the demo (a real shop would say
`0 2 * * *`), so the Schedules screen has a next tick to count down to and a last run to show.

Each run is bounded by a timeout, as a real report job would be: one that hangs is cancelled, not left
running into the next night.
"""

from __future__ import annotations

from datetime import datetime

from demo_app import REPORT
from demo_app.chaos import jitter, work
from engine import scheduled, step, workflow


@step(name="count-yesterdays-orders")
def count_orders(day: str) -> int:
    work(jitter(0.2, 0.6))
    return int(jitter(80, 120))


@step(name="mail-report")
def mail_report(day: str, orders: int, late_by: float) -> str:
    work(jitter(0.1, 0.3))
    return f"report for {day}: {orders} orders (started {late_by:.1f}s after its tick)"


@scheduled("* * * * *", name="nightly-report")
@workflow(name=REPORT, timeout_seconds=50)
def nightly_report(scheduled_at: datetime, actual_at: datetime) -> str:
    """The day's figures for the tick's date, mailed once per tick whatever the number of workers."""
    day = scheduled_at.date().isoformat()
    return mail_report(day, count_orders(day), (actual_at - scheduled_at).total_seconds())
