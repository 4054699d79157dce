"""Importing this module registers every demo workflow with the engine: what a worker does first."""

from demo_app.checkout import checkout, ship_order
from demo_app.emails import shipping_notice
from demo_app.pipeline import data_pipeline
from demo_app.refunds import refund_request
from demo_app.report import nightly_report

__all__ = ["checkout", "data_pipeline", "nightly_report", "refund_request", "ship_order", "shipping_notice"]
