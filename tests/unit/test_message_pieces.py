"""Pure pieces of the messages feature: the wait text, the topic a step waits on, the detail pane, the
`m` key's state check, the step names, and the worker's wake-up of only the runs that wait."""

from __future__ import annotations

import threading
from datetime import timedelta

from engine.communication import step_name, waiting_topic
from engine.records import EventRecord, StreamValue
from engine.runtable import RunTable
from engine.states import StepKind, StepStatus, WorkflowStatus
from tests.unit.test_dash_pieces import T0, at, summary
from tui.messages_pane import Communication, render
from tui.waits import live_wait
from tui.workflow_actions import Target


def test_a_recv_wait_counts_down_to_its_timeout() -> None:
    row = summary(step_status=StepStatus.WAITING, step_name="recv:payment", wait_reason="waiting for 'payment'",
                  next_attempt_at=at(23.4))  # fmt: skip
    assert live_wait(row, T0, 60).plain == "waiting for 'payment' · timeout in 23.4s"
    assert live_wait(row, T0 + timedelta(seconds=30), 60).plain == "waiting for 'payment' · timing out"
    assert live_wait(row, T0, 20).plain == "waiting for 'paymen…"
    event = summary(step_status=StepStatus.WAITING, step_name="get_event:ready", next_attempt_at=at(5),
                    wait_reason="waiting for event 'ready' of order-7")  # fmt: skip
    assert live_wait(event, T0, 60).plain == "waiting for event 'ready' of order-7 · timeout in 5.0s"


def test_the_subject_is_in_the_step_name() -> None:
    assert step_name(StepKind.RECV, "payment") == "recv:payment"
    assert step_name(StepKind.RECV, "") == "recv"
    assert waiting_topic("recv:payment") == "payment"
    assert waiting_topic("recv:a:b") == "a:b"
    assert waiting_topic("recv") == ""
    assert waiting_topic("get_event:k") is None and waiting_topic(None) is None
    assert StepKind.RECV.waits and StepKind.GET_EVENT.waits and not StepKind.SEND.waits
    assert StepStatus.WAITING.waiting and not StepStatus.WAITING.final


def test_m_applies_to_workflows_that_can_still_receive() -> None:
    assert Target("w", WorkflowStatus.PENDING, topic="payment").allows("send_message")
    assert Target("w", WorkflowStatus.ENQUEUED).allows("send_message")
    assert not Target("w", WorkflowStatus.SUCCESS).allows("send_message")
    assert Target("w", WorkflowStatus.PENDING, waiting=True).allows("retry_now")


def test_the_pane_shows_events_streams_and_waiting_messages() -> None:
    comms = Communication(
        [EventRecord("stage", "writing", at(-2), 2)],
        [StreamValue("progress", 3, i, False, at(-1), 40) for i in range(38, 41)],
        {"later": 1, "": 2},
    )
    text = render(comms, T0, 100).plain.splitlines()
    assert text[0].startswith(' events    stage = "writing"')
    assert text[1] == " streams   progress (40 values, open): … · 38 · 39 · 40"
    assert text[2] == " messages  waiting for its recv: 1 on 'later', 2 without topic"
    assert not Communication()


def test_only_the_runs_that_wait_for_it_are_woken() -> None:
    runs = RunTable()
    runs.start("a")
    runs.start("b")
    runs.watch("a", ("message", "a"))
    runs.wake_watchers(("message", "b"))  # b sleeps: a message for it must not cut its sleep short
    woke = threading.Event()
    threading.Thread(target=lambda: (runs.wait("a", 5), woke.set())).start()
    runs.wake_watchers(("message", "a"))
    assert woke.wait(2)
    runs.unwatch("a", ("message", "a"))
    assert runs._watching == {}
