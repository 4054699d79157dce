"""The event feed: what a live view (the dashboard) hears from the database, as parsed events.

A dedicated autocommit connection LISTENs on the events channel (psycopg's `notifies()` holds the
connection lock, so nothing else may use it). Notifications sent while it is disconnected are lost, so
after every reconnect the feed yields `FeedStatus(connected=True, reconnected=True)`: the consumer must
then re-read whatever it shows. Payloads that are not the triggers' JSON are logged and skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg

from engine.store.connection import CONNECT_TIMEOUT, failure_reason
from engine.store.session import listen_async, ping_async

log = logging.getLogger("durable.feed")

KINDS = ("w", "s", "e", "f", "c")
WITHOUT_ID = ("f", "c")


@dataclass(frozen=True)
class Event:
    """One row change: kind `w` workflow, `s` step (with its attempt count), `e` executor, `f` faults, `c` schedules."""

    kind: str
    id: str | None = None
    status: str | None = None
    step: int | None = None
    attempt: int | None = None


@dataclass(frozen=True)
class FeedStatus:
    """The feed's connection changed: down (with the reason), or up again after a loss."""

    connected: bool
    reconnected: bool = False
    reason: str = ""


def parse(payload: str) -> Event | None:
    """The event of one trigger payload, or None when it is not one (garbage is never fatal)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("t") not in KINDS:
        return None
    wid, status, step, n = data.get("id"), data.get("s"), data.get("step"), data.get("n")
    if data["t"] not in WITHOUT_ID and not isinstance(wid, str):
        return None
    if not (status is None or isinstance(status, str)) or not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (step, n)
    ):
        return None
    return Event(data["t"], wid, status, step, n)


class EventFeed:
    """`async for item in feed.events()` yields `Event`s and `FeedStatus` changes, forever.

    `ping_seconds`: how long the connection may stay silent before a `SELECT 1` checks it is alive
    (a dead peer that never closed the socket is noticed within about this time).
    """

    def __init__(
        self,
        database_url: str,
        channel: str,
        *,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
        ping_seconds: float = 5.0,
    ):
        self.database_url = database_url
        self.channel = channel
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.ping_seconds = ping_seconds
        self.garbage = 0

    async def events(self) -> AsyncIterator[Event | FeedStatus]:
        delay = self.min_backoff
        first = True
        down_reported = False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
            except (psycopg.Error, OSError) as exc:
                if not down_reported:
                    down_reported = True
                    yield FeedStatus(False, reason=failure_reason(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            try:
                await listen_async(conn, self.channel)
                yield FeedStatus(True, reconnected=not first)
                first, down_reported, delay = False, False, self.min_backoff
                while True:
                    async for note in conn.notifies(timeout=self.ping_seconds):
                        event = parse(note.payload)
                        if event is None:
                            self.garbage += 1
                            log.warning("ignored a notification that is not an event: %.200r", note.payload)
                            continue
                        yield event
                    await ping_async(conn)
            except (psycopg.Error, OSError) as exc:
                down_reported = True
                yield FeedStatus(False, reason=failure_reason(exc))
            finally:
                await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)
