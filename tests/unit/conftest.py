"""Unit tests need no database: any attempt to connect fails the test at once, even when Postgres is up.

The fixtures of `tests/conftest.py` that reach Postgres (`database_url`, `schema`, `engine`, `control`...)
are never requested here, so the session's database start is never triggered.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a unit test tried to connect to a database")


@pytest.fixture(autouse=True)
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psycopg.Connection, "connect", _refuse)
    monkeypatch.setattr(psycopg.AsyncConnection, "connect", _refuse)
