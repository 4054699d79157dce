"""A demo shop on the durable engine: order checkouts and a nightly data pipeline that look real.

Its failures are deliberate and tunable (see `demo_app.settings`), so the dashboard has retries,
backoff countdowns, a stuck workflow to rescue and a slow step to watch. Importing this package
registers nothing; `demo_app.workflows` does.
"""

CHECKOUT = "checkout"
SHIPPING = "ship-order"
PIPELINE = "data-pipeline"
NOTICE = "shipping-notice"
REPORT = "nightly-report"
REFUND = "refund-request"
