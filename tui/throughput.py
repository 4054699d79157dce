"""Throughput at a glance: workflows finished and failed over the last three minutes, and per second now.

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
WINDOW_SECONDS = 180
"""What the sparklines span, whatever their width: each cell is a bucket of WINDOW_SECONDS / cells seconds."""
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

    def series(self, counts: dict[int, int], cells: int, bucket: int = 1) -> list[int]:
        """Counts per `bucket` seconds, the last `cells` buckets, oldest first. Buckets are aligned on
        multiples of `bucket` (they do not shift every second); the last one is the bucket in progress."""
        current = int(self.now()) // bucket
        return [
            sum(counts.get(second, 0) for second in range(b * bucket, (b + 1) * bucket))
            for b in range(current - cells + 1, current + 1)
        ]

    def rate(self, counts: dict[int, int]) -> float:
        """Per second over the last RATE_SECONDS whole seconds."""
        last = int(self.now()) - 1
        return sum(counts.get(s, 0) for s in range(last - RATE_SECONDS + 1, last + 1)) / RATE_SECONDS

    def render(self, cells: int) -> Text:
        """Two lines, one sparkline each over the last WINDOW_SECONDS, on one scale (so failures look as
        large as they are), each followed by its rate over the last few seconds."""
        bucket = max(1, WINDOW_SECONDS // cells)
        done, failed = self.series(self.finished, cells, bucket), self.series(self.failed, cells, bucket)
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
