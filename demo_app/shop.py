"""The shop's own data: a stock table that checkouts reserve from, exactly once, in @transaction steps.

These tables belong to the application, not to the engine: they live in their own schema
($DEMO_SHOP_SCHEMA, default `demo_shop`), and each reservation commits in the same database
transaction as its checkpoint, so a crash can never reserve an order's stock twice.
"""

from __future__ import annotations

from demo_app.settings import shop_schema
from engine import db, transaction
from engine.store import connect

CATALOG = {
    "kb-mech-87": ("Mechanical keyboard, 87 keys", 89.00),
    "ms-ergo-2": ("Ergonomic mouse", 39.50),
    "mon-27-4k": ('27" 4K monitor', 329.00),
    "hub-usbc-7": ("USB-C hub, 7 ports", 45.90),
    "cam-1080p": ("1080p webcam", 59.00),
    "hs-anc-bt": ("Noise-cancelling headset", 149.00),
    "lamp-led-d": ("LED desk lamp", 34.00),
    "stand-alu": ("Aluminium laptop stand", 42.00),
}
RESTOCK = 500


def setup(database_url: str) -> None:
    """Create the stock table and seed the catalog, once (idempotent, safe from several processes)."""
    s = shop_schema()
    with connect(database_url) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"demo-shop-setup:{s}",))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {s}.stock (
            sku text PRIMARY KEY, title text NOT NULL, price numeric(10, 2) NOT NULL,
            on_hand integer NOT NULL CHECK (on_hand >= 0),
            reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand))""")
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {s}.stock (sku, title, price, on_hand) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (sku) DO NOTHING",
                [(sku, title, price, RESTOCK) for sku, (title, price) in CATALOG.items()],
            )


def _lines(items: dict[str, int]) -> list[tuple[str, int]]:
    """Order lines sorted by SKU, so concurrent orders lock rows in one order and never deadlock."""
    return sorted(items.items())


@transaction(name="reserve-stock", isolation_level="read committed")
def reserve_stock(order_id: str, items: dict[str, int]) -> dict[str, int]:
    """Reserve every line, restocking from the supplier when a product runs low; returns what is left."""
    conn, s = db(), shop_schema()
    left = {}
    for sku, qty in _lines(items):
        conn.execute(
            f"UPDATE {s}.stock SET on_hand = on_hand + %s WHERE sku = %s AND on_hand - reserved < %s",
            (RESTOCK, sku, qty),
        )
        row = conn.execute(
            f"UPDATE {s}.stock SET reserved = reserved + %s WHERE sku = %s RETURNING on_hand - reserved", (qty, sku)
        ).fetchone()
        if row is None:
            raise LookupError(f"{order_id}: unknown product {sku!r}")
        left[sku] = row[0]
    return left


@transaction(name="release-stock", isolation_level="read committed")
def release_stock(order_id: str, items: dict[str, int]) -> None:
    """Compensation for an order that could not be paid: give its reservation back."""
    conn, s = db(), shop_schema()
    for sku, qty in _lines(items):
        conn.execute(f"UPDATE {s}.stock SET reserved = reserved - %s WHERE sku = %s", (qty, sku))


@transaction(name="commit-stock", isolation_level="read committed")
def commit_stock(order_id: str, items: dict[str, int]) -> None:
    """The parcel left the warehouse: its reserved units leave the stock."""
    conn, s = db(), shop_schema()
    for sku, qty in _lines(items):
        conn.execute(
            f"UPDATE {s}.stock SET on_hand = on_hand - %s, reserved = reserved - %s WHERE sku = %s", (qty, qty, sku)
        )


def stock_levels(database_url: str) -> dict[str, tuple[int, int]]:
    """sku -> (on_hand, reserved): what tests and curious users look at."""
    with connect(database_url) as conn:
        rows = conn.execute(f"SELECT sku, on_hand, reserved FROM {shop_schema()}.stock").fetchall()
    return {sku: (on_hand, reserved) for sku, on_hand, reserved in rows}
