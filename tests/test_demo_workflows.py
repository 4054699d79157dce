"""The demo's workflows and load generator, run in-process against real Postgres with tiny latencies."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import psycopg
import pytest

from demo_app import CHECKOUT, NOTICE, PIPELINE
from demo_app.load import generate, make_batch, make_order, parse_rate
from engine import Control, Engine
from tests.conftest import ROOT

FAST = {
    "DEMO_LATENCY": "0.01",
    "DEMO_PAYMENT_FAILURE_RATE": "0.4",
    "DEMO_PAYMENT_INTERVAL": "0.01",
    "DEMO_PAYMENT_BACKOFF": "1.5",
    "DEMO_PAYMENT_MAX_ATTEMPTS": "8",
    "DEMO_EMAIL_FAILURE_RATE": "0",
    "DEMO_EMAIL_CONCURRENCY": "2",
    "DEMO_EMAIL_RATE_LIMIT": "5",
    "DEMO_EMAIL_RATE_PERIOD": "0.5",
    "DEMO_COURIER_INTERVAL": "0.01",
    "DEMO_TAX_INTERVAL": "0.01",
    "DEMO_TAX_MAX_ATTEMPTS": "3",
    "DEMO_PIPELINE_INTERVAL": "0.01",
    "DEMO_SLOW_SECONDS": "0.3",
    "DEMO_SEED": "7",
}


@pytest.fixture(scope="module")
def demo() -> Iterator[SimpleNamespace]:
    """The workflow modules imported under FAST (retry policies are fixed at import)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAST.items():
            mp.setenv(key, value)
        names = ("tax", "shop", "emails", "checkout", "pipeline")
        mods = {n: importlib.reload(importlib.import_module(f"demo_app.{n}")) for n in names}
        yield SimpleNamespace(**mods)


@pytest.fixture
def shop(
    demo: SimpleNamespace, database_url: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SimpleNamespace]:
    monkeypatch.setenv("DEMO_SHOP_SCHEMA", f"{schema}_shop")
    demo.shop.setup(database_url)
    before = demo.shop.stock_levels(database_url)
    yield SimpleNamespace(before=before, levels=lambda: demo.shop.stock_levels(database_url))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}_shop CASCADE")


def orders(count: int, country: str | None = None) -> list[dict]:
    """Orders that avoid (or, with country="NO", only hit) the deliberate tax bug."""
    found = [make_order(n) for n in range(1, 200) if (make_order(n)["country"] == "NO") == (country == "NO")]
    return found[:count]


def test_checkouts_retry_payments_and_finish(engine: Engine, demo, shop) -> None:
    batch = orders(12)
    handles = [engine.start_workflow(demo.checkout.checkout, o, workflow_id=o["id"]) for o in batch]
    results = [h.result(timeout=30) for h in handles]

    assert [r["order"] for r in results] == [o["id"] for o in batch]
    assert all(r["tracking"].startswith("TRK-") and r["payment"].startswith("PAY-") for r in results)
    records = [engine.get_workflow(o["id"]) for o in batch]
    names = [s.name for s in records[0].steps]
    assert names == [
        "price-order",
        "compute-tax",
        "reserve-stock",
        "charge-payment",
        "send-confirmation",
        "ship-order",
        "queue-shipping-notice",
    ]
    payments = [next(s for s in r.steps if s.name == "charge-payment") for r in records]
    assert max(p.attempts for p in payments) > 1, "with a 40% failure rate some payment must have retried"
    shipping = engine.get_workflow(records[0].children[0])
    assert shipping.name == "ship-order" and shipping.status == "SUCCESS"
    assert [s.name for s in shipping.steps] == [
        "pick-items",
        "pack-parcel",
        "book-courier",
        "sleep",
        "commit-stock",
        "print-label",
    ]
    shipped: dict[str, int] = {}
    for o in batch:
        for sku, qty in o["items"].items():
            shipped[sku] = shipped.get(sku, 0) + qty
    after = shop.levels()
    for sku, (on_hand, reserved) in after.items():
        assert reserved == 0
        assert on_hand == shop.before[sku][0] - shipped.get(sku, 0)


