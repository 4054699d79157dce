"""Widgets shared by the screens: the connection bar and a table that shows a window of a long list."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from tui.linetable import LineTable


class ConnectionBar(Static):
    """Where the dashboard is connected, and whether the live feed is up (a red banner when it is not).
    In a narrow terminal the product name goes first and the location last, so that the live/connecting state
    and the read-only mark stay visible however long the location (an embedded server's socket path) is."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._shown: tuple[str, bool | None, str, bool, str] | None = None

    def show(
        self, where: str, connected: bool | None, reason: str = "", read_only: bool = False, mode: str = ""
    ) -> None:
        self._shown = (where, connected, reason, read_only, mode)
        ro = "  [read-only]" if read_only else ""
        tabs = Text()
        for key, name in (("1", "workflows"), ("2", "workers"), ("3", "faults"), ("4", "queues"), ("5", "schedules")):
            tabs.append(f" {key} {name.capitalize()} ", style="reverse bold" if name == mode else "dim")
        if connected is None:
            self.set_classes("connecting")
            state: Text | str = "connecting…"
        elif connected:
            self.set_classes("live")
            state = Text("● live", style="bold green")
        else:
            self.set_classes("down")
            self.update(
                Text(
                    f" DATABASE UNREACHABLE · reconnecting… · the data shown may be stale · "
                    f"{where}: {reason or 'connection lost'}"
                )
            )
            return
        text = Text.assemble(tabs, " durable-tui · ", where, ro, " · ", state)
        if text.cell_len > (self.size.width or self.app.size.width):
            text = Text.assemble(tabs, " ", state, ro, " · ", where)
        self.update(text)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)


class WindowTable(LineTable):
    """A table holding one window (`offset`, `page_size` rows) of a list paged in SQL.

    Moving the cursor past either edge asks the owner to move the window (a `Move` message) instead of
    scrolling: 100,000 rows never need to exist as widgets, only the ones on screen. Every move the user
    makes says whether it chose a row to hold (`hold`): `home`/`g` goes back to the top and holds nothing.
    """

    BINDINGS = [
        Binding("home,g", "window_top", "Top", show=False),
        Binding("end,G", "window_bottom", "Bottom", show=False),
    ]

    class Move(Message):
        def __init__(self, offset: int, cursor: str | int, hold: bool = True):
            super().__init__()
            self.offset = offset
            self.cursor = cursor
            self.hold = hold

    class Chosen(Message):
        """The user moved the cursor inside the window: `hold` the row it is on now (or, false, none)."""

        def __init__(self, hold: bool = True):
            super().__init__()
            self.hold = hold

    def __init__(self, **kwargs: Any):
        super().__init__(zebra_stripes=True, **kwargs)
        self.window_offset = 0
        self.total = 0

    @property
    def page_size(self) -> int:
        height = self.size.height or (self.app.size.height - 8)
        return max(1, height - (self.header_height if self.show_header else 0) - 1)

    def _move(self, offset: int, cursor: str | int, hold: bool = True) -> None:
        offset = max(0, min(offset, max(0, self.total - self.page_size)))
        if offset != self.window_offset:
            self.post_message(self.Move(offset, cursor, hold))
            return
        if isinstance(cursor, int):
            self.move_cursor(row=cursor, animate=False)
        elif self.row_count:
            self.move_cursor(row=0 if cursor == "first" else self.row_count - 1, animate=False)
        self.post_message(self.Chosen(hold))

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self._move(self.window_offset + 1, "last")
        else:
            super().action_cursor_down()
            self.post_message(self.Chosen())

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            self._move(self.window_offset - 1, "first")
        else:
            super().action_cursor_up()
            self.post_message(self.Chosen())

    async def _on_click(self, event: events.Click) -> None:
        await super()._on_click(event)
        self.post_message(self.Chosen())

    def action_page_down(self) -> None:
        if self.window_offset + self.row_count >= self.total:
            self._move(self.window_offset, "last")
        else:
            self._move(self.window_offset + self.page_size, self.cursor_row)

    def action_page_up(self) -> None:
        if self.window_offset == 0:
            self._move(0, "first")
        else:
            self._move(self.window_offset - self.page_size, self.cursor_row)

    def action_window_top(self) -> None:
        self._move(0, "first", hold=False)

    def action_window_bottom(self) -> None:
        self._move(self.total, "last")

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._move(self.window_offset + 3, self.cursor_row)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._move(self.window_offset - 3, self.cursor_row)
