"""The "send a message" dialog (`m` on a workflow): a JSON message and its topic, pre-filled with the topic
the workflow's `recv` waits on. Bad JSON or a refusal is one line in the dialog, which stays open."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Static, TextArea

from engine.errors import DurableError
from tui.dialogs import FormScreen, first_line

if TYPE_CHECKING:
    from engine import Control


class SendMessageForm(FormScreen[bool | None]):
    """Returns True once the message is sent (None when closed without sending)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Send")]
    REFUSAL_TITLE = "Not sent"
    DEFAULT_CSS = """
    SendMessageForm #message { height: 6; }
    """

    def __init__(self, control: Control, workflow_id: str, topic: str | None):
        super().__init__()
        self.control = control
        self.workflow_id = workflow_id
        self.topic = topic
        self.busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="form"):
            yield Label(Text(f"Send a message to {self.workflow_id}", style="bold"), id="dialog-title")
            waits = f"its recv waits on topic {self.topic!r}" if self.topic else "empty: no topic"
            yield Label(f"topic ({waits})")
            yield Input(self.topic or "", placeholder="no topic", id="topic")
            yield Label('message (JSON: {"paid": 42}, "text", 3, null)')
            yield TextArea("{}", language="json", id="message")
            yield Static("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Send (ctrl+s)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = not getattr(self.app, "steady", False)
        area = self.query_one("#message", TextArea)
        area.cursor_blink = not getattr(self.app, "steady", False)
        area.focus()

    def action_submit(self) -> None:
        text = self.query_one("#message", TextArea).text
        try:
            message = json.loads(text)
        except ValueError as exc:
            self.refuse(f"the message is not JSON: {exc}")
            return
        if not self.busy:
            self.busy = True
            topic = self.query_one("#topic", Input).value or None
            self.run_worker(self._send(message, topic), group="send-message", exit_on_error=False)

    async def _send(self, message: Any, topic: str | None) -> None:
        try:
            await asyncio.to_thread(self.control.send, self.workflow_id, message, topic)
        except DurableError as exc:
            self.refuse(str(exc))
        except Exception as exc:
            self.refuse(f"failed: {first_line(exc)}")
        else:
            on = f" on topic {topic!r}" if topic else ""
            self.app.notify(f"sent a message to {self.workflow_id}{on}", title="Done")
            self.dismiss(True)
        finally:
            self.busy = False
