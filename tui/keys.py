"""How keys are named to people: a short label for the footer, a full description for the help screen,
the command palette and the footer's tooltip, and a footer that drops the least important keys first
when the terminal is too narrow for all of them (they stay in the help screen and the palette).

The full description lives in each `Binding`'s `tooltip`, next to the key, so it cannot drift.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
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
    screen's `footer_drop` leave first (the command palette key and `?` always stay).

    A change of bindings that only greys or ungreys keys (the selected row changed which actions apply,
    the first rows arrived) updates the keys in place. Textual's Footer rebuilds every key instead, and
    the new keys' first layout and paint held the UI loop 40-50 ms (plus ~20 ms to build them): the
    longest callbacks of a burst. Only a change of which keys are shown (or their labels) rebuilds; a
    burst of changes asks for one update, done after the next refresh with the state then. Each key greyed
    or ungreyed restyles itself (Textual applies the stylesheet to it: ~1 ms), one key per turn of the loop:
    the first rows of a burst ungrey six keys, 6-8 ms of the UI loop in one callback when done together."""

    def __init__(self, drop_order: Sequence[str] = ()):
        super().__init__(compact=True)
        self.drop_order = list(drop_order)
        self._width = 0
        self._composed: Hashable = None
        """`_shown()[0]` of the keys composed now: while it holds, a bindings change needs no rebuild."""
        self._update_pending = False
        self._updates = 0
        """Updates started: an update that sees a later one started stops (the later one read a newer state)."""

    def _shown(self) -> tuple[Hashable, dict[str, bool]]:
        """Which keys the footer shows, as `Footer.compose` picks them (the first binding of each shown
        action, then the command palette's), with their labels; and whether each action is enabled."""
        layout: list[Hashable] = []
        enabled: dict[str, bool] = {}
        for _, binding, is_enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in enabled:
                enabled[binding.action] = is_enabled
                group = (binding.group.description, binding.group.compact) if binding.group else None
                layout.append((binding.key, binding.action, binding.description, group, tooltip))
        palette = self.app.COMMAND_PALETTE_BINDING
        if (shown := self.screen.active_bindings.get(palette)) is not None:
            enabled.setdefault(shown.binding.action, shown.enabled)
        return (tuple(layout), palette, self.show_command_palette, self.compact, self.size.width), enabled

    def bindings_changed(self, screen: Screen) -> None:  # type: ignore[type-arg]
        self._bindings_ready = True
        if not screen.app.app_focus or not (self.is_attached and screen is self.screen):
            return
        if not self._update_pending:
            self._update_pending = True
            self.call_after_refresh(self._update_keys)

    async def _update_keys(self) -> None:
        """Grey or ungrey the keys in place when the keys shown are the ones composed; else rebuild."""
        self._update_pending = False
        if not self.is_attached:
            return
        self._updates += 1
        update = self._updates
        layout, enabled = self._shown()
        if layout != self._composed:
            await self.recompose()
            return
        for key in self.query(FooterKey):
            on = enabled.get(key.action, True)
            if key._disabled != on:
                continue
            if update != self._updates or not key.is_attached:
                return
            key._disabled = not on  # what FooterKey reads on a click, and the class that dims it
            key.set_class(not on, "-disabled")
            await asyncio.sleep(0)  # the next key in a turn of its own

    def compose(self) -> ComposeResult:
        self._composed = self._shown()[0] if self._bindings_ready else None
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
