"""The dashboard's "start a workflow" dialog (`w`): pick a name a live worker registers, edit its JSON
arguments, start it. Bad JSON or a refusal is one line in the dialog, which stays open to be corrected;
on success it returns the new workflow's id (the app then opens its detail screen)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, OptionList, Static

from engine.errors import DurableError
from tui.dialogs import FormScreen, first_line
from tui.start_workflow import Started, live_registrations, parse_inputs, start_by_name

if TYPE_CHECKING:
    from engine import Control


class StartWorkflowScreen(FormScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Start")]
    DEFAULT_CSS = """
    StartWorkflowScreen #names { height: auto; max-height: 8; }
    """

    def __init__(self, control: Control):
        super().__init__()
        self.control = control
        self.names: list[str] = []
        self.busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="form"):
            yield Label(Text("Start a workflow", style="bold"), id="dialog-title")
            yield Label("workflow (registered by a live worker)")
            yield OptionList(id="names")
            yield Label('arguments: a JSON array, e.g. [42, "a"]')
            yield Input("[]", id="args")
            yield Label('keyword arguments: a JSON object, e.g. {"retries": 2}')
            yield Input("{}", id="kwargs")
            yield Label("workflow id (empty: a new random id)")
            yield Input("", placeholder="random", id="workflow-id")
            yield Static("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Start (ctrl+s)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = not getattr(self.app, "steady", False)
        self.query_one("#names", OptionList).focus()
        self.run_worker(self._load_names(), group="start-names", exit_on_error=False)

    async def _load_names(self) -> None:
        try:
            registered = await asyncio.to_thread(live_registrations, self.control)
        except Exception as exc:
            self.refuse(f"cannot read the workers: {first_line(exc)}")
            return
        self.names = list(registered)
        names = self.query_one("#names", OptionList)
        names.clear_options()
        if not self.names:
            self.refuse("no live worker registers any workflow: start one (durable-tui dev myapp.py)")
            return
        names.add_options([f"{name}  ({', '.join(workers)})" for name, workers in registered.items()])
        names.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#args", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        if self.busy:
            return
        highlighted = self.query_one("#names", OptionList).highlighted
        if highlighted is None or highlighted >= len(self.names):
            self.refuse("pick a workflow first")
            return
        try:
            args, kwargs = parse_inputs(self.query_one("#args", Input).value, self.query_one("#kwargs", Input).value)
        except DurableError as exc:
            self.refuse(str(exc).replace("--args", "arguments").replace("--kwargs", "keyword arguments"))
            return
        workflow_id = self.query_one("#workflow-id", Input).value.strip() or None
        self.busy = True
        self.run_worker(self._start(self.names[highlighted], args, kwargs, workflow_id), exit_on_error=False)

    async def _start(self, name: str, args: list[object], kwargs: dict[str, object], workflow_id: str | None) -> None:
        try:
            started: Started = await asyncio.to_thread(start_by_name, self.control, name, args, kwargs, workflow_id)
        except DurableError as exc:
            self.refuse(str(exc))
        except Exception as exc:
            self.refuse(f"failed: {first_line(exc)}")
        else:
            if started.created:
                self.app.notify(f"started {started.workflow_id} ({name})", title="Done")
            else:
                self.app.notify(
                    f"{started.workflow_id} exists already ({started.existing_status}): not started again",
                    title="Exists",
                    severity="warning",
                )
            self.dismiss(started.workflow_id)
        finally:
            self.busy = False
