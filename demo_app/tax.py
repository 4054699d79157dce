"""Sales tax for an order: home of the tour's deliberate bug.

While BUG is True, orders shipping to Norway fail at the `compute-tax` step on every attempt and sit
there retrying. Set it to False and save: the hot-reloading worker restarts on the new code and the
stuck orders complete.
"""

from __future__ import annotations

from demo_app.chaos import work
from demo_app.settings import knob
from engine import step

BUG = True

VAT_RATES = {"DE": 0.19, "FR": 0.20, "NL": 0.21, "SE": 0.25, "NO": 0.25, "US": 0.0, "GB": 0.20}


class TaxTableError(LookupError):
    """The tax service has no rate for a country."""


@step(
    name="compute-tax",
    interval_seconds=knob("DEMO_TAX_INTERVAL"),
    backoff_rate=1.0,
    max_attempts=int(knob("DEMO_TAX_MAX_ATTEMPTS")),
)
def compute_tax(country: str, subtotal: float) -> float:
    work(0.05)
    if BUG and country == "NO":
        raise TaxTableError(
            f"no VAT rate loaded for {country!r} (the demo's bug: set BUG = False in demo_app/tax.py and save)"
        )
    return round(subtotal * VAT_RATES.get(country, 0.0), 2)
