"""Test helpers: wait for a condition without sleeping for seconds, and run real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.conftest import ROOT

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def runs(directory: Path, name: str) -> list[int]:
    """The attempts of step `name` that ran in worker processes, in order."""
    path = directory / name
    return [int(line) for line in path.read_text().split()] if path.exists() else []


class Worker:
    """A worker subprocess (`tests.worker_app` unless told otherwise): a real worker a test can SIGKILL."""

    def __init__(
        self,
        database_url: str,
        schema: str,
        executor_id: str,
        directory: Path,
        module: str = "tests.worker_app",
        **env: str,
    ):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, database_url, schema, executor_id, str(directory)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        )
        self.executor_id = executor_id
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "ready":
            self.proc.kill()
            raise AssertionError(f"worker did not start: {line}{self.proc.stderr.read() if self.proc.stderr else ''}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
