"""The `main` of the test worker processes: `python -m tests.<module> URL SCHEMA EXECUTOR_ID DIR`."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from engine import Engine


def serve(set_dir: Callable[[Path], None]) -> None:
    """Run an Engine with fast heartbeats until SIGTERM; print "ready" once it is launched."""
    url, schema, executor_id, directory = sys.argv[1:5]
    set_dir(Path(directory))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    auto = os.environ.get("AUTO_RECOVER", "1") == "1"
    with Engine(url, executor_id, schema=schema, heartbeat_seconds=0.1, lease_seconds=1.0, auto_recover=auto):
        print("ready", flush=True)
        stop.wait()
