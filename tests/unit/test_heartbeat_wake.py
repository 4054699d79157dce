"""Which wakes make the heartbeat claim at once rather than after NEW_WORK_SPACING (no database)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.worker import Heartbeat


def _heartbeat() -> Any:
    return Heartbeat(SimpleNamespace(beat_seconds=1.0))  # type: ignore[arg-type]


def test_a_freeing_wake_is_urgent_only_while_a_queue_is_full():
    """Every finish of a queued workflow sends a freeing wake: while no queue's limits were reached it is claimed
    like new work (spaced while busy, so a claim takes a batch), and at once while one was full."""
    beat = _heartbeat()
    beat.wake(None)
    assert beat._poke.is_set() and not beat._urgent.is_set()
    beat._saturated = {"emails": beat._freeing_wakes}
    beat.wake(None)
    assert beat._urgent.is_set()


def test_new_work_in_a_full_queue_is_skipped_until_a_freeing_wake():
    beat = _heartbeat()
    beat._saturated = {"emails": beat._freeing_wakes}
    beat.wake("emails")
    assert not beat._poke.is_set()
    beat.wake(None)
    beat._poke.clear()
    beat.wake("emails")
    assert beat._poke.is_set()
