"""The dev worker's status, as a small JSON file in the data directory, and what the dashboard reads it by.

The supervisor and each worker write it (atomically: a temporary file renamed over it); the dashboard
reads it through a `DevSession`, never through the database: an import error happens before there is
any worker to register anywhere. States: `starting` (a worker is being started, `reason` says why),
`ready`, `error` (`file`, `line`, `message`: the code did not import, or the worker could not start)
and `stopped`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUS_NAME = "dev-status.json"
LOG_NAME = "dev-worker.log"


@dataclass(frozen=True)
class DevStatus:
    state: str
    reason: str = ""
    file: str | None = None
    line: int | None = None
    message: str = ""
    executor_id: str | None = None
    pid: int | None = None
    code_version: str | None = None
    workflows: list[str] = field(default_factory=list)
    at: float = 0.0

    @property
    def where(self) -> str:
        """`flows.py:12` (relative to the current directory when under it), or empty."""
        if not self.file:
            return ""
        name = self.file
        with contextlib.suppress(ValueError):
            name = os.path.relpath(self.file) if Path(self.file).is_relative_to(Path.cwd()) else self.file
        return f"{name}:{self.line}" if self.line else name


def write_status(path: Path, status: DevStatus) -> None:
    data = {**asdict(status), "at": status.at or time.time()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def read_status(path: Path) -> DevStatus | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return DevStatus(**data)
    except (OSError, ValueError, TypeError):
        return None


def error_status(exc: BaseException, watched: list[Path], reason: str) -> DevStatus:
    """Where the error is in the user's code: a SyntaxError names its own file and line; otherwise the
    innermost frame in a watched directory (the line that raised while importing), else the innermost."""
    message = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, SyntaxError) and exc.filename:
        message = f"{type(exc).__name__}: {exc.msg}"
        return DevStatus("error", reason, exc.filename, exc.lineno, message)
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if any(Path(f.filename).is_relative_to(d) for d in watched)]
    candidates = ours or frames
    if not candidates:
        return DevStatus("error", reason, message=message)
    return DevStatus("error", reason, candidates[-1].filename, candidates[-1].lineno, message)


class DevSession:
    """What the dashboard of a dev loop knows of it: where the status file and the worker's log are.

    `status()` re-reads the file only when it changed (a stat per call), so a banner may poll it often.
    """

    def __init__(self, status_path: Path, log_path: Path, watched: list[Path]):
        self.status_path = status_path
        self.log_path = log_path
        self.watched = watched
        self._stamp: tuple[int, int] | None = None
        self._status: DevStatus | None = None

    def status(self) -> DevStatus | None:
        try:
            st = self.status_path.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_ino)
        if stamp != self._stamp:
            self._stamp, self._status = stamp, read_status(self.status_path)
        return self._status
