"""The embedded Postgres: one server per data directory, shared by every process started there.

pgserver (a PyPI wheel with Postgres binaries) is preferred; where it has no build, `initdb` and
`pg_ctl` from PATH do the same job; failing both, one clear error says how to point at a database.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from engine.config import ENV_URL
from engine.errors import DatabaseUnavailable

log = logging.getLogger("durable.embedded")

PGSERVER_DIR = "pgdata"
PLAIN_DIR = "pgdata-local"
SOCKET_PORT = "5433"


def embedded_url(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _pgserver_url(data_dir / PGSERVER_DIR)
    except ImportError:
        log.info("pgserver is not installed; trying initdb/pg_ctl from PATH")
    return _pg_ctl_url(data_dir / PLAIN_DIR)


def _pgserver_url(pgdata: Path) -> str:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
    import pgserver  # noqa: PLC0415  (optional: no wheel for every platform)

    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:
        raise DatabaseUnavailable(
            f"could not start the embedded Postgres in {pgdata}: {exc}. Set ${ENV_URL} to use another one."
        ) from None
    return server.get_uri()


def _find(tool: str) -> str | None:
    found = shutil.which(tool)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), reverse=True):
        return str(candidate)
    return None


def _pg_ctl_url(pgdata: Path) -> str:
    initdb, pg_ctl = _find("initdb"), _find("pg_ctl")
    if not (initdb and pg_ctl):
        raise DatabaseUnavailable(
            "no embedded Postgres: pgserver is not installed and initdb/pg_ctl are not on PATH. "
            f"Set ${ENV_URL}, e.g. postgresql://user@localhost:5432/dbname"
        )
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run([initdb, "-D", str(pgdata), "-U", "postgres", "--auth=trust"], check=True,
                       capture_output=True)
    status = subprocess.run([pg_ctl, "-D", str(pgdata), "status"], capture_output=True)
    if status.returncode != 0:
        options = f"-k {pgdata} -c listen_addresses='' -p {SOCKET_PORT}"
        subprocess.run([pg_ctl, "-D", str(pgdata), "-l", str(pgdata / "server.log"), "-o", options, "-w",
                        "start"], check=True, capture_output=True)
    return f"postgresql://postgres@/postgres?host={pgdata}&port={SOCKET_PORT}"
