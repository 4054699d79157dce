"""`durable-tui serve`: the same dashboard in a web browser (textual-serve), read-only by default.

textual-serve starts one dashboard process per browser tab and relays its screen over a websocket, so
the data flow is the terminal's (LISTEN feed, paged reads, one clock). The database URL reaches those
processes through the environment, never their command line (where `ps` would show a password).
"""

from __future__ import annotations

import os
import shlex
import sys

from engine.config import DEFAULT_SCHEMA, ENV_URL


def dashboard_command(schema: str, read_only: bool) -> str:
    """The command each browser tab runs: this Python, this package, the terminal dashboard."""
    argv = [sys.executable, "-m", "tui.cli", "--schema", schema]
    return shlex.join([*argv, "--read-only"] if read_only else argv)


def serve_dashboard(
    database_url: str | None,
    *,
    schema: str = DEFAULT_SCHEMA,
    host: str = "127.0.0.1",
    port: int = 8000,
    read_only: bool = True,
) -> int:
    from textual_serve.server import Server

    if database_url:
        os.environ[ENV_URL] = database_url
    mode = "read-only" if read_only else "with operations"
    Server(dashboard_command(schema, read_only), host=host, port=port, title=f"durable-tui ({mode})").serve()
    return 0
