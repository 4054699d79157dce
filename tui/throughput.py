"""Throughput at a glance: workflows finished and failed per second over the last minutes.

Counted from the events the dashboard already receives (a workflow row turning SUCCESS or ERROR), so
it costs no query: one dictionary increment per event, and a few dozen cells drawn once a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.text import Text

from engine.feed import Event
from engine.states import WorkflowStatus

BLOCKS = "▁▂▃▄▅▆▇█"
KEEP_SECONDS = 300
RATE_SECONDS = 5


class Throughput:
    """Per-second counts of finished (SUCCESS) and failed (ERROR) workflows, for the last 5 minutes.
    `now` is a monotonic clock in seconds (injectable for tests)."""

    def __init__(self, now: Callable[[], float] = time.monotonic):
        self.now = now
        self.finished: dict[int, int] = {}
        self.failed: dict[int, int] = {}

    def add(self, event: Event) -> None:
        if event.kind != "w":
            return
        if event.status == WorkflowStatus.SUCCESS:
            counts = self.finished
        elif event.status == WorkflowStatus.ERROR:
            counts = self.failed
        else:
            return
        second = int(self.now())
        counts[second] = counts.get(second, 0) + 1
        if len(counts) > KEEP_SECONDS:
            for old in [s for s in counts if s <= second - KEEP_SECONDS]:
                del counts[old]

    def series(self, counts: dict[int, int], cells: int) -> list[int]:
        """The last `cells` whole seconds, oldest first (the second in progress is not shown yet)."""
        last = int(self.now()) - 1
        return [counts.get(s, 0) for s in range(last - cells + 1, last + 1)]

    def rate(self, counts: dict[int, int]) -> float:
        return sum(self.series(counts, RATE_SECONDS)) / RATE_SECONDS

    def render(self, cells: int) -> Text:
        """Two lines, one sparkline each, on one scale (so failures look as large as they are)."""
        done, failed = self.series(self.finished, cells), self.series(self.failed, cells)
        top = max([*done, *failed, 1])
        text = Text()
        for label, values, counts, style in (
            ("done", done, self.finished, "green"),
            ("fail", failed, self.failed, "red"),
        ):
            text.append(f"{label} ", style="dim")
            text.append(sparkline(values, top), style=style)
            text.append(f" {self.rate(counts):5.1f}/s", style=style if any(values) else "dim")
            if label == "done":
                text.append("\n")
        return text


def sparkline(values: Sequence[int], top: int) -> str:
    """One block per value, its height relative to `top` (zero is the lowest block, so the axis shows)."""
    return "".join(BLOCKS[min(len(BLOCKS) - 1, round(v / top * (len(BLOCKS) - 1)))] for v in values)
