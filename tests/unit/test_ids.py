"""New workflow ids are version-7 UUIDs: time first, so a new row goes to the same index pages as the last ones."""

from __future__ import annotations

import time
import uuid

from engine.ids import make_workflow_id

NOW_NS = 1_796_000_000_123_456_789


def test_an_id_is_a_version_7_uuid_that_carries_its_millisecond() -> None:
    parsed = uuid.UUID(make_workflow_id(NOW_NS))
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == NOW_NS // 1_000_000


def test_ids_sort_by_the_time_they_were_made_and_never_repeat() -> None:
    earlier, later = make_workflow_id(NOW_NS), make_workflow_id(NOW_NS + 1_000_000)
    assert earlier < later  # as text, as the primary key orders them
    same_millisecond = {make_workflow_id(NOW_NS) for _ in range(10_000)}
    assert len(same_millisecond) == 10_000


def test_a_default_id_is_made_now() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(make_workflow_id()).int >> 80
    assert before <= made <= time.time_ns() // 1_000_000
