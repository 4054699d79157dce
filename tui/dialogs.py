"""Modal screens: confirmation (showing exactly what will be hit), the fault form, value viewer, pickers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, RadioButton, RadioSet, Static, TextArea

SHOWN_TARGETS = 8


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


class FaultForm(ModalScreen[dict[str, Any] | None]):
    """Inject a fault: kind, how many attempts it hits, delay, phase, scope. Returns `add_fault` kwargs."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Inject")]

    def __init__(self, step_name: str = "", workflow_id: str | None = None):
        super().__init__()
        self.step_name = step_name
        self.workflow_id = workflow_id

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form"):
            yield Label(Text("Inject a fault", style="bold"), id="dialog-title")
            with RadioSet(id="kind"):
                yield RadioButton("fail: the attempt raises", value=True, name="fail")
                yield RadioButton("delay: the attempt waits first", name="delay")
                yield RadioButton("crash: the worker dies (SIGKILL)", name="crash")
            yield Label("step name")
            yield Input(self.step_name, id="step")
            yield Label("attempts hit (empty: every attempt)")
            yield Input("1", id="count", type="integer")
            yield Label("delay seconds (delay faults)")
            yield Input("5", id="delay", type="number")
            yield Label("message (fail faults)")
            yield Input("injected fault", id="message")
            yield Checkbox("crash right after the checkpoint (phase 'after')", id="after")
            if self.workflow_id:
                yield Checkbox(f"only workflow {self.workflow_id}", value=True, id="only")
            yield Static("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Inject (ctrl+s)", variant="warning", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = not getattr(self.app, "steady", False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        pressed = self.query_one("#kind", RadioSet).pressed_button
        kind = pressed.name if pressed is not None and pressed.name else "fail"
        step = self.query_one("#step", Input).value.strip()
        count_text = self.query_one("#count", Input).value.strip()
        delay_text = self.query_one("#delay", Input).value.strip()
        if not step:
            self.query_one("#form-error", Static).update("a step name is needed")
            return
        try:
            count = int(count_text) if count_text else None
            delay = float(delay_text) if delay_text else 0.0
        except ValueError:
            self.query_one("#form-error", Static).update("count and delay must be numbers")
            return
        only = self.query("#only")
        self.dismiss({
            "kind": kind,
            "step_name": step,
            "workflow_id": self.workflow_id if only and only.first(Checkbox).value else None,
            "count": count,
            "delay_seconds": delay if kind == "delay" else 0.0,
            "phase": "after" if kind == "crash" and self.query_one("#after", Checkbox).value else "before",
            "message": self.query_one("#message", Input).value or "injected fault",
        })


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
