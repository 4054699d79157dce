"""How keys are named to people: a short label for the footer, a full description for the help screen,
the command palette and the footer's tooltip, and a footer that drops the least important keys first
when the terminal is too narrow for all of them (they stay in the help screen and the palette).

The full description lives in each `Binding`'s `tooltip`, next to the key, so it cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEY_NAMES = {"escape": "esc", "slash": "/", "question_mark": "?", "backspace": "bksp"}


def key_label(binding: Binding, first_only: bool = False) -> str:
    """`esc/bksp` for "escape,backspace" (only `esc` with `first_only`)."""
    keys = [KEY_NAMES.get(k.strip(), k.strip()) for k in binding.key.split(",")]
    return keys[0] if first_only else "/".join(keys)


def long_description(binding: Binding) -> str:
    return binding.tooltip or binding.description


def described(bindings: Iterable[object]) -> list[tuple[str, str]]:
    """(keys, full description) of every binding that has a description, in order."""
    return [(key_label(b), long_description(b)) for b in bindings if isinstance(b, Binding) and b.description]


class DashFooter(Footer):
    """The footer, fitted to the width: when the keys do not fit, those whose actions come first in the
    screen's `footer_drop` leave first (the command palette key and `?` always stay)."""

    def __init__(self, drop_order: Sequence[str] = ()):
        super().__init__(compact=True)
        self.drop_order = list(drop_order)
        self._width = 0

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        keys = [w for w in widgets if isinstance(w, FooterKey) and not w.has_class("-command-palette")]
        palette = [w for w in widgets if w not in keys]
        room = (self.size.width or self.app.size.width) - sum(_width(w) + 1 for w in palette)
        used = sum(_width(k) for k in keys)
        dropped: set[str] = set()
        for action in self.drop_order:
            if used <= room:
                break
            for key in keys:
                if key.action.split("(")[0] == action and key.action not in dropped:
                    dropped.add(key.action)
                    used -= _width(key)
        yield from (w for w in widgets if not (isinstance(w, FooterKey) and w.action in dropped))

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            if self._bindings_ready:
                self.call_after_refresh(self.recompose)


def _width(widget: Widget) -> int:
    """Cells a compact footer key takes: key, space, label, and one cell of margin."""
    if not isinstance(widget, FooterKey):
        return 0
    return len(widget.key_display) + (1 + len(widget.description) if widget.description else 0) + 1
