"""Fault injection as a worker sees it: a cache of the fault rows, refreshed on NOTIFY.

A step attempt asks the cache, never the database, so faults cost no query on the hot path; only a
matching fault costs one statement, to take one of its uses atomically across workers.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timezone

from engine.errors import InjectedFault
from engine.records import FaultRecord
from engine.store.runtime import RuntimeStore

log = logging.getLogger("durable.faults")


def crash_now() -> None:
    """Die as from SIGKILL: no cleanup, no flush, no atexit."""
    os.kill(os.getpid(), signal.SIGKILL)


class FaultCache:
    def __init__(self, store: RuntimeStore, wait: Callable[[str, float], None]):
        self._store = store
        self._wait = wait
        self._lock = threading.Lock()
        self._by_step: dict[str, list[FaultRecord]] = {}

    def refresh(self) -> None:
        by_step: dict[str, list[FaultRecord]] = {}
        for fault in self._store.active_faults():
            by_step.setdefault(fault.step_name, []).append(fault)
        with self._lock:
            self._by_step = by_step

    def _matching(self, workflow_id: str, step_name: str, kinds: tuple[str, ...], phase: str) -> list[FaultRecord]:
        faults = self._by_step.get(step_name)
        if not faults:
            return []
        now = datetime.now(timezone.utc)
        return [
            f
            for f in faults
            if f.kind in kinds
            and f.phase == phase
            and (f.workflow_id in (None, workflow_id))
            and (f.expires_at is None or f.expires_at > now)
        ]

    def _take(self, fault: FaultRecord) -> bool:
        return fault.remaining is None and fault.kind == "delay" or self._store.consume_fault(fault.fault_id)

    def before_attempt(self, workflow_id: str, step_name: str) -> None:
        for fault in self._matching(workflow_id, step_name, ("delay", "fail", "crash"), "before"):
            if not self._take(fault):
                continue
            log.warning("fault %s (%s) hits %s/%s", fault.fault_id, fault.kind, workflow_id, step_name)
            if fault.kind == "delay":
                self._wait(workflow_id, fault.delay_seconds)
            elif fault.kind == "fail":
                raise InjectedFault(fault.message)
            else:
                crash_now()

    def after_checkpoint(self, workflow_id: str, step_name: str) -> None:
        for fault in self._matching(workflow_id, step_name, ("crash",), "after"):
            if self._take(fault):
                crash_now()
