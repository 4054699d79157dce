"""Columns that fit the terminal: the essential ones always, the others as room allows.

A table is described by `Column`s: the essential columns get their minimum width first and grow to a
comfortable one; then optional columns join in order of importance (the least important last, so they
are the first to give way in a narrow terminal); whatever room is left widens the columns that can use
it. The layout is a pure function of the width, so a resize is one comparison and, at most, one rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CELL_PADDING = 2  # a DataTable cell has one cell of padding on each side
SPARE = 1  # room kept for a vertical scrollbar


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    min_width: int
    comfortable: int
    max_width: int
    essential: bool = False


@dataclass(frozen=True)
class Placed:
    key: str
    label: str
    width: int


def fit(columns: Sequence[Column], width: int) -> list[Placed]:
    """The columns shown at `width` cells, in their declared order. Optional columns are added in the
    order they are declared in `columns` while they fit at their minimum width; extra room goes to the
    essential columns first, then the others, each up to its maximum."""
    room = width - SPARE
    widths: dict[str, int] = {}
    for c in columns:
        if c.essential:
            widths[c.key] = c.min_width
            room -= c.min_width + CELL_PADDING
    room = _grow(columns, widths, room, lambda c: c.comfortable)
    for c in (c for c in columns if not c.essential):
        if c.min_width + CELL_PADDING > room:
            break  # a less important column never shows while a more important one does not
        widths[c.key] = c.min_width
        room -= c.min_width + CELL_PADDING
    room = _grow(columns, widths, room, lambda c: c.comfortable)
    _grow(columns, widths, room, lambda c: c.max_width)
    return [Placed(c.key, c.label, widths[c.key]) for c in columns if c.key in widths]


def _grow(columns: Sequence[Column], widths: dict[str, int], room: int, target) -> int:  # type: ignore[no-untyped-def]
    for c in sorted((c for c in columns if c.key in widths), key=lambda c: not c.essential):
        extra = max(0, min(room, target(c) - widths[c.key]))
        widths[c.key] += extra
        room -= extra
    return room


def middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut in the middle (`order-20…9f3a`): ids differ at both ends
    (a prefix names the kind, a suffix is unique), so both ends stay."""
    line = " ".join(text.split())
    if len(line) <= width:
        return line
    if width < 4:
        return line[:width]
    head = width // 2
    tail = width - 1 - head
    return line[:head] + "…" + (line[-tail:] if tail else "")
