"""One dev worker process: import the application's modules, launch an Engine, run until SIGINT/SIGTERM.

Every worker of a loop takes the same executor id, so at launch it claims the workflows its predecessor
left PENDING and replays them under the code it has now: a saved fix rescues a workflow stuck retrying.
A module that fails to import is reported in the status file (file, line, message) and in the log, and
the process exits 1: the supervisor waits for the next save instead of restarting it in a loop.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from engine import Engine
from engine.database import resolve_database_url
from engine.errors import DurableError
from tui.dev.config import DevConfig
from tui.dev.status import DevStatus, error_status, write_status

SAVED_AT_ENV = "DURABLE_DEV_SAVED_AT"

log = logging.getLogger("durable.dev.worker")


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True)
    logging.getLogger("psycopg").setLevel(logging.WARNING)


def exit_with_parent() -> None:
    """Stop this process (as by SIGTERM) once its parent is gone, so nothing outlives a killed launcher."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="dev-parent-watch", daemon=True).start()


def import_targets(config: DevConfig) -> None:
    for target in config.targets:
        root = str(target.root)
        if root not in sys.path:
            sys.path.insert(0, root)
    for target in config.targets:
        importlib.import_module(target.module)


def user_traceback(exc: BaseException, config: DevConfig) -> str:
    """The traceback from the first frame in the user's code on (the import machinery above it is noise)."""
    frames: list[traceback.FrameSummary] = list(traceback.extract_tb(exc.__traceback__))
    ours = [i for i, f in enumerate(frames) if any(Path(f.filename).is_relative_to(d) for d in config.watch)]
    if ours:
        frames = frames[ours[0] :]
    elif isinstance(exc, SyntaxError):
        frames = []  # it names its own file and line, with a caret
    lines = traceback.format_list(frames)
    head = ["Traceback (most recent call last):\n"] if lines else []
    return "".join(head + lines + traceback.format_exception_only(exc)).rstrip()


def code_version(watched: tuple[Path, ...]) -> str:
    """A short hash of the imported modules' sources under the watched directories: the dashboard's
    Workers screen shows it change when a save reloads the worker."""
    files = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if name and any(Path(name).is_relative_to(d) for d in watched):
            files.add(Path(name))
    digest = hashlib.sha1()
    for path in sorted(files):
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()[:8]


def _run_setup(spec: str, url: str) -> None:
    module, _, function = spec.partition(":")
    getattr(importlib.import_module(module), function)(url)


def serve(config: DevConfig, watch_parent: bool = True) -> None:
    """Run the loop's workflows until SIGINT or SIGTERM, then shut down within the grace."""
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if watch_parent:
        exit_with_parent()
    try:
        import_targets(config)
    except Exception as exc:
        status = error_status(exc, list(config.watch), "import")
        write_status(config.status_path, status)
        log.error("could not import %s\n%s", ", ".join(t.module for t in config.targets), user_traceback(exc, config))
        log.error("%s  %s: fix it and save; the worker starts again at the next save", status.where, status.message)
        raise SystemExit(1) from None
    try:
        url = resolve_database_url()
        if config.setup:
            _run_setup(config.setup, url)
        engine = Engine(url, config.executor_id, schema=config.schema, code_version=code_version(config.watch))
        engine.launch()
    except DurableError as exc:
        write_status(config.status_path, DevStatus("error", "launch", message=str(exc)))
        log.error("worker could not start: %s", exc)
        raise SystemExit(1) from None
    if not engine.workflow_names:
        log.warning("no @workflow is registered by %s", ", ".join(t.module for t in config.targets))
    write_status(
        config.status_path,
        DevStatus(
            "ready",
            executor_id=engine.executor_id,
            pid=os.getpid(),
            code_version=engine.code_version,
            workflows=list(engine.workflow_names),
        ),
    )
    log.info(
        "worker %s ready (pid %d, code %s)%s: %s",
        engine.executor_id,
        os.getpid(),
        engine.code_version,
        _since_save(),
        ", ".join(engine.workflow_names) or "no workflows",
    )
    while not stop.wait(0.5):
        pass
    _shutdown(engine, config.stop_grace)


def _since_save() -> str:
    saved_at = os.environ.get(SAVED_AT_ENV)
    return f", {time.time() - float(saved_at):.2f} s after the file was saved" if saved_at else ""


def _shutdown(engine: Engine, grace: float) -> None:
    """engine.shutdown(), bounded by `grace`: a step still running then is simply run again after the
    restart (as after a crash), which keeps a reload fast whatever the workflows are doing."""
    started = time.monotonic()
    stopper = threading.Thread(target=engine.shutdown, name="dev-shutdown", daemon=True)
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
