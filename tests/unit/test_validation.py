"""What a person types is checked before it reaches the database: one readable line, never a driver error."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import DurableError, InvalidInput
from engine.validation import (
    CONTROL_CHARACTERS,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    check_filter,
    check_name,
    check_number,
    check_text,
    check_workflow_id,
)


def test_invalid_input_is_a_durable_error_and_a_value_error() -> None:
    assert issubclass(InvalidInput, DurableError) and issubclass(InvalidInput, ValueError)


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "a workflow id must not be empty"),
        ("a\x00b", "a workflow id must not contain a NUL byte (\\x00)"),
        ("a\nb", "a workflow id must not contain control characters (newline, tab, escape, ...)"),
        ("a\udc80", "a workflow id is not valid Unicode text (it holds a lone surrogate)"),
        ("x" * (MAX_ID_LENGTH + 1), f"a workflow id is {MAX_ID_LENGTH + 1} characters long; the limit is 256"),
        (42, "a workflow id must be text, not int"),
    ],
)
def test_bad_workflow_ids_get_one_line(value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_workflow_id(value)
    assert str(caught.value) == message


def test_limits_are_inclusive() -> None:
    assert check_workflow_id("x" * MAX_ID_LENGTH) == "x" * MAX_ID_LENGTH
    assert check_name("n" * MAX_NAME_LENGTH, "a step name") == "n" * MAX_NAME_LENGTH
    with pytest.raises(InvalidInput, match="a step name is 257"):
        check_name("n" * (MAX_NAME_LENGTH + 1), "a step name")


def test_filters_may_be_absent_and_text_may_be_empty() -> None:
    assert check_filter(None, "a name filter") is None and check_filter("", "a name filter") == ""
    assert check_text("", "a fault message") == "" and check_text("two\nlines", "a message") == "two\nlines"
    with pytest.raises(InvalidInput, match="NUL"):
        check_filter("\x00", "an id search")


@pytest.mark.parametrize("value", [math.nan, math.inf, -1, 11, True, "3"])
def test_numbers_out_of_range_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="must be a number from 0 to 10"):
        check_number(value, "delay_seconds", 0, 10)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.text(max_size=MAX_ID_LENGTH + 20))
def test_any_text_is_accepted_or_refused_with_one_line(value: str) -> None:
    try:
        assert check_workflow_id(value) == value
    except InvalidInput as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 120
        assert value == "" or CONTROL_CHARACTERS.search(value) or len(value) > MAX_ID_LENGTH
    else:
        assert value and not CONTROL_CHARACTERS.search(value) and len(value) <= MAX_ID_LENGTH
