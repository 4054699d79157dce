"""`durable-tui db status|stop|url`: the embedded Postgres of the current directory, seen and stopped from a shell.

`status` and `stop` never start it (and never connect): they read its postmaster.pid. `url` prints the URL
the other commands would use (`--database-url`, `$DURABLE_DATABASE_URL`, else the embedded one, started if
needed), always without a password, so it can be pasted into `psql` or a log.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from engine.config import ENV_URL, data_dir
from engine.database import resolve_database_url
from engine.embedded import EmbeddedStatus, embedded_status, stop_server
from engine.errors import DurableError

UNITS = ("B", "kB", "MB", "GB", "TB")


def without_password(url: str) -> str:
    """The URL with any password removed, in the user's own form (URL or key=value); an unparseable
    one is refused rather than echoed."""
    try:
        info = conninfo_to_dict(url)
    except Exception:
        raise DurableError("the database URL cannot be parsed") from None
    if not url.startswith(("postgresql://", "postgres://")):
        info.pop("password", None)
        return make_conninfo(**{k: str(v) for k, v in info.items()})
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"], safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def human_size(n: int) -> str:
    size = float(n)
    for unit in UNITS:
        if size < 1024 or unit == UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _other_database(args: argparse.Namespace) -> str | None:
    given = getattr(args, "database_url", None) or os.environ.get(ENV_URL)
    return without_password(given) if given else None


def cmd_db_status(args: argparse.Namespace) -> int:
    status = embedded_status(data_dir())
    other = _other_database(args)
    if args.json:
        print_json({**_as_dict(status), "database_url_in_use": other})
        return 0
    print(f"data dir   {status.data_dir}")
    if status.pgdata is None:
        print("state      none: no embedded database was created here (the first command that needs one creates it)")
    elif status.pid is None:
        print(f"state      stopped ({status.pgdata})")
    else:
        print(f"state      running, pid {status.pid}")
        print(f"url        {status.url}")
    if status.pgdata is not None:
        print(f"size       {human_size(status.size_bytes)}")
    if other:
        print(f"note       commands here use {other} (--database-url or ${ENV_URL}), not this one")
    return 0


def cmd_db_stop(args: argparse.Namespace) -> int:
    status = embedded_status(data_dir())
    if status.pid is None:
        text = "not running" if status.pgdata else "no embedded database here"
        _report(args, {"action": "stop", "stopped": False, "pid": None}, f"{text}: nothing to stop")
        return 0
    if not stop_server(status.pid):
        raise DurableError(f"the embedded Postgres (pid {status.pid}) did not stop within 10 s")
    _report(
        args,
        {"action": "stop", "stopped": True, "pid": status.pid},
        f"stopped the embedded Postgres (pid {status.pid})",
    )
    return 0


def cmd_db_url(args: argparse.Namespace) -> int:
    url = without_password(resolve_database_url(getattr(args, "database_url", None)))
    if args.json:
        print_json({"url": url})
    else:
        print(url)
    return 0


def _report(args: argparse.Namespace, data: dict[str, object], text: str) -> None:
    if args.json:
        print_json(data)
    else:
        print(text)


def _as_dict(status: EmbeddedStatus) -> dict[str, object]:
    return {
        "data_dir": str(status.data_dir),
        "exists": status.pgdata is not None,
        "running": status.pid is not None,
        "pid": status.pid,
        "url": status.url,
        "size_bytes": status.size_bytes,
    }


def add_db_parser(sub: argparse._SubParsersAction[Any], leaf: Sequence[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="the embedded Postgres of this directory: status, stop, url")
    db_sub = db.add_subparsers(dest="command", metavar="ACTION", required=True)
    p = db_sub.add_parser("status", parents=list(leaf), help="running or not, its pid, size and URL (never starts it)")
    p.set_defaults(run_db=cmd_db_status)
    p = db_sub.add_parser("stop", parents=list(leaf), help="stop it cleanly (fast shutdown)")
    p.set_defaults(run_db=cmd_db_stop)
    p = db_sub.add_parser("url", parents=list(leaf), help="the database URL commands here use, without a password")
    p.set_defaults(run_db=cmd_db_url)
