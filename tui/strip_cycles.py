"""A line that Textual divides at its own width no longer keeps itself alive in a reference cycle.

`Strip.divide(cuts)` (Textual 8.2.8, pinned) caches its result on the strip, and a cut at the strip's full width
(every line of a widget drawn whole: each line of each frame) gives `[self]`, so the strip holds its own cache
that holds a list that holds the strip: a cycle. A line dropped by its frame is then freed only by the cyclic
collector, with its segments and its eight caches (~20 objects a line). Under a 1,500 commits/s burst the workflow
list redraws ~40 lines 20-25 times a second: ~9,000 of those objects went into each full collection (16-22 ms of
the UI loop, inside a frame), and they made the young collections 2.5 times as frequent (`bench/tui_latency.py
--stall-only`). Undivided lines are not cached now, so a line goes as soon as nothing draws it; any other
division is cached as before (its parts are new strips: no cycle).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.strip import Strip

_divide = Strip.divide


def _divide_uncached_whole(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    """`Strip.divide`, except that a single cut at the strip's width returns `[self]` without caching it."""
    length = self.cell_length
    kept = [cut for cut in cuts if cut <= length]
    if kept == [length]:
        return [self]
    return _divide(self, kept)


def install() -> None:
    """Make every strip's whole-width division uncached (idempotent; the app installs it when it is made)."""
    Strip.divide = _divide_uncached_whole  # type: ignore[method-assign]
