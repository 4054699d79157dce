"""Modal screens: confirmation (showing exactly what will be hit), the fault form, value viewer, pickers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, RadioButton, RadioSet, Static, TextArea

from engine.errors import DurableError

if TYPE_CHECKING:
    from engine import Control

SHOWN_TARGETS = 8


T = TypeVar("T")


def first_line(exc: BaseException) -> str:
    """The last non-empty line of an error (a driver's message, never its traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


class ConfirmScreen(ModalScreen[bool]):
    """Asks before a destructive action. The targets are fixed when the dialog opens: the live list
    moving underneath never changes what a "yes" hits."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, targets: Sequence[str], consequence: str):
        super().__init__()
        self.title_text = title
        self.targets = list(targets)
        self.consequence = consequence

    def compose(self) -> ComposeResult:
        shown = self.targets[:SHOWN_TARGETS]
        lines = "\n".join(f"  • {t}" for t in shown)
        more = len(self.targets) - len(shown)
        if more > 0:
            lines += f"\n  … and {more:,} more"
        with Vertical(id="dialog", classes="confirm"):
            yield Label(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(lines or "  (nothing)", id="targets")
            yield Static(self.consequence, id="consequence")
            with Horizontal(id="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n / esc)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class FormScreen(ModalScreen[T]):
    """A form in a dialog: ctrl+s (or its OK button) submits, escape closes it; a refusal is said in the
    form, which stays open to be corrected, and (when `REFUSAL_TITLE` is set) as a notification too."""

    REFUSAL_TITLE = ""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        raise NotImplementedError

    def refuse(self, reason: str) -> None:
        self.query_one("#form-error", Static).update(reason)
        if self.REFUSAL_TITLE:
            self.app.notify(reason, title=self.REFUSAL_TITLE, severity="error")


class FaultForm(FormScreen[int | None]):
    """Inject a fault: kind, step, workflow (or all), how many attempts it hits, delay, phase, message.

    The form itself calls `add_fault` (in a thread): an engine refusal (`InvalidState`) is shown in the
    form, which stays open to be corrected, and as a notification. Returns the new fault's id."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Inject")]
    REFUSAL_TITLE = "Fault not added"

    def __init__(self, control: Control, step_name: str = "", workflow_id: str | None = None):
        super().__init__()
        self.control = control
        self.step_name = step_name
        self.workflow_id = workflow_id
        self.busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="form"):
            yield Label(Text("Inject a fault", style="bold"), id="dialog-title")
            with RadioSet(id="kind"):
                yield RadioButton("fail: the attempt raises", value=True, name="fail")
                yield RadioButton("delay: the attempt waits first", name="delay")
                yield RadioButton("crash: the worker dies (SIGKILL)", name="crash")
            yield Label("step name")
            yield Input(self.step_name, id="step")
            yield Label("workflow id (empty: every workflow)")
            yield Input(self.workflow_id or "", placeholder="any workflow", id="workflow")
            yield Label("attempts hit (empty: every attempt)")
            yield Input("1", id="count", type="integer")
            yield Label("delay seconds (delay faults)")
            yield Input("5", id="delay", type="number")
            yield Label("message (fail faults)")
            yield Input("injected fault", id="message")
            yield Checkbox("crash right after the checkpoint (phase 'after', crash faults)", id="after")
            yield Static("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Inject (ctrl+s)", variant="warning", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = not getattr(self.app, "steady", False)
        self.query_one("#kind" if self.step_name else "#step").focus()

    def spec(self) -> dict[str, Any] | None:
        """The `add_fault` arguments, or None (after `refuse`) when a field cannot be read."""
        pressed = self.query_one("#kind", RadioSet).pressed_button
        kind = pressed.name if pressed is not None and pressed.name else "fail"
        step = self.query_one("#step", Input).value.strip()
        count_text = self.query_one("#count", Input).value.strip()
        delay_text = self.query_one("#delay", Input).value.strip()
        if not step:
            self.refuse("a step name is needed")
            return None
        try:
            count = int(count_text) if count_text else None
            delay = float(delay_text) if delay_text else 0.0
        except ValueError:
            self.refuse("attempts and delay must be numbers")
            return None
        return {
            "kind": kind,
            "step_name": step,
            "workflow_id": self.query_one("#workflow", Input).value.strip() or None,
            "count": count,
            "delay_seconds": delay if kind == "delay" else 0.0,
            "phase": "after" if self.query_one("#after", Checkbox).value else "before",
            "message": self.query_one("#message", Input).value or "injected fault",
        }

    def action_submit(self) -> None:
        spec = self.spec()
        if spec is not None and not self.busy:
            self.busy = True
            self.run_worker(self._add(spec), group="add-fault", exit_on_error=False)

    async def _add(self, spec: dict[str, Any]) -> None:
        app = self.app
        app.loads_in_flight += 1  # type: ignore[attr-defined]
        try:
            fault_id = await asyncio.to_thread(self.control.add_fault, **spec)
        except DurableError as exc:
            self.refuse(str(exc))
        except Exception as exc:
            self.refuse(f"failed: {first_line(exc)}")
        else:
            scope = f"workflow {spec['workflow_id']}" if spec["workflow_id"] else "every workflow"
            app.notify(f"fault {fault_id} ({spec['kind']}) armed on step {spec['step_name']}, {scope}", title="Done")
            self.dismiss(fault_id)
        finally:
            self.busy = False
            app.loads_in_flight -= 1  # type: ignore[attr-defined]


class ValueScreen(ModalScreen[None]):
    """A full value (JSON, traceback) in a scrollable, selectable view."""

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, text: str):
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="viewer"):
            yield Label(Text(self.title_text, style="bold"), id="dialog-title")
            yield TextArea(self.text, read_only=True, show_line_numbers=False, soft_wrap=True, id="value")
            yield Static("esc: close", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)


class PickScreen(ModalScreen[str | None]):
    """Choose one of a few options (a workflow name, a linked workflow)."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]]):
        super().__init__()
        self.title_text = title
        self.options = list(options)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="picker"):
            yield Label(Text(self.title_text, style="bold"), id="dialog-title")
            yield OptionList(*(label for label, _ in self.options), id="options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[event.option_index][1])

    def action_close(self) -> None:
        self.dismiss(None)
