"""Prometheus metrics of the API (registered once per process on the default registry)."""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

# The session's counts (orders, fills, risk decisions): the API copies the actors'
# totals into the same gauges at each scrape.
from actors.session_metrics import (  # noqa: F401  (part of this module's metrics)
    FILLS,
    ORDERS,
    RISK_APPROVED,
    RISK_REJECTIONS,
)

REQUESTS = Counter(
    "sigmax_api_requests_total",
    "API requests by endpoint class, method and status",
    ["endpoint_class", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "sigmax_api_request_seconds",
    "API request latency by endpoint class",
    ["endpoint_class"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "sigmax_api_rate_limited_total",
    "requests refused with 429, by endpoint class",
    ["endpoint_class"],
    registry=REGISTRY,
)
SESSION_UP = Gauge(
    "sigmax_trading_session_up", "1 when the served trading session answers", registry=REGISTRY
)
EQUITY = Gauge("sigmax_trading_equity", "account equity at the last price", registry=REGISTRY)
CASH = Gauge("sigmax_trading_cash", "account cash", registry=REGISTRY)
REALIZED = Gauge("sigmax_trading_realized_pnl", "realised P&L", registry=REGISTRY)
UNREALIZED = Gauge("sigmax_trading_unrealized_pnl", "unrealised P&L", registry=REGISTRY)
EXPOSURE = Gauge("sigmax_trading_exposure", "gross position notional", registry=REGISTRY)
RISK_STATE = Gauge(
    "sigmax_trading_risk_state",
    "1 for the risk engine's current state",
    ["state"],
    registry=REGISTRY,
)
RISK_STATES = ("running", "paused", "killed")
