"""The trading metrics of a session: orders, fills, risk decisions, decision latency.

The actor that owns a count sets its gauge when the count changes (execution: orders
and fills; risk: decisions; decision graph: how long a bar's decision took), so the
values are current in Ray's metrics agent (:mod:`actors.ray_metrics`) without a
scrape. The API's ``/api/v1/metrics`` sets the same gauges in its own process from
the actors' answers (:func:`record_activity`, :func:`record_verdicts`): every process
sees the same totals, so charts aggregate them with ``max``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from prometheus_client import REGISTRY, Gauge, Histogram

from sigmax.model import OrderStatus

ORDERS = Gauge(
    "sigmax_trading_orders",
    "orders of the session by current status",
    ["status"],
    registry=REGISTRY,
)
FILLS = Gauge("sigmax_trading_fills", "fills of the session so far", registry=REGISTRY)
RISK_APPROVED = Gauge(
    "sigmax_trading_risk_approved", "orders the risk engine approved so far", registry=REGISTRY
)
RISK_REJECTIONS = Gauge(
    "sigmax_trading_risk_rejections",
    "orders the risk engine refused so far, by failed rule",
    ["rule"],
    registry=REGISTRY,
)
DECISION_SECONDS = Histogram(
    "sigmax_decision_seconds",
    "time the decision graph took for one bar, its agents included",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


def timed_decision() -> AbstractContextManager[Any]:
    """Observes how long its block took in ``sigmax_decision_seconds``. (Actors call
    this, never the histogram itself: a metric object's lock cannot be pickled with
    an actor class.)"""
    return DECISION_SECONDS.time()


def record_activity(activity: dict[str, Any]) -> None:
    """Orders by status and fills, from ``ExecutionActor.activity()``."""
    by_status = activity["orders_by_status"]
    for status in OrderStatus:  # every status, so one that empties reads 0
        ORDERS.labels(status.value).set(by_status.get(status.value, 0))
    FILLS.set(activity["fills"])


def record_verdicts(verdicts: dict[str, Any]) -> None:
    """Approvals and refusals by rule, from ``RiskEngine.verdict_counts()``."""
    RISK_APPROVED.set(verdicts["approved"])
    for rule, count in verdicts["rejected_by_rule"].items():
        RISK_REJECTIONS.labels(rule).set(count)
