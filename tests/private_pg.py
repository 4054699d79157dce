"""A private Postgres in a temporary directory that a test may stop, crash and restart at will.

Never the machine's shared server: restarting that one would break every other test running on it. The
binaries are those `engine/embedded.py` uses (initdb/pg_ctl from PATH, else pgserver's bundled ones), run
as the `postgres` user when we are root. It listens only on a unix socket in its own directory.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from engine.embedded import _as_server_owner, _find

SPEED = "-c fsync=off -c full_page_writes=off -c max_connections=300"
"""No fsync: an immediate stop loses nothing the kernel has, and only an OS crash would lose more."""


def _binary(tool: str) -> str:
    found = _find(tool)
    if found:
        return found
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise RuntimeError(f"no {tool}: install Postgres binaries or pgserver") from None
    return str(POSTGRES_BIN_PATH / tool)


class PrivatePostgres:
    """One server in a fresh temporary directory. `passwords`: every role but `postgres` logs in with scram."""

    def __init__(self, passwords: bool = False):
        self.pgdata = Path(tempfile.mkdtemp(prefix="durable-pg-"))
        self.port = random.randint(20000, 60000)
        self.as_owner = _as_server_owner(self.pgdata)
        self.pg_ctl = _binary("pg_ctl")
        self._run([_binary("initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-N"])
        if passwords:
            hba = "local all postgres trust\nlocal all all scram-sha-256\n"
            (self.pgdata / "pg_hba.conf").write_text(hba)
        self.start()

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.as_owner, *command], capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        return done

    def url(self, user: str = "postgres", password: str | None = None, dbname: str = "postgres") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@/{dbname}?host={self.pgdata}&port={self.port}"

    def start(self) -> None:
        options = f"-k {self.pgdata} -c listen_addresses='' -p {self.port} {SPEED}"
        log = str(self.pgdata / "server.log")
        self._run([self.pg_ctl, "-D", str(self.pgdata), "-l", log, "-o", options, "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session and checkpoints; `immediate` is a crash (recovery at the next start)."""
        self._run([self.pg_ctl, "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self, mode: str = "fast", down_seconds: float = 0.0) -> None:
        self.stop(mode)
        if down_seconds > 0:
            time.sleep(down_seconds)
        self.start()

    def execute(self, statement: str) -> None:
        """Administration as the superuser (roles, grants)."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def close(self) -> None:
        self._run([self.pg_ctl, "-D", str(self.pgdata), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self.pgdata, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
