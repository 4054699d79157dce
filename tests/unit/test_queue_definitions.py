"""A queue's definition is checked where it is written: bad limits are one readable line."""

from __future__ import annotations

import pytest

from engine import Queue
from engine.errors import InvalidInput
from engine.queues import QUEUES


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency must be a whole number of at least 1"),
        ({"worker_concurrency": 2.5}, "worker_concurrency must be a whole number"),
        ({"limiter": {"limit": 5}}, "a limiter is"),
        ({"limiter": {"limit": "5", "period": 1.0}}, "a limiter's limit must be a whole number"),
        ({"limiter": {"limit": 5, "period": 0}}, "a limiter's period must be a number"),
    ],
)
def test_bad_limits_are_refused_in_one_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Queue("unit.bad", **kwargs)  # type: ignore[arg-type]
    assert "unit.bad" not in QUEUES


def test_a_queue_registers_its_definition() -> None:
    queue = Queue("unit.good", concurrency=3, limiter={"limit": 10, "period": 2}, priority_enabled=True)
    try:
        assert QUEUES["unit.good"] is queue
        d = queue.definition
        assert (d.concurrency, d.worker_concurrency, d.rate_limit, d.rate_period) == (3, None, 10, 2.0)
        assert d.priority_enabled and not d.partitioned
    finally:
        QUEUES.pop("unit.good")
