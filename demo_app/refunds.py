"""Refund requests: a workflow that waits for a person's approval, with a deadline.

It publishes its state as an event (`status`) and its progress as a stream (`progress`), then waits in
`recv("approval")` up to $DEMO_APPROVAL_TIMEOUT seconds. The load generator answers most requests after a
random delay, and leaves $DEMO_APPROVAL_SILENCE of them unanswered, so the dashboard shows both a wait
counting down (`waiting for 'approval' · timeout in 12.3s`) and its timeout path. `m` on a waiting request
answers it by hand: `{"approved": true, "by": "you"}`.
"""

from __future__ import annotations

from typing import Any

from demo_app import REFUND
from demo_app.chaos import jitter, work
from demo_app.settings import knob
from engine import close_stream, recv, set_event, step, workflow, write_stream


@step(name="issue-refund")
def issue_refund(refund_id: str, amount: float) -> str:
    work(jitter(0.3, 0.8))
    return f"rf_{refund_id.rpartition('-')[2]}"


@workflow(name=REFUND)
def refund_request(refund: dict[str, Any]) -> dict[str, Any]:
    refund_id, amount = refund["id"], refund["amount"]
    set_event("status", "waiting for approval")
    write_stream("progress", f"refund of {amount:.2f} EUR for {refund['order']} requested")
    decision = recv("approval", timeout_seconds=knob("DEMO_APPROVAL_TIMEOUT"))
    if not isinstance(decision, dict) or not decision.get("approved"):
        why = "no answer in time" if decision is None else f"refused by {_who(decision)}"
        write_stream("progress", why)
        close_stream("progress")
        set_event("status", f"refused: {why}")
        return {"refund": refund_id, "approved": False, "reason": why}
    write_stream("progress", f"approved by {_who(decision)}")
    reference = issue_refund(refund_id, amount)
    write_stream("progress", f"refunded as {reference}")
    close_stream("progress")
    set_event("status", "refunded")
    return {"refund": refund_id, "approved": True, "reference": reference}


def _who(decision: Any) -> str:
    return str(decision.get("by", "someone")) if isinstance(decision, dict) else "someone"
