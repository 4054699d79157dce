"""The demo's refund requests (issue 9): a workflow that waits for an approval message with a deadline, an
event and a progress stream; the load generator answers most of them after a while and leaves some unanswered."""

from __future__ import annotations

import pytest

from demo_app import REFUND
from demo_app.load import answer_later, generate, make_refund
from demo_app.refunds import refund_request
from engine import Control, Engine
from tests.helpers import wait_for


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_LATENCY", "0.01")
    monkeypatch.setenv("DEMO_SEED", "7")


def waiting(control: Control, wid: str) -> bool:
    steps = control.get_workflow(wid).steps
    return bool(steps) and steps[-1].status == "WAITING"


def test_an_approved_refund_is_issued_and_streams_its_progress(engine: Engine, control: Control) -> None:
    refund = make_refund(1)
    handle = engine.start_workflow(refund_request, refund, workflow_id=refund["id"])
    wait_for(lambda: waiting(control, refund["id"]))
    assert control.get_event(refund["id"], "status", 0) == "waiting for approval"
    assert control.get_workflow(refund["id"]).wait_reason == "waiting for 'approval'"
    control.send(refund["id"], {"approved": True, "by": "Ada"}, topic="approval")
    assert handle.result(timeout=10) == {"refund": "refund-0001", "approved": True, "reference": "rf_0001"}
    assert control.get_events(refund["id"]) == {"status": "refunded"}
    progress = control.stream_values(refund["id"], "progress")
    assert progress[1:] == ["approved by Ada", "refunded as rf_0001"] and progress[0].startswith("refund of")


def test_an_unanswered_refund_times_out(engine: Engine, control: Control, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_APPROVAL_TIMEOUT", "0.2")
    result = engine.run_workflow(refund_request, make_refund(2), workflow_id="refund-0002")
    assert result == {"refund": "refund-0002", "approved": False, "reason": "no answer in time"}
    assert control.get_events("refund-0002") == {"status": "refused: no answer in time"}


def test_the_mix_queues_a_refund_every_tenth_workflow_and_answers_it(
    control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_APPROVAL_SILENCE", "0")
    monkeypatch.setenv("DEMO_APPROVAL_DELAY", "1")
    started: list[tuple[str, str]] = []
    generate(control, rate=1000, count=10, on_start=lambda name, wid: started.append((name, wid)))
    assert started[-1] == (REFUND, "refund-0001") and [n for n, _ in started].count(REFUND) == 1
    wait_for(lambda: control.messages_waiting("refund-0001") == {"approval": 1}, timeout=5)


def test_some_requests_are_never_answered(control: Control, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_APPROVAL_SILENCE", "1")
    assert answer_later(control, "refund-0009") is None
