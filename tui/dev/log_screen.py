"""The worker's log, tailed live in the dashboard (`L`): what the worker printed, its tracebacks and
reloads, without leaving the dashboard or letting the worker write into its terminal."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Log, Static

TAIL_BYTES = 64 * 1024
POLL_SECONDS = 0.3


class WorkerLogScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,L", "close", "Close")]

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.read_to = 0
        self.mid_line = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="viewer"):
            yield Label(Text(f"worker log: {self.path}", style="bold"), id="dialog-title")
            yield Log(id="log", highlight=False)
            yield Static("esc: close · the log follows the worker", classes="hint")

    def on_mount(self) -> None:
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        self.read_to = max(0, size - TAIL_BYTES)
        self.mid_line = self.read_to > 0
        self.follow()
        self.set_interval(POLL_SECONDS, self.follow)

    def follow(self) -> None:
        """Append the whole lines the worker wrote since the last read."""
        try:
            with self.path.open("rb") as f:
                if f.seek(0, 2) < self.read_to:  # the log was truncated: start over
                    self.read_to, self.mid_line = 0, False
                f.seek(self.read_to)
                data = f.read()
        except OSError:
            return
        if self.mid_line:  # the tail began inside a line: drop that piece
            cut = data.find(b"\n")
            if cut < 0:
                return
            self.read_to += cut + 1
            data = data[cut + 1 :]
            self.mid_line = False
        end = data.rfind(b"\n") + 1
        if end:
            self.read_to += end
            self.query_one(Log).write_lines(data[:end].decode(errors="replace").splitlines())

    def action_close(self) -> None:
        self.dismiss(None)
