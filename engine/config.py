"""The settings read from the environment, and how to name a database to a person without leaking its password."""

from __future__ import annotations

import os
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

ENV_URL = "DURABLE_DATABASE_URL"
ENV_EXECUTOR = "DURABLE_EXECUTOR_ID"
ENV_DATA_DIR = "DURABLE_DATA_DIR"
ENV_SCHEMA = "DURABLE_SCHEMA"
DEFAULT_EXECUTOR_ID = "local"
DEFAULT_SCHEMA = os.environ.get(ENV_SCHEMA) or "durable"
"""The schema every process uses unless told otherwise: `$DURABLE_SCHEMA`, else `durable`."""


def data_dir() -> Path:
    """The embedded database lives here: `$DURABLE_DATA_DIR`, else `./.durable` of the current directory."""
    return Path(os.environ.get(ENV_DATA_DIR) or Path.cwd() / ".durable").resolve()


def resolve_executor_id(executor_id: str | None = None) -> str:
    return executor_id or os.environ.get(ENV_EXECUTOR) or DEFAULT_EXECUTOR_ID


def describe_url(url: str) -> str:
    """`user@host:port/db` for banners and error messages; the password is never part of it."""
    try:
        info = conninfo_to_dict(url)
    except Exception:
        return "<unparseable database url>"
    host = str(info.get("host") or "localhost")
    if host.startswith("/"):
        host = f"socket {host}"
    port = info.get("port")
    user = info.get("user")
    where = f"{host}:{port}" if port else host
    who = f"{user}@" if user else ""
    return f"{who}{where}/{info.get('dbname') or ''}"
