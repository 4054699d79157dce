"""The load generator: queue demo workflows at a steady rate, with ids a person can read and say.

It queues through `Control` (the database URL is all it needs), so whichever live worker registers
the workflow runs it; it registers no executor and runs nothing itself.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg

from demo_app import CHECKOUT, PIPELINE, REFUND
from demo_app.settings import knob
from demo_app.shop import CATALOG
from engine import Control, WorkflowNotFound
from engine.store.connection import failure_reason

log = logging.getLogger("demo.load")

KINDS = ("mix", "order", "pipeline")
PIPELINE_EVERY = 6
REFUND_EVERY = 10
APPROVERS = ["Ada", "Grace", "Barbara", "Margaret"]
UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}
RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:/\s*([a-z]+))?\s*$")

CUSTOMERS = [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Ken Thompson",
    "Frances Allen",
    "John Backus",
]
COUNTRIES = ["DE", "FR", "NL", "SE", "US", "GB", "DE", "FR", "NL"]
BUGGY_COUNTRY = "NO"


def parse_rate(text: str) -> float:
    """Workflows per second from `5/s`, `30/min`, `0.5/s` or a bare number (per second)."""
    match = RATE.match(text.lower())
    unit = match and (match.group(2) or "s")
    if not match or unit not in UNITS or float(match.group(1)) <= 0:
        raise ValueError(f"rate must look like 5/s, 30/min or 2 (a positive number per second), not {text!r}")
    return float(match.group(1)) / UNITS[unit]


def make_order(n: int) -> dict[str, Any]:
    """Order number n, the same every time; one in ten ships to Norway and meets the tax bug."""
    rng = random.Random(f"order-{n}")
    customer = rng.choice(CUSTOMERS)
    skus = rng.sample(sorted(CATALOG), rng.randint(1, 3))
    return {
        "id": f"order-{n:04d}",
        "customer": customer,
        "email": customer.lower().replace(" ", ".") + "@example.com",
        "country": BUGGY_COUNTRY if n % 10 == 7 else rng.choice(COUNTRIES),
        "items": {sku: rng.randint(1, 2) for sku in skus},
    }


def make_batch(n: int) -> dict[str, Any]:
    rng = random.Random(f"pipeline-{n}")
    return {
        "id": f"pipeline-{n:04d}",
        "day": (date(2026, 1, 1) + timedelta(days=n)).isoformat(),
        "rows": rng.randint(8_000, 60_000),
    }


def make_refund(n: int) -> dict[str, Any]:
    rng = random.Random(f"refund-{n}")
    return {
        "id": f"refund-{n:04d}",
        "order": f"order-{rng.randint(1, 10 * n):04d}",
        "amount": rng.randint(500, 12000) / 100,
    }


def answer_later(control: Control, workflow_id: str) -> threading.Timer | None:
    """A person answers the refund request after a while (a message to its `recv`), or never: the request then
    times out. Reproducible per id; the idempotency key makes a repeated answer a no-op."""
    rng = random.Random(f"answer-{workflow_id}")
    if rng.random() < knob("DEMO_APPROVAL_SILENCE"):
        return None
    answer = {"approved": rng.random() > 0.15, "by": rng.choice(APPROVERS)}

    def send() -> None:
        try:
            control.send(workflow_id, answer, topic="approval", idempotency_key=f"{workflow_id}-answer")
        except Exception as exc:  # the demo stopped, the database restarts: this answer is lost
            log.warning("could not answer %s: %s", workflow_id, exc)

    timer = threading.Timer(rng.uniform(1.0, max(1.0, knob("DEMO_APPROVAL_DELAY"))), send)
    timer.daemon = True
    timer.start()
    return timer


class Numbers:
    """Next free numbers for ids `<prefix>-NNNN`, continuing after earlier runs against the same database."""

    def __init__(self, control: Control, prefix: str):
        self.control = control
        self.prefix = prefix
        self.next = self._first_free()

    def exists(self, n: int) -> bool:
        try:
            self.control.get_workflow(f"{self.prefix}-{n:04d}")
        except WorkflowNotFound:
            return False
        return True

    def _first_free(self) -> int:
        """Gallop then bisect: O(log n) lookups, assuming earlier runs numbered from 1 without gaps."""
        high = 1
        while self.exists(high):
            high *= 2
        low = high // 2
        while low + 1 < high:
            mid = (low + high) // 2
            if self.exists(mid):
                low = mid
            else:
                high = mid
        return high

    def take(self) -> int:
        self.next += 1
        return self.next - 1


def plan(control: Control, kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Endless (workflow name, id, input): orders, pipelines, or a mix (a pipeline every PIPELINE_EVERY, a refund
    request every REFUND_EVERY)."""
    orders = Numbers(control, "order") if kind != "pipeline" else None
    batches = Numbers(control, "pipeline") if kind != "order" else None
    refunds = Numbers(control, "refund") if kind == "mix" else None
    i = 0
    while True:
        i += 1
        if refunds and i % REFUND_EVERY == 0:
            refund = make_refund(refunds.take())
            yield REFUND, refund["id"], refund
        elif batches and (orders is None or i % PIPELINE_EVERY == 0):
            batch = make_batch(batches.take())
            yield PIPELINE, batch["id"], batch
        elif orders:
            order = make_order(orders.take())
            yield CHECKOUT, order["id"], order


RETRY_PAUSE = 0.5


def _enqueue(control: Control, name: str, value: object, wid: str) -> bool:
    """Queue one workflow; False while the database is unreachable (a restart), so the caller retries."""
    try:
        control.enqueue_workflow(name, value, workflow_id=wid)
        return True
    except psycopg.OperationalError as exc:
        log.warning("database unreachable (%s); retrying %s", failure_reason(exc), wid)
        control.check_connections()
        return False


def generate(
    control: Control,
    rate: float,
    count: int | None = None,
    kind: str = "mix",
    stop: threading.Event | None = None,
    on_start: Callable[[str, str], None] | None = None,
) -> int:
    """Queue `count` workflows (None: until `stop` is set) at `rate` per second; returns how many."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    stop = stop or threading.Event()
    started_at = time.monotonic()
    started = 0
    if count == 0:
        return 0
    for name, wid, value in plan(control, kind):
        while not _enqueue(control, name, value, wid):
            if stop.wait(RETRY_PAUSE):
                return started
        if name == REFUND:
            answer_later(control, wid)
        started += 1
        if on_start:
            on_start(name, wid)
        if started == count or stop.wait(max(0.0, started_at + started / rate - time.monotonic())):
            break
    return started
