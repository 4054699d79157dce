"""Which database a process uses: an explicit URL, else `$DURABLE_DATABASE_URL`, else the embedded Postgres.

Apart from `config` so that the embedded Postgres (which names the settings in its messages) and the
resolution (which may start it) import each other in one direction only.
"""

from __future__ import annotations

import os

from engine.config import ENV_URL, data_dir
from engine.embedded import embedded_url


def resolve_database_url(database_url: str | None = None) -> str:
    """An explicit URL wins, then `$DURABLE_DATABASE_URL`, then the embedded Postgres (started if needed)."""
    if database_url:
        return database_url
    return os.environ.get(ENV_URL) or embedded_url(data_dir())
