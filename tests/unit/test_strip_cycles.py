"""A line divided at its own width (each line of each frame) is freed by its reference count, not left in a cycle
for the collector (`tui.strip_cycles`); the divisions themselves are Textual's."""

from __future__ import annotations

import gc

from rich.segment import Segment
from textual.strip import Strip

from tui import strip_cycles


def test_a_whole_width_division_leaves_no_cycle() -> None:
    strip_cycles.install()
    gc.collect()
    gc.disable()
    try:
        line = Strip([Segment("ab"), Segment("cd")])
        assert list(line.divide([4])) == [line]
        assert list(line.divide([4, 9])) == [line]  # cuts past the end are dropped, as Textual drops them
        del line
        assert gc.collect() == 0  # nothing was left for the collector: the line went with its last reference
    finally:
        gc.enable()


def test_other_divisions_are_textuals() -> None:
    strip_cycles.install()
    line = Strip([Segment("ab"), Segment("cd")])
    parts = line.divide([1, 4])
    assert [p.text for p in parts] == ["a", "bcd"]
    assert [p.cell_length for p in parts] == [1, 3]
    assert line.divide([1, 4]) is parts  # still cached: its parts are new strips, no cycle
