"""A nightly data pipeline: thirteen steps from extracts to a published report, one of them slow.

Each step returns a small summary (row counts), which is what gets checkpointed: a pipeline that is
interrupted resumes at the step it was in, without redoing the extracts.
"""

from __future__ import annotations

import time
from typing import Any

from demo_app import PIPELINE
from demo_app.chaos import fails, jitter, work
from demo_app.settings import knob
from engine import step, workflow

INTERVAL, ATTEMPTS = knob("DEMO_PIPELINE_INTERVAL"), 4


class SourceTimeout(TimeoutError):
    """A source system did not answer in time (simulated)."""


def _extract(source: str, rows: int) -> int:
    work(jitter(0.2, 0.5))
    if fails("DEMO_PIPELINE_FAILURE_RATE"):
        raise SourceTimeout(f"{source}: read timed out after 30 s")
    return rows


@step(name="extract-orders", interval_seconds=INTERVAL, max_attempts=ATTEMPTS)
def extract_orders(day: str, rows: int) -> int:
    return _extract(f"orders-db/{day}", rows)


@step(name="extract-customers", interval_seconds=INTERVAL, max_attempts=ATTEMPTS)
def extract_customers(day: str, rows: int) -> int:
    return _extract("crm-api", rows // 3)


@step(name="extract-payments", interval_seconds=INTERVAL, max_attempts=ATTEMPTS)
def extract_payments(day: str, rows: int) -> int:
    return _extract("payments-export", rows)


@step(name="validate-schema")
def validate_schema(orders: int, customers: int, payments: int) -> int:
    work(0.15)
    return orders + customers + payments


@step(name="deduplicate")
def deduplicate(orders: int) -> int:
    work(0.2)
    return orders - orders // 50


@step(name="enrich-geo")
def enrich_geo(orders: int) -> int:
    work(0.3)
    return orders


@step(name="convert-currency")
def convert_currency(orders: int) -> dict[str, float]:
    work(0.15)
    return {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "SEK": 11.4, "NOK": 11.7}


@step(name="join-datasets")
def join_datasets(orders: int, customers: int, payments: int) -> int:
    work(0.4)
    return min(orders, payments)


@step(name="aggregate-daily")
def aggregate_daily(rows: int) -> dict[str, int]:
    """The slow one: $DEMO_SLOW_SECONDS of crunching, long enough to watch it run."""
    time.sleep(knob("DEMO_SLOW_SECONDS"))
    return {"rows": rows, "groups": max(1, rows // 120)}


@step(name="detect-anomalies", interval_seconds=INTERVAL, max_attempts=ATTEMPTS)
def detect_anomalies(groups: int) -> int:
    work(0.25)
    if fails("DEMO_PIPELINE_FAILURE_RATE"):
        raise MemoryError("anomaly model ran out of memory on the daily batch")
    return groups // 40


@step(name="build-report")
def build_report(day: str, aggregates: dict[str, int], anomalies: int) -> str:
    work(0.3)
    return f"reports/daily-{day}.html"


@step(name="publish-report", interval_seconds=INTERVAL, max_attempts=ATTEMPTS)
def publish_report(path: str) -> str:
    work(0.2)
    return f"https://bi.example.com/{path}"


@step(name="notify-analysts")
def notify_analysts(url: str, anomalies: int) -> int:
    work(0.1)
    return 3 if anomalies else 1


@workflow(name=PIPELINE)
def data_pipeline(batch: dict[str, Any]) -> dict[str, Any]:
    day, rows = batch["day"], batch["rows"]
    orders = extract_orders(day, rows)
    customers = extract_customers(day, rows)
    payments = extract_payments(day, rows)
    validate_schema(orders, customers, payments)
    orders = deduplicate(orders)
    orders = enrich_geo(orders)
    convert_currency(orders)
    joined = join_datasets(orders, customers, payments)
    aggregates = aggregate_daily(joined)
    anomalies = detect_anomalies(aggregates["groups"])
    path = build_report(day, aggregates, anomalies)
    url = publish_report(path)
    notify_analysts(url, anomalies)
    return {"batch": batch["id"], "rows": joined, "anomalies": anomalies, "report": url}
