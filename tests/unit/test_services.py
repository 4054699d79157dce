"""Supervised background services: none dies silently (no database)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from engine.services import Service
from engine.worker import Finisher
from tests.helpers import wait_for


class Flaky(Service):
    def __init__(self) -> None:
        super().__init__("flaky")
        self.calls = 0
        self.healthy = threading.Event()

    def run(self) -> None:
        self.calls += 1
        if self.calls < 3:
            raise RuntimeError(f"boom {self.calls}")
        self.healthy.set()
        self._stop.wait()


def test_a_failing_service_is_logged_and_restarted(caplog):
    caplog.set_level(logging.ERROR, logger="durable.worker")
    service = Flaky()
    service.start()
    assert service.healthy.wait(5)
    service.stop()
    assert service.restarts == 2 and not service.alive
    assert "flaky failed; restarting it" in caplog.text and "boom 1" in caplog.text


class FakeStore:
    def __init__(self, fail: bool = False):
        self.fail = fail
        self.batches: list[list[Any]] = []

    def finish_workflows(self, executor_id: str, records: list[Any]) -> None:
        if self.fail:
            raise ConnectionError("down")
        self.batches.append(records)


def test_the_finisher_outlives_a_failing_callback():
    finisher = Finisher(FakeStore(), "me", lambda ids: None)  # type: ignore[arg-type]
    finisher.start()
    committed: list[bool] = []

    def broken(ok: bool) -> None:
        raise RuntimeError("callback failed")

    finisher.submit(("a", "SUCCESS", "1", None), broken)
    finisher.submit(("b", "SUCCESS", "1", None), committed.append)
    wait_for(lambda: committed == [True])
    assert finisher.alive
    finisher.stop()


def test_an_outcome_that_cannot_be_committed_is_stranded_not_reported():
    stranded: list[str] = []
    finisher = Finisher(FakeStore(fail=True), "me", stranded.extend)  # type: ignore[arg-type]
    finisher.start()
    committed: list[bool] = []
    finisher.submit(("a", "SUCCESS", "1", None), committed.append)
    wait_for(lambda: committed == [False])
    assert stranded == ["a"]
    finisher.stop()
