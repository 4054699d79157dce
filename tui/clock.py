"""The dashboard's sense of "now": the database clock, read through an injectable callable.

Countdowns compare a stored `next_attempt_at` (written with the database clock) with now, so the local
clock is corrected once, at connect, by its offset to the database. Tests inject a fixed clock instead,
which makes every rendered countdown deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

Clock = Callable[[], datetime]


def local_now() -> datetime:
    """Aware local time: times are shown in the zone of whatever the clock returns."""
    return datetime.now().astimezone()


class DbClock:
    """`clock()` is the database's now; `calibrate(db_now)` measures the offset of the local clock."""

    def __init__(self, base: Clock | None = None):
        self.injected = base is not None
        self.base: Clock = base or local_now
        self.offset = timedelta(0)

    def calibrate(self, db_now: datetime) -> None:
        if not self.injected:
            self.offset = db_now - self.base()

    def __call__(self) -> datetime:
        return self.base() + self.offset
