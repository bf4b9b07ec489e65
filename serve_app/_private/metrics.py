"""Prometheus metrics of the API (registered once per process on the default registry)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

from actors.ray_metrics import POOL_PREFIX, process_name, read_pool_stats

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


POOL_HELP_SUFFIX = (
    " (store: postgres, clickhouse or redis; kind: database for postgres and clickhouse,"
    " cache for redis; actor: the process holding the pool, an actor's name or pid:N)"
)
POOL_KIND = {"postgres": "database", "clickhouse": "database", "redis": "cache"}


def _pool_labels(labels: dict[str, str], actor: str) -> dict[str, str]:
    """A pool sample's labels as /metrics shows them: what kind of store, and where."""
    return {**labels, "kind": POOL_KIND.get(labels.get("store", ""), "other"), "actor": actor}


class ScrapeView:
    """The default registry as ``/metrics`` shows it: each ``sigmax_pool_*`` family holds
    the pools of this replica and of every other SIGMAX process that published its
    gauges (:func:`actors.ray_metrics.read_pool_stats`), each series labelled with the
    ``actor`` holding the pool; the other families are the registry's own."""

    def __init__(self, others: list[dict[str, Any]], registry: CollectorRegistry = REGISTRY):
        self.others = others
        self.registry = registry
        self.own = process_name()

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            if not family.name.startswith(POOL_PREFIX):
                yield family
                continue
            merged = Metric(family.name, family.documentation + POOL_HELP_SUFFIX, family.type)
            for sample in family.samples:
                labels = _pool_labels(sample.labels, self.own)
                merged.add_sample(sample.name, labels, sample.value)
            for doc in self.others:
                for name, sample_name, labels, value in doc["samples"]:
                    if name == family.name:
                        merged.add_sample(sample_name, _pool_labels(labels, doc["actor"]), value)
            yield merged


async def scrape_view() -> ScrapeView:
    """What ``/metrics`` renders; the other processes' pools are read off the event loop
    (and left out, with this replica's still shown, if Ray's store does not answer)."""
    try:
        others = await asyncio.to_thread(read_pool_stats)
    except Exception:  # a scrape never fails on another process's gauges
        others = []
    return ScrapeView(others)
