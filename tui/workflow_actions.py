"""The actions on one workflow, shared by the list and the detail screen (each says which is selected)."""

from __future__ import annotations

from textual.binding import Binding

from engine.records import PENDING
from tui.base import DashScreen

WORKFLOW_BINDINGS = [
    Binding("k", "kill", "Kill", tooltip="Kill (cancel) the workflow and its children (asks first)"),
    Binding("r", "resume", "Resume", tooltip="Resume a CANCELLED/ERROR workflow from its last checkpoint, "
                                             "or recover a PENDING one whose worker died"),
    Binding("n", "retry_now", "Retry now", tooltip="Retry now: a step waiting to retry runs at once"),
    Binding("f", "replay", "Replay", tooltip="Replay from the start, as a new (forked) workflow"),
    Binding("d", "delete", "Delete", tooltip="Delete the workflow, its steps and attempts (asks first)"),
]


class WorkflowActions(DashScreen):
    def selected(self) -> tuple[str, str] | None:
        """(id, status as last shown) of the workflow the keys act on."""
        raise NotImplementedError

    def _target(self) -> tuple[str, str] | None:
        target = self.selected()
        if target is None:
            self.notify("no workflow selected", severity="warning")
        return target

    def action_kill(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target[0]
        ctl = self.dash.control
        self.confirm("Kill (cancel) this workflow?", [wid],
                     "It becomes CANCELLED, with its children, and stops at its next step boundary.",
                     lambda: ctl.cancel(wid), lambda ids: f"cancelled {', '.join(ids)}")

    def action_resume(self) -> None:
        if (target := self._target()) is None:
            return
        wid, status = target
        ctl = self.dash.control
        if status == PENDING:
            self.perform(lambda: ctl.recover(wid), lambda ids: f"recovering {wid}: queued for a live worker")
        else:
            self.perform(lambda: ctl.resume(wid), lambda ids: f"resumed {', '.join(ids)}")

    def action_retry_now(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target[0]
        ctl = self.dash.control
        self.perform(lambda: ctl.retry_now(wid), lambda ids: f"{wid}: retrying now")

    def action_replay(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target[0]
        ctl = self.dash.control
        self.perform(lambda: ctl.fork(wid, 1), lambda new: f"replaying {wid} from the start as {new}")

    def action_delete(self) -> None:
        if (target := self._target()) is None:
            return
        wid = target[0]
        ctl = self.dash.control
        self.confirm("Delete this workflow?", [wid],
                     "Its row, steps and attempts (and its finished children) are deleted for good.",
                     lambda: ctl.delete(wid), lambda ids: f"deleted {', '.join(ids)}")
