"""Messages, events and streams from anywhere: what `Engine` and `Control` both offer, written once.

A process with no workflow code (the CLI, a web handler) sends a message, reads events and follows a stream.
Waiting here (`get_event`, `read_stream`) LISTENs on the events channel on a connection of its own, which
the row triggers of steps and workflows already feed: it reads again only when a notification names the
workflow it waits on, never on a timer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg

from engine.errors import WorkflowNotFound
from engine.feed import parse
from engine.records import EventRecord, StreamValue
from engine.serialization import dumps
from engine.store import Store, connect
from engine.store.session import listen
from engine.validation import check_name, check_number, check_workflow_id

MAX_TIMEOUT_SECONDS = 366 * 24 * 3600.0


class Watch:
    """A LISTEN on the events channel, on a connection of its own (`notifies()` holds its connection's lock)."""

    def __init__(self, store: Store):
        self.conn: psycopg.Connection[Any] = connect(store.url, application_name=store.application_name)
        listen(self.conn, store.events_channel)

    def wait_for(self, workflow_id: str, timeout: float | None) -> bool:
        """Block until a row of `workflow_id` changes (True) or `timeout` seconds pass (False)."""
        for note in self.conn.notifies(timeout=timeout):
            event = parse(note.payload)
            if event is not None and event.id == workflow_id:
                return True
        return False

    def close(self) -> None:
        self.conn.close()


class Messaging:
    def __init__(self, store: Store):
        self._store = store
        self._messages = store.messages

    def _exists(self, workflow_id: str) -> str:
        check_workflow_id(workflow_id)
        if self._store.runtime.workflow_state(workflow_id) is None:
            raise WorkflowNotFound(f"no workflow with id {workflow_id!r}")
        return workflow_id

    def send(
        self, workflow_id: str, message: Any, topic: str | None = None, idempotency_key: str | None = None
    ) -> bool:
        """Send `message` to a workflow's `recv` (on `topic`); False when `idempotency_key` was used before for it."""
        wid = check_workflow_id(workflow_id)
        subject = "" if topic is None else check_name(topic, "a topic")
        key = None if idempotency_key is None else check_name(idempotency_key, "an idempotency key")
        value = dumps(message, f"message to workflow {wid!r}")
        found, sent = self._messages.send(wid, subject, value, key)
        if not found:
            raise WorkflowNotFound(f"no workflow with id {wid!r} to send a message to")
        return sent

    def get_event(self, workflow_id: str, key: str, timeout_seconds: float = 60.0) -> Any:
        """The latest value of a workflow's event `key`; waits up to `timeout_seconds` for it, then None.
        The workflow need not exist yet: one started meanwhile is waited for."""
        wid, name = check_workflow_id(workflow_id), check_name(key, "an event key")
        timeout = check_number(timeout_seconds, "timeout_seconds", 0, MAX_TIMEOUT_SECONDS)
        found, value = self._messages.latest_event(wid, name)
        if found or timeout == 0:
            return value
        deadline = time.monotonic() + timeout
        watch = Watch(self._store)
        try:
            while True:
                found, value = self._messages.latest_event(wid, name)  # again: it may have come before the LISTEN
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return value
                watch.wait_for(wid, left)
        finally:
            watch.close()

    def get_events(self, workflow_id: str) -> dict[str, Any]:
        """Every event of a workflow, by key, with its latest value."""
        return {e.key: e.value for e in self.events(workflow_id)}

    def events(self, workflow_id: str) -> list[EventRecord]:
        return self._messages.events(self._exists(workflow_id))

    def streams(self, workflow_id: str) -> list[StreamValue]:
        """The newest values of each stream of a workflow, by key then position (a close is a row too)."""
        return self._messages.streams(self._exists(workflow_id))

    def messages_waiting(self, workflow_id: str) -> dict[str, int]:
        """How many sent messages no `recv` has consumed yet, by topic ('' for none)."""
        return self._messages.messages_waiting(self._exists(workflow_id))

    def read_stream(self, workflow_id: str, key: str) -> Iterator[Any]:
        """Each value of a workflow's stream once, in order, from the first, as it is written; ends when the
        stream is closed or the workflow ends (or is deleted). A late reader still gets every value."""
        wid, name = self._exists(workflow_id), check_name(key, "a stream key")
        return self._follow(wid, name)

    def stream_values(self, workflow_id: str, key: str) -> list[Any]:
        """The values of a stream written so far, in order (up to its close), without waiting."""
        page = self._messages.stream_after(self._exists(workflow_id), check_name(key, "a stream key"), 0)
        return [value for _, value in page.values]

    def _follow(self, workflow_id: str, key: str) -> Iterator[Any]:
        watch = Watch(self._store)
        after = 0
        try:
            while True:
                page = self._messages.stream_after(workflow_id, key, after)
                for step_id, value in page.values:
                    after = step_id
                    yield value
                if page.closed or page.status is None or page.status.final:
                    return
                watch.wait_for(workflow_id, None)
        finally:
            watch.close()
