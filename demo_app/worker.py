"""The demo worker process: an Engine with the demo workflows, until SIGINT or SIGTERM.

A worker started after another keeps its executor id (default `local`, or $DURABLE_EXECUTOR_ID), so
at launch the engine claims the workflows its predecessor left PENDING and replays them under the
code it has now: that is how a fixed bug rescues a stuck workflow (see `demo_app.reload`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

import demo_app.workflows  # noqa: F401  (registers the demo workflows)
from demo_app import shop
from demo_app.settings import knob
from engine import Engine
from engine.config import resolve_database_url
from engine.errors import DurableError

PACKAGE_DIR = Path(__file__).resolve().parent
SAVED_AT_ENV = "DEMO_SAVED_AT"

log = logging.getLogger("demo.worker")


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True)
    logging.getLogger("psycopg").setLevel(logging.WARNING)


def code_version() -> str:
    """A short hash of the demo's source: the dashboard shows it change when the worker reloads."""
    digest = hashlib.sha1()
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:8]


def exit_with_parent() -> None:
    """Stop this process (as by SIGTERM) once its parent is gone, so nothing outlives a killed launcher."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="demo-parent-watch", daemon=True).start()


def serve(schema: str, watch_parent: bool = True) -> None:
    """One worker process: run the demo workflows until SIGINT or SIGTERM, then shut down cleanly."""
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if watch_parent:
        exit_with_parent()
    try:
        url = resolve_database_url()
        shop.setup(url)
        engine = Engine(url, schema=schema, code_version=code_version()).launch()
    except DurableError as exc:
        log.error("worker could not start: %s", exc)
        raise SystemExit(1) from None
    log.info(
        "worker %s ready (pid %d, code %s)%s: %s",
        engine.executor_id,
        os.getpid(),
        engine.code_version,
        _since_save(),
        ", ".join(engine.workflow_names),
    )
    while not stop.wait(0.5):
        pass
    _shutdown(engine)


def _since_save() -> str:
    saved_at = os.environ.get(SAVED_AT_ENV)
    return f", {time.time() - float(saved_at):.2f} s after the file was saved" if saved_at else ""


def _shutdown(engine: Engine) -> None:
    """engine.shutdown(), bounded by $DEMO_STOP_GRACE: a step still running then is simply run again
    after the restart (as after a crash), which keeps a reload fast whatever the workflows are doing."""
    grace = knob("DEMO_STOP_GRACE")
    started = time.monotonic()
    stopper = threading.Thread(target=engine.shutdown, name="demo-shutdown", daemon=True)
    stopper.start()
    stopper.join(grace)
    if stopper.is_alive():
        log.warning(
            "steps still running after %.1f s: exiting now; the next worker goes on from their last checkpoint", grace
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(0)
    log.info("worker stopped in %.2f s", time.monotonic() - started)
