"""The demo's knobs: each one an environment variable, and a worker flag that sets it.

Retry policies are read when the workflow modules are imported (decorator arguments); failure rates
and latencies are read at every call, so a test can change them without re-importing anything.
The defaults make retries visible within seconds.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Knob:
    env: str
    default: float
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.env.removeprefix("DEMO_").lower().replace("_", "-")


KNOBS: dict[str, Knob] = {
    k.env: k
    for k in (
        Knob("DEMO_LATENCY", 1.0, "scale of every simulated latency (0.01 makes the demo run 100x faster)"),
        Knob("DEMO_PAYMENT_FAILURE_RATE", 0.4, "share of payment API calls that fail"),
        Knob("DEMO_PAYMENT_INTERVAL", 2.0, "seconds before the first payment retry"),
        Knob("DEMO_PAYMENT_BACKOFF", 2.0, "multiplier of the wait between payment retries"),
        Knob("DEMO_PAYMENT_MAX_ATTEMPTS", 5, "payment attempts before the order fails"),
        Knob("DEMO_EMAIL_FAILURE_RATE", 0.03, "share of confirmation e-mails that fail (never retried)"),
        Knob("DEMO_EMAIL_CONCURRENCY", 2, "shipping notices the emails queue sends at once"),
        Knob("DEMO_EMAIL_RATE_LIMIT", 5, "shipping notices the emails queue starts per period"),
        Knob("DEMO_EMAIL_RATE_PERIOD", 10.0, "seconds of the emails queue's rate-limit period"),
        Knob("DEMO_COURIER_FAILURE_RATE", 0.25, "share of courier bookings that fail"),
        Knob("DEMO_COURIER_INTERVAL", 1.0, "seconds before a courier booking is retried"),
        Knob("DEMO_PICKUP_SECONDS", 3.0, "durable sleep of a parcel waiting for the courier (scaled by latency)"),
        Knob("DEMO_TAX_INTERVAL", 2.0, "seconds between the attempts of the buggy tax step"),
        Knob("DEMO_TAX_MAX_ATTEMPTS", 100, "attempts of the buggy tax step before its order fails"),
        Knob("DEMO_PIPELINE_FAILURE_RATE", 0.15, "share of flaky pipeline extracts that fail"),
        Knob("DEMO_PIPELINE_INTERVAL", 1.0, "seconds before a pipeline step is retried"),
        Knob("DEMO_SLOW_SECONDS", 8.0, "duration of the pipeline's slow step (not scaled by latency)"),
        Knob("DEMO_APPROVAL_TIMEOUT", 30.0, "seconds a refund request waits for its approval (recv)"),
        Knob("DEMO_APPROVAL_DELAY", 20.0, "most seconds before the load generator answers a refund request"),
        Knob("DEMO_APPROVAL_SILENCE", 0.3, "share of refund requests the load generator never answers"),
        Knob("DEMO_STOP_GRACE", 0.5, "seconds a stopping worker waits for its steps before it exits anyway"),
        Knob("DEMO_SEED", -1, "seed for reproducible failures (-1: random)"),
    )
}

SHOP_SCHEMA_ENV = "DEMO_SHOP_SCHEMA"
DEFAULT_SHOP_SCHEMA = "demo_shop"


def knob(env: str) -> float:
    """The knob's current value; a malformed variable is a readable error naming it."""
    spec = KNOBS[env]
    raw = os.environ.get(env)
    if raw is None or raw.strip() == "":
        return spec.default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"${env} must be a number, not {raw!r}") from None


def shop_schema() -> str:
    """The schema of the shop's own tables (stock), apart from the engine's."""
    name = os.environ.get(SHOP_SCHEMA_ENV) or DEFAULT_SHOP_SCHEMA
    if not name.replace("_", "").isalnum() or name[0].isdigit():
        raise SystemExit(f"${SHOP_SCHEMA_ENV} must be a plain identifier, not {name!r}")
    return name.lower()


def add_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("demo behaviour (each flag sets the environment variable named)")
    for spec in KNOBS.values():
        group.add_argument(
            spec.flag,
            dest=spec.env,
            type=float,
            metavar="N",
            help=f"{spec.help} (${spec.env}, default {spec.default:g})",
        )


def apply_flags(args: argparse.Namespace) -> None:
    """Flags win over the environment; written to it so a restarted (spawned) worker sees them too."""
    for env in KNOBS:
        value = getattr(args, env, None)
        if value is not None:
            os.environ[env] = repr(value)
