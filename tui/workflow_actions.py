"""The actions on one workflow, shared by the list and the detail screen (each says which is selected).

A key that cannot apply to the selected workflow, by the same state checks the engine makes
(`engine/control.py`), is greyed in the footer and does nothing; the engine stays the authority, so an
action that loses a race with the live data still shows the engine's refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from textual.binding import Binding

from engine.states import ACTIVE_STATUSES, TRANSITIONS, Operation, StepStatus, WorkflowStatus
from tui.base import DashScreen
from tui.message_form import SendMessageForm

WORKFLOW_BINDINGS = [
    Binding(
        "k", "cancel", "Cancel", tooltip="Cancel the workflow and its children: it stops at its next step (asks first)"
    ),
    Binding(
        "r",
        "resume",
        "Resume",
        tooltip="Resume a CANCELLED/ERROR workflow from its last checkpoint, "
        "or recover a PENDING one whose worker died",
    ),
    Binding("n", "retry_now", "Retry now", tooltip="Retry now: a step waiting to retry runs at once"),
    Binding("f", "fork", "Fork", tooltip="Fork: a new workflow that re-runs this one from the start"),
    Binding("d", "delete", "Delete", tooltip="Delete the workflow, its steps and attempts (asks first)"),
    Binding(
        "m",
        "send_message",
        "Message",
        tooltip="Send the workflow a JSON message (the topic its recv waits on filled in)",
    ),
]
OPERATIONS = {
    "cancel": Operation.CANCEL,
    "resume": Operation.RESUME,
    "retry_now": Operation.RETRY_NOW,
    "fork": Operation.FORK,
    "fork_step": Operation.FORK,
    "delete": Operation.DELETE,
}
"""Each targeted action and the engine operation it performs: `Target.allows` decides by TRANSITIONS."""
TARGETED = frozenset({*OPERATIONS, "send_message"})
WAITING_STEPS = (StepStatus.WAITING_RETRY, StepStatus.SLEEPING, StepStatus.WAITING)


def worker_dead(
    executor_id: str | None, heartbeats: dict[str, datetime | None], now: datetime, lease_seconds: float
) -> bool:
    """The executor stopped (`None` heartbeat) or missed its lease. An executor not (yet) read counts as
    alive: the screen never offers a recovery it cannot show the reason for."""
    if executor_id not in heartbeats:
        return False
    beat = heartbeats[executor_id]
    return beat is None or (now - beat).total_seconds() > lease_seconds


@dataclass(frozen=True)
class Target:
    """The workflow the keys act on, as last shown: `waiting` when a step waits to retry (or sleeps),
    `orphaned` when it is PENDING on a worker that is dead, `topic` the topic its `recv` waits on ('' for none)."""

    workflow_id: str
    status: str
    waiting: bool = False
    orphaned: bool = False
    topic: str | None = None

    def allows(self, action: str) -> bool:
        """The engine's state check for `action`, on what the screen shows: the legal source statuses come
        from `TRANSITIONS` (the table Control checks), the second conditions from the live data."""
        if action == "send_message":  # a message to a finished workflow could never be received
            return self.status in ACTIVE_STATUSES
        operation = OPERATIONS.get(action)
        if operation is None:
            return True
        if self.status in TRANSITIONS[operation]:
            if operation == Operation.RETRY_NOW:
                return self.waiting
            return True
        return operation == Operation.RESUME and self.orphaned and self.status in TRANSITIONS[Operation.RECOVER]


class WorkflowActions(DashScreen):
    def __init__(self) -> None:
        super().__init__()
        self._bindings_shown: Hashable = None

    def selected(self) -> Target | None:
        """The workflow the keys act on, as last shown."""
        raise NotImplementedError

    def bindings_state(self) -> Hashable:
        """Everything the enabled keys depend on: when it changes, the footer is redrawn. Which keys the
        selection allows, not the selection itself: a redraw rebuilds every footer key (tens of ms, and
        cyclic garbage), and in a burst the selected row changes at every reload."""
        target = self.selected()
        return None if target is None else frozenset(a for a in TARGETED if target.allows(a))

    def sync_bindings(self) -> None:
        """Redraw the footer if the selection or its live data changed which keys apply (cheap otherwise)."""
        state = self.bindings_state()
        if state != self._bindings_shown:
            self._bindings_shown = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed or action not in TARGETED:
            return allowed
        target = self.selected()
        return True if target is not None and target.allows(action) else None

    def _target(self) -> Target | None:
        target = self.selected()
        if target is None:
            self.notify("no workflow selected", severity="warning")
        return target

    def action_cancel(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target.workflow_id
        ctl = self.dash.control
        self.confirm(
            "Cancel this workflow?",
            [wid],
            "It becomes CANCELLED, with its children, and stops at its next step boundary.",
            lambda: ctl.cancel(wid),
            lambda ids: f"cancelled {', '.join(ids)}",
        )

    def action_resume(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target.workflow_id
        ctl = self.dash.control
        if target.status == WorkflowStatus.PENDING:
            self.perform(lambda: ctl.recover(wid), lambda ids: f"recovering {wid}: queued for a live worker")
        else:
            self.perform(lambda: ctl.resume(wid), lambda ids: f"resumed {', '.join(ids)}")

    def action_retry_now(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target.workflow_id
        ctl = self.dash.control
        self.perform(lambda: ctl.retry_now(wid), lambda ids: f"{wid}: retrying now")

    def fork(self, wid: str, from_step: int, done: Callable[[str], str]) -> None:
        """Fork `wid` from `from_step`, then open the new workflow's detail so that it is seen running."""
        ctl = self.dash.control
        self.perform(lambda: ctl.fork(wid, from_step), done, then=self.dash.open_workflow)

    def action_fork(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target.workflow_id
        self.fork(wid, 1, lambda new: f"forked {wid} from the start as {new}")

    def action_send_message(self) -> None:
        if (target := self._target()) is None:
            return
        self.app.push_screen(SendMessageForm(self.dash.control, target.workflow_id, target.topic))

    def action_delete(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target.workflow_id
        ctl = self.dash.control
        self.confirm(
            "Delete this workflow?",
            [wid],
            "Its row, steps and attempts (and its finished children) are deleted for good.",
            lambda: ctl.delete(wid),
            lambda ids: f"deleted {', '.join(ids)}",
        )
