"""Fork from a step, with the workflow's inputs open for editing first.

The inputs are shown as JSON (`{"args": [...], "kwargs": {...}}`); edited inputs go to the fork as its new
arguments, unchanged ones leave the fork's inputs as the original's. Bad JSON, or inputs of the wrong
shape, are said in the form, which stays open; the engine's refusal too.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Label, Static, TextArea

from engine.errors import DurableError
from tui.dialogs import FormScreen, first_line

if TYPE_CHECKING:
    from engine import Control


class ForkForm(FormScreen[str | None]):
    """Returns the new workflow's id (None when closed without forking)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Fork")]
    REFUSAL_TITLE = "Not forked"

    def __init__(self, control: Control, workflow_id: str, from_step: int, inputs: Any):
        super().__init__()
        self.control = control
        self.workflow_id = workflow_id
        self.from_step = from_step
        self.original = json.dumps(inputs, indent=2)
        self.busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="form"):
            title = f"Fork {self.workflow_id} from step {self.from_step}"
            yield Label(Text(title, style="bold"), id="dialog-title")
            yield Label("Steps before it keep their recorded outcomes. Inputs (JSON, edit to change):")
            yield TextArea(self.original, language="json", id="inputs")
            yield Static("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Fork (ctrl+s)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#inputs", TextArea).focus()

    def edited_inputs(self) -> tuple[bool, Any]:
        """(True, inputs) when they were changed, (False, None) when not; raises ValueError on bad JSON."""
        text = self.query_one("#inputs", TextArea).text
        if text.strip() == self.original.strip():
            return False, None
        try:
            return True, json.loads(text)
        except ValueError as exc:
            raise ValueError(f"the inputs are not JSON: {exc}") from None

    def action_submit(self) -> None:
        try:
            changed, inputs = self.edited_inputs()
        except ValueError as exc:
            self.refuse(str(exc))
            return
        if not self.busy:
            self.busy = True
            self.run_worker(self._fork(inputs if changed else None), group="fork", exit_on_error=False)

    async def _fork(self, inputs: Any) -> None:
        try:
            new_id = await asyncio.to_thread(self.control.fork, self.workflow_id, self.from_step, inputs=inputs)
        except DurableError as exc:
            self.refuse(str(exc))
        except Exception as exc:
            self.refuse(f"failed: {first_line(exc)}")
        else:
            changed = " with new inputs" if inputs is not None else ""
            self.app.notify(f"forked {self.workflow_id} from step {self.from_step}{changed} as {new_id}", title="Done")
            self.dismiss(new_id)
        finally:
            self.busy = False
