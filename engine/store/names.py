"""The names the store derives from a schema: checked once, so they can be written into SQL as they are."""

from __future__ import annotations

import re

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


def check_schema_name(schema: str) -> str:
    """A plain lower-case identifier: it goes into statement text, so nothing else may pass."""
    if not SCHEMA_NAME.match(schema):
        raise ValueError(f"schema name {schema!r} must match {SCHEMA_NAME.pattern}")
    return schema


def events_channel(schema: str) -> str:
    """Row changes of workflows, steps, attempts, executors and faults: the dashboard listens here."""
    return f"{schema}_events"


def control_channel(schema: str) -> str:
    """Operations for workers: cancel, retry now, wake, faults changed, crash."""
    return f"{schema}_control"
