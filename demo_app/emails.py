"""Shipping notices: e-mails sent through the `emails` queue, whose low limits make waiting visible.

The mail relay takes few connections and few messages per period, so the queue allows
$DEMO_EMAIL_CONCURRENCY sends at once and $DEMO_EMAIL_RATE_LIMIT per $DEMO_EMAIL_RATE_PERIOD seconds:
under load the dashboard shows notices waiting with `queue emails full (2/2)` or a reached rate limit.
The limits are read at import (the queue's definition is recorded when a worker launches).
"""

from __future__ import annotations

from demo_app import NOTICE
from demo_app.chaos import jitter, work
from demo_app.settings import knob
from engine import Queue, step, workflow

EMAILS = Queue(
    "emails",
    concurrency=int(knob("DEMO_EMAIL_CONCURRENCY")),
    limiter={"limit": int(knob("DEMO_EMAIL_RATE_LIMIT")), "period": knob("DEMO_EMAIL_RATE_PERIOD")},
)


@step(name="send-shipping-notice")
def send_shipping_notice(order_id: str, email: str, tracking: str) -> str:
    work(jitter(0.5, 1.5))
    return f"notice for {order_id} to {email}: parcel {tracking} is on its way"


@workflow(name=NOTICE)
def shipping_notice(order_id: str, email: str, tracking: str) -> str:
    """One e-mail, run when the `emails` queue lets it start."""
    return send_shipping_notice(order_id, email, tracking)


@step(name="queue-shipping-notice")
def queue_shipping_notice(order_id: str, email: str, tracking: str) -> str:
    """A step, so a replayed checkout does not queue it again; the id makes a re-run after a crash idempotent."""
    return EMAILS.enqueue(shipping_notice, order_id, email, tracking, workflow_id=f"{order_id}-notice").workflow_id
