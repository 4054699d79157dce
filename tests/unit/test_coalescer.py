"""Leading-edge coalescing of the dashboard's flushes, on a fake clock and a fake scheduler (no app)."""

from __future__ import annotations

from collections.abc import Callable

from tui.live import Coalescer


class Loop:
    """A scheduler and a clock by hand: `run_due()` runs what is due by now, as the app's loop would."""

    def __init__(self) -> None:
        self.now = 100.0
        self.queue: list[tuple[float, Callable[[], None]]] = []
        self.delays: list[float] = []

    def schedule(self, delay: float, callback: Callable[[], None]) -> None:
        self.delays.append(delay)
        self.queue.append((self.now + delay, callback))

    def run_due(self) -> None:
        due = [item for item in self.queue if item[0] <= self.now]
        self.queue = [item for item in self.queue if item[0] > self.now]
        for _, callback in due:
            callback()


def make() -> tuple[Loop, Coalescer, list[float]]:
    loop, flushes = Loop(), []
    coalescer = Coalescer(0.05, lambda: flushes.append(loop.now), loop.schedule, clock=lambda: loop.now)
    return loop, coalescer, flushes


def test_the_first_change_after_a_quiet_period_flushes_at_once() -> None:
    loop, coalescer, flushes = make()
    coalescer.poke()
    assert loop.delays == [0.0]
    loop.run_due()
    assert flushes == [100.0]
    loop.now += 1.0  # quiet for longer than the window: again at once
    coalescer.poke()
    loop.run_due()
    assert loop.delays == [0.0, 0.0] and flushes == [100.0, 101.0]


def test_a_burst_flushes_once_per_window_and_ends_with_a_trailing_flush() -> None:
    loop, coalescer, flushes = make()
    for _ in range(1000):  # 1000 changes over 0.2 s, one every 0.2 ms
        coalescer.poke()
        loop.run_due()
        loop.now += 0.0002
    loop.now += 0.05
    loop.run_due()
    assert flushes[0] == 100.0, "the first change of the burst is not held back"
    gaps = [b - a for a, b in zip(flushes, flushes[1:], strict=False)]
    assert all(g >= 0.05 - 1e-9 for g in gaps), "never more than one flush per window"
    assert 4 <= len(flushes) <= 6
    assert not coalescer.due and flushes[-1] >= 100.2 - 0.0002, "the last change is flushed"


def test_a_change_just_after_a_flush_waits_for_the_rest_of_the_window() -> None:
    loop, coalescer, flushes = make()
    coalescer.poke()
    loop.run_due()
    loop.now += 0.02
    coalescer.poke()
    coalescer.poke()
    assert len(loop.delays) == 2, "pokes join the flush already due"
    assert abs(loop.delays[1] - 0.03) < 1e-9, "due at the end of the window of the last flush"
    loop.run_due()
    assert flushes == [100.0]
    loop.now += 0.03
    loop.run_due()
    assert flushes == [100.0, 100.05]
