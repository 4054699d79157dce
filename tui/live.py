"""Keeping the screen current without drowning it: coalesced changes and single-flight reloads.

Notifications arrive one per row change (1000+/s in a burst). They are folded into one `Changes` per
flush window (`Coalescer`: the first change after a quiet period flushes at once, later ones wait for the
end of the window), and each screen answers a flush with at most one reload in flight: requests that
arrive while a reload runs collapse into a single follow-up. Nothing piles up, and the last state wins.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from textual.dom import DOMNode

from engine.feed import Event

log = logging.getLogger("durable.tui")

T = TypeVar("T")


@dataclass
class Changes:
    """What changed since the last flush: enough to decide which reads to redo, never the data."""

    workflows: set[str] = field(default_factory=set)
    workflow_status: bool = False
    executors: bool = False
    faults: bool = False
    schedules: bool = False
    everything: bool = False
    events: int = 0

    def add(self, event: Event) -> None:
        self.events += 1
        if event.kind in ("w", "s") and event.id is not None:
            self.workflows.add(event.id)
            self.workflow_status = self.workflow_status or event.kind == "w"
        elif event.kind == "e":
            self.executors = True
        elif event.kind == "f":
            self.faults = True
        elif event.kind == "c":
            self.schedules = True

    def __bool__(self) -> bool:
        return bool(self.workflows or self.executors or self.faults or self.schedules or self.everything)

    @classmethod
    def all(cls) -> Changes:
        return cls(everything=True, workflow_status=True, executors=True, faults=True, schedules=True)


class Coalescer:
    """Leading-edge coalescing: `poke()` says something changed; `flush` runs at most once per `window`.

    The first poke after a quiet period (no flush within `window`) flushes at once (`schedule(0, ...)`: the
    next turn of the loop), so a lone change waits for nothing; pokes inside the window of the last flush
    are folded into one trailing flush at its end, so a burst costs one flush per window. `schedule(delay,
    callback)` and `clock` (seconds) are injected: the app passes its timers, tests a fake clock.
    """

    def __init__(
        self,
        window: float,
        flush: Callable[[], Any],
        schedule: Callable[[float, Callable[[], None]], Any],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.window = window
        self.flush = flush
        self.schedule = schedule
        self.clock = clock
        self.last = -math.inf
        self.due = False
        """A flush is scheduled and has not run yet: further pokes join it."""

    def poke(self) -> None:
        if self.due:
            return
        self.due = True
        self.schedule(max(0.0, self.last + self.window - self.clock()), self._fire)

    def _fire(self) -> None:
        self.due = False
        self.last = self.clock()
        self.flush()


class Refresher(Generic[T]):
    """Run `load` in a thread, then `apply` its result on the UI loop; at most one load at a time.

    A failed load (database down, a connection lost) goes to `on_error` and never crashes the app; it is
    tried again after RETRY_SECONDS, so a passing failure does not leave the screen stale.
    """

    RETRY_SECONDS = 1.0

    def __init__(
        self,
        node: DOMNode,
        load: Callable[[], T],
        apply: Callable[[T], Any],
        on_error: Callable[[BaseException], Any] | None = None,
    ):
        self.node = node
        self.load = load
        self.apply = apply
        self.on_error = on_error
        self.running = False
        self.again = False

    def request(self) -> None:
        if self.running:
            self.again = True
            return
        self.running = True
        self.node.app.loads_in_flight += 1  # type: ignore[attr-defined]
        # The function, not a coroutine: a worker that never starts (the app is closing) leaves none unawaited.
        self.node.run_worker(self._run, group="refresh", exit_on_error=False)  # type: ignore[arg-type]

    async def _run(self) -> None:
        try:
            while True:
                self.again = False
                try:
                    data = await asyncio.to_thread(self.load)
                except Exception as exc:
                    log.warning("reload failed: %s", exc)
                    if self.on_error is not None:
                        self.on_error(exc)
                    self.node.set_timer(self.RETRY_SECONDS, self.request)
                else:
                    if self.node.is_attached:
                        self.apply(data)
                if not self.again:
                    break
        finally:
            self.running = False
            self.node.app.loads_in_flight -= 1  # type: ignore[attr-defined]
