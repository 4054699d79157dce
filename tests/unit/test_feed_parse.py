"""Feed payloads: the triggers' JSON becomes events; anything else is None, never an exception."""

from __future__ import annotations

import pytest

from engine.feed import Event, parse


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        ('{"t":"w","id":"a","s":"PENDING"}', Event("w", "a", "PENDING")),
        ('{"t":"w","id":"a","s":"DELETED"}', Event("w", "a", "DELETED")),
        ('{"t":"s","id":"a","step":3,"s":"WAITING_RETRY","n":2}', Event("s", "a", "WAITING_RETRY", 3, 2)),
        ('{"t":"e","id":"exec-1"}', Event("e", "exec-1")),
        ('{"t":"f"}', Event("f")),
    ],
)
def test_trigger_payloads_become_events(payload: str, event: Event) -> None:
    assert parse(payload) == event


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not json",
        "[1, 2]",
        '"w"',
        '{"t":"x","id":"a"}',
        '{"id":"a"}',
        '{"t":"w"}',
        '{"t":"w","id":7}',
        '{"t":"s","id":"a","step":"3"}',
        '{"t":"s","id":"a","step":true}',
        '{"t":"s","id":"a","n":1.5}',
        '{"t":"w","id":"a","s":["PENDING"]}',
    ],
)
def test_garbage_is_none(payload: str) -> None:
    assert parse(payload) is None
