"""Simulated latency and failures for demo steps, tuned by the knobs in `demo_app.settings`."""

from __future__ import annotations

import random
import time

from demo_app.settings import knob
from engine import step_context


def work(seconds: float) -> None:
    """Pretend to do `seconds` of work, scaled by $DEMO_LATENCY."""
    time.sleep(max(0.0, seconds * knob("DEMO_LATENCY")))


def _rng() -> random.Random:
    """Fresh randomness, or with $DEMO_SEED a stream fixed by workflow, step and attempt (for tests)."""
    seed = int(knob("DEMO_SEED"))
    if seed < 0:
        return random.Random()
    ctx = step_context()
    return random.Random(f"{seed}/{ctx.workflow_id}/{ctx.step_name}/{ctx.attempt}")


def fails(rate_env: str) -> bool:
    """True for a share $<rate_env> of calls: the caller raises its own, realistic error."""
    return _rng().random() < knob(rate_env)


def jitter(low: float, high: float) -> float:
    return _rng().uniform(low, high)
