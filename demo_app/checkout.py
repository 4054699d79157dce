"""Order checkout: price, tax, reserve stock, charge a flaky payment API, confirm, ship (a child workflow),
then queue a shipping notice in the rate-limited `emails` queue.

An order is a JSON object: {"id", "customer", "email", "country", "items": {sku: quantity}}.
"""

from __future__ import annotations

import hashlib
from typing import Any

from demo_app import CHECKOUT, SHIPPING
from demo_app.chaos import fails, jitter, work
from demo_app.emails import queue_shipping_notice
from demo_app.settings import knob
from demo_app.shop import CATALOG, commit_stock, release_stock, reserve_stock
from demo_app.tax import compute_tax
from engine import sleep, step, step_context, workflow


class PaymentGatewayError(RuntimeError):
    """The payment provider answered with an error (simulated)."""


class MailServerError(RuntimeError):
    """The mail relay refused the message (simulated)."""


class CourierUnavailable(RuntimeError):
    """The courier's booking API is down (simulated)."""


def _ref(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha1("/".join(parts).encode()).hexdigest()[:10].upper()


@step(name="price-order")
def price_order(items: dict[str, int]) -> float:
    work(0.05)
    unknown = sorted(set(items) - set(CATALOG))
    if unknown:
        raise LookupError(f"unknown products: {', '.join(unknown)}")
    return round(sum(CATALOG[sku][1] * qty for sku, qty in items.items()), 2)


@step(
    name="charge-payment",
    interval_seconds=knob("DEMO_PAYMENT_INTERVAL"),
    backoff_rate=knob("DEMO_PAYMENT_BACKOFF"),
    max_attempts=int(knob("DEMO_PAYMENT_MAX_ATTEMPTS")),
)
def charge_payment(order_id: str, customer: str, amount: float) -> dict[str, Any]:
    work(jitter(0.2, 0.6))
    if fails("DEMO_PAYMENT_FAILURE_RATE"):
        attempt = step_context().attempt
        raise PaymentGatewayError(f"payments.example.com: 503 Service Unavailable (attempt {attempt})")
    return {"payment_id": _ref("PAY-", order_id, customer), "amount": amount, "currency": "EUR"}


@step(name="send-confirmation", retries_allowed=False)
def send_confirmation(order_id: str, email: str, payment_id: str) -> str:
    """Never retried: a second try could mail the customer twice."""
    work(jitter(0.1, 0.3))
    if fails("DEMO_EMAIL_FAILURE_RATE"):
        raise MailServerError(f"smtp relay: 451 temporary local problem sending to {email}")
    return _ref("MSG-", order_id, payment_id)


@step(name="pick-items")
def pick_items(order_id: str, items: dict[str, int]) -> int:
    work(0.3 + 0.05 * sum(items.values()))
    return sum(items.values())


@step(name="pack-parcel")
def pack_parcel(order_id: str, units: int) -> float:
    work(jitter(0.2, 0.5))
    return round(0.4 + 0.6 * units, 1)


@step(name="book-courier", interval_seconds=knob("DEMO_COURIER_INTERVAL"), max_attempts=4)
def book_courier(order_id: str, country: str, weight_kg: float) -> str:
    work(jitter(0.2, 0.4))
    if fails("DEMO_COURIER_FAILURE_RATE"):
        raise CourierUnavailable(f"courier API timed out booking a {weight_kg} kg parcel to {country}")
    return _ref("TRK-", order_id, country)


@step(name="print-label")
def print_label(order_id: str, tracking: str) -> str:
    work(0.1)
    return f"label:{tracking}"


@workflow(name=SHIPPING)
def ship_order(order_id: str, items: dict[str, int], country: str) -> dict[str, Any]:
    """Warehouse work, run as the checkout's child workflow; the parcel waits for the courier's pickup."""
    units = pick_items(order_id, items)
    weight = pack_parcel(order_id, units)
    tracking = book_courier(order_id, country, weight)
    sleep(knob("DEMO_PICKUP_SECONDS") * knob("DEMO_LATENCY"))  # durable: a restart sleeps only what is left
    commit_stock(order_id, items)
    print_label(order_id, tracking)
    return {"tracking": tracking, "weight_kg": weight}


@workflow(name=CHECKOUT)
def checkout(order: dict[str, Any]) -> dict[str, Any]:
    order_id, items = order["id"], order["items"]
    subtotal = price_order(items)
    tax = compute_tax(order["country"], subtotal)
    reserve_stock(order_id, items)
    try:
        payment = charge_payment(order_id, order["customer"], round(subtotal + tax, 2))
    except Exception:
        release_stock(order_id, items)
        raise
    send_confirmation(order_id, order["email"], payment["payment_id"])
    shipment = ship_order(order_id, items, order["country"])
    queue_shipping_notice(order_id, order["email"], shipment["tracking"])
    return {"order": order_id, "total": payment["amount"], "payment": payment["payment_id"], **shipment}