def test_shipping_notices_wait_their_turn_in_the_emails_queue(
    engine: Engine, demo, shop, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each checkout queues its notice in `emails`, where at most 2 send at once and 5 start per 0.5 s."""
    (emails,) = [q for q in control.list_queues() if q.name == "emails"]
    assert (emails.concurrency, emails.rate_limit, emails.rate_period) == (2, 5, 0.5)
    batch = orders(3)
    for handle in [engine.start_workflow(demo.checkout.checkout, o, workflow_id=o["id"]) for o in batch]:
        handle.result(timeout=30)
    for o in batch:
        notice = engine.retrieve_workflow(f"{o['id']}-notice")
        assert notice.result(timeout=30).startswith(f"notice for {o['id']} to {o['email']}")
        record = engine.get_workflow(notice.workflow_id)
        assert (record.name, record.queue_name, record.status) == (NOTICE, "emails", "SUCCESS")

    monkeypatch.setenv("DEMO_LATENCY", "0.1")  # each send takes 50-150 ms: enough to overlap without the queue
    handles = [
        demo.emails.EMAILS.enqueue(demo.emails.shipping_notice, f"burst-{n}", "a@example.com", "TRK-1")
        for n in range(8)
    ]
    records = [engine.get_workflow(h.workflow_id) for h in handles if h.result(timeout=30)]
    runs = sorted((r.started_at, r.finished_at) for r in records)
    running_at_starts = [sum(s <= start < e for s, e in runs) for start, _ in runs]
    assert max(running_at_starts) <= 2, f"emails ran over 2 at once: {runs}"
    starts = [start for start, _ in runs]
    assert (starts[5] - starts[0]).total_seconds() >= 0.45, "a sixth notice started within the 5-per-0.5 s limit"


def test_unpaid_order_fails_and_gives_its_stock_back(
    engine: Engine, demo, shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_PAYMENT_FAILURE_RATE", "1")
    order = orders(1)[0]
    handle = engine.start_workflow(demo.checkout.checkout, order, workflow_id=order["id"])
    with pytest.raises(Exception, match="charge-payment"):
        handle.result(timeout=30)
    record = engine.get_workflow(order["id"])
    assert record.status == "ERROR"
    assert [(s.name, s.status, s.attempts) for s in record.steps[-2:]] == [
        ("charge-payment", "ERROR", 8),
        ("release-stock", "SUCCESS", 1),
    ]
    assert shop.levels() == shop.before


def test_confirmation_is_sent_at_most_once_and_resume_finishes(
    engine: Engine, demo, shop, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_EMAIL_FAILURE_RATE", "1")
    order = orders(1)[0]
    with pytest.raises(Exception, match="smtp relay"):
        engine.start_workflow(demo.checkout.checkout, order, workflow_id=order["id"]).result(timeout=30)
    email = engine.get_workflow(order["id"]).steps[-1]
    assert (email.name, email.status, email.attempts) == ("send-confirmation", "ERROR", 1)

    monkeypatch.setenv("DEMO_EMAIL_FAILURE_RATE", "0")
    control.resume(order["id"])
    assert engine.retrieve_workflow(order["id"]).result(timeout=30)["order"] == order["id"]


def test_tax_bug_blocks_norway_until_fixed(
    engine: Engine, demo, shop, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = orders(1, country="NO")[0]
    with pytest.raises(Exception, match="no VAT rate loaded for 'NO'"):
        engine.start_workflow(demo.checkout.checkout, order, workflow_id=order["id"]).result(timeout=30)
    tax = engine.get_workflow(order["id"]).steps[1]
    assert (tax.name, tax.status, tax.attempts) == ("compute-tax", "ERROR", 3)

    monkeypatch.setattr(demo.tax, "BUG", False)
    control.resume(order["id"])
    assert engine.retrieve_workflow(order["id"]).result(timeout=30)["order"] == order["id"]


def test_pipeline_runs_thirteen_steps_with_a_slow_one(engine: Engine, demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PIPELINE_FAILURE_RATE", "0.3")
    batches = [make_batch(n) for n in range(1, 4)]
    handles = [engine.start_workflow(demo.pipeline.data_pipeline, b, workflow_id=b["id"]) for b in batches]
    results = [h.result(timeout=30) for h in handles]

    assert [r["batch"] for r in results] == ["pipeline-0001", "pipeline-0002", "pipeline-0003"]
    records = [engine.get_workflow(b["id"]) for b in batches]
    assert all(len(r.steps) == 13 for r in records)
    slow = records[0].steps[8]
    assert slow.name == "aggregate-daily"
    assert (slow.finished_at - slow.started_at).total_seconds() >= 0.3
    assert any(s.attempts > 1 for r in records for s in r.steps), "a flaky extract should have retried"


@pytest.mark.parametrize(
    ("text", "per_second"), [("5/s", 5.0), ("30/min", 0.5), ("2", 2.0), (".5/s", 0.5), ("120 / h", 120 / 3600)]
)
def test_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["", "fast", "5/x", "0/s", "-1/s", "5/s/s"])
def test_parse_rate_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="rate must look like 5/s"):
        parse_rate(text)


def test_orders_are_readable_and_reproducible() -> None:
    order = make_order(42)
    assert order["id"] == "order-0042" and order == make_order(42)
    assert order["email"].endswith("@example.com") and 1 <= len(order["items"]) <= 3
    assert sum(make_order(n)["country"] == "NO" for n in range(1, 101)) == 10
    assert make_batch(7)["id"] == "pipeline-0007"


def test_load_queues_readable_ids_and_continues_numbering(control: Control) -> None:
    started: list[str] = []
    assert generate(control, rate=1000, count=7, on_start=lambda name, wid: started.append(wid)) == 7
    assert started == [
        "order-0001",
        "order-0002",
        "order-0003",
        "order-0004",
        "order-0005",
        "pipeline-0001",
        "order-0006",
    ]
    rows = {w.workflow_id: w for w in control.list_workflows()}
    assert {rows[i].status for i in started} == {"ENQUEUED"}
    assert rows["pipeline-0001"].name == PIPELINE and rows["order-0001"].name == CHECKOUT

    more: list[str] = []
    generate(control, rate=1000, count=2, kind="order", on_start=lambda name, wid: more.append(wid))
    assert more == ["order-0007", "order-0008"]


def test_load_command_rejects_a_bad_rate_in_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "demo_app", "load", "--rate", "lots"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "python -m demo_app load: rate must look like 5/s, 30/min or 2 (a positive number per second), not 'lots'"
    )


@pytest.mark.parametrize("command", ["load", "worker"])
def test_unreachable_database_is_one_line_without_password(command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "demo_app", command, "--database-url", "postgresql://shop:s3cret@127.0.0.1:1/none"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach Postgres at shop@127.0.0.1:1/none" in lines[0]
    assert "s3cret" not in proc.stderr + proc.stdout


def test_load_generator_rides_out_a_database_restart(control: Control, database_url: str) -> None:
    killed: list[int] = []

    def kill_sessions_once(name: str, wid: str) -> None:
        if not killed:
            with psycopg.connect(database_url, autocommit=True) as conn:
                killed.append(
                    conn.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'durable-control' AND pid <> pg_backend_pid() "
                        "AND datname = current_database()"
                    ).fetchone()[0]
                )

    assert generate(control, 200.0, 5, "order", on_start=kill_sessions_once) == 5
    assert killed and killed[0] >= 1
    assert len(control.list_workflows()) == 5
