"""The embedded Postgres: one server per data directory, shared by every process started there.

pgserver (a PyPI wheel with Postgres binaries) is preferred; where it has no build, `initdb` and
`pg_ctl` from PATH do the same job; failing both, one clear error says how to point at a database.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
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
    runtime = pgdata.parent / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # platformdirs warns when it is unset or shared
    import pgserver  # noqa: PLC0415  (optional: no wheel for every platform)

    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:
        raise DatabaseUnavailable(
            f"could not start the embedded Postgres in {pgdata}: {exc}. Set ${ENV_URL} to use another one."
        ) from None
    return str(server.get_uri())


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
    as_owner = _as_server_owner(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        _run([*as_owner, initdb, "-D", str(pgdata), "-U", "postgres", "--auth=trust"])
    status = subprocess.run([*as_owner, pg_ctl, "-D", str(pgdata), "status"], capture_output=True)
    if status.returncode != 0:
        options = f"-k {pgdata} -c listen_addresses='' -p {SOCKET_PORT}"
        _run([*as_owner, pg_ctl, "-D", str(pgdata), "-l", str(pgdata / "server.log"), "-o", options, "-w", "start"])
    return f"postgresql://postgres@/postgres?host={pgdata}&port={SOCKET_PORT}"


def _as_server_owner(pgdata: Path) -> list[str]:
    """Postgres refuses to run as root: as root, run it as the `postgres` user, which then owns pgdata."""
    pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        owner = None
    if not (runuser and owner):
        raise DatabaseUnavailable(f"Postgres cannot run as root and there is no 'postgres' user; set ${ENV_URL}")
    os.chown(pgdata, owner.pw_uid, owner.pw_gid)
    os.chmod(pgdata, 0o700)
    return [runuser, "-u", "postgres", "--"]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise DatabaseUnavailable(f"could not start the embedded Postgres: {reason[-1] if reason else done.returncode}")


@dataclass(frozen=True)
class EmbeddedStatus:
    """The embedded Postgres of a data directory as seen from outside, without starting it: `pgdata` is
    None when none was ever created there; `pid` and `url` are None when it is not running."""

    data_dir: Path
    pgdata: Path | None
    pid: int | None
    url: str | None
    size_bytes: int


def embedded_status(data_dir: Path) -> EmbeddedStatus:
    for sub in (PGSERVER_DIR, PLAIN_DIR):
        pgdata = data_dir / sub
        if (pgdata / "PG_VERSION").exists():
            pid = _postmaster_pid(pgdata)
            url = _running_url(pgdata) if pid is not None else None
            return EmbeddedStatus(data_dir, pgdata, pid, url, _size(pgdata))
    return EmbeddedStatus(data_dir, None, None, None, 0)


def _running_url(pgdata: Path) -> str | None:
    """The URL of a running server, from its postmaster.pid (line 4: port, line 5: socket directory)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        port, socket_dir = lines[3].strip(), lines[4].strip()
    except (OSError, IndexError):
        return None
    return f"postgresql://postgres@/postgres?host={socket_dir}&port={port}"


def _size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def running_pid(data_dir: Path) -> int | None:
    """The pid of the embedded Postgres serving `data_dir`, if one runs."""
    for sub in (PGSERVER_DIR, PLAIN_DIR):
        pid = _postmaster_pid(data_dir / sub)
        if pid is not None:
            return pid
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process (pgserver runs its postmaster as its own user when root): alive
    return True


def stop_server(pid: int, timeout: float = 10.0) -> bool:
    """Fast shutdown, as `pg_ctl stop -m fast` does it: SIGINT to the postmaster, then wait for it to go.
    True once it is gone (sessions are ended, their transactions rolled back; nothing committed is lost)."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)
