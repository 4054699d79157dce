"""Checks on what a person types (a workflow id, a workflow or step name) before it reaches the database.

Postgres `text` cannot hold a NUL byte (psycopg raises a raw `DataError` mid-statement), an id longer
than anyone can read is a mistake, not a key, and a newline or an escape in an id or a name would break
every table and one-line message that shows it: each gets one readable `InvalidInput` line instead. Values
only ever travel to SQL as bound parameters; these checks are about clear errors, not about quoting.
"""

from __future__ import annotations

import re

from engine.errors import InvalidInput

MAX_ID_LENGTH = 256
"""The longest workflow id accepted, in characters."""
MAX_NAME_LENGTH = 256
"""The longest workflow or step name accepted, in characters."""


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _check(value: object, what: str, limit: int, controls: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    if not value:
        raise InvalidInput(f"{what} must not be empty")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain a NUL byte (\\x00)")
    if not controls and CONTROL_CHARACTERS.search(value):
        raise InvalidInput(f"{what} must not contain control characters (newline, tab, escape, ...)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode text (it holds a lone surrogate)") from None
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters long; the limit is {limit}")
    return value


def check_workflow_id(value: object) -> str:
    """A workflow id: non-empty text without NUL, at most MAX_ID_LENGTH characters."""
    return _check(value, "a workflow id", MAX_ID_LENGTH)


def check_name(value: object, what: str = "a name") -> str:
    """A workflow or step name: non-empty text without NUL, at most MAX_NAME_LENGTH characters."""
    return _check(value, what, MAX_NAME_LENGTH)


def check_text(value: object, what: str, limit: int = 10_000) -> str:
    """Free text stored as it is (a fault's message): no NUL byte, a generous limit; may be empty."""
    if isinstance(value, str) and not value:
        return value
    return _check(value, what, limit, controls=True)


def check_filter(value: str | None, what: str, limit: int = MAX_ID_LENGTH) -> str | None:
    """A filter or search term: absent or empty means no filter; else no NUL byte and at most `limit`."""
    return _check(value, what, limit) if value else value


def check_number(value: float, what: str, low: float, high: float) -> float:
    """A number within [low, high]: NaN, infinities and values out of range are refused with one line."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a number from {_show(low)} to {_show(high)}, not {value!r}")
    return value


def _show(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)
