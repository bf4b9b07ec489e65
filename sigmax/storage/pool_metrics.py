"""Gauges and leak detection shared by every connection pool (PostgreSQL, Redis, ClickHouse).

Each pool owns one :class:`PoolInstruments` (labelled by ``store``) and reports through
it: ``acquired()`` when a connection is handed out and ``released()`` when it comes
back. Connections held longer than ``leak_after_s`` are logged once with the stack
that acquired them (``check_leaks``), so a forgotten ``async with`` shows up in logs.
"""

from __future__ import annotations

import itertools
import sys
import time
import traceback
import weakref
from dataclasses import dataclass
from types import FrameType

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Histogram

log = structlog.get_logger(__name__)


STACK_LIMIT = 12  # frames of the acquiring stack kept for a leak report

CallSites = tuple[tuple[str, int, str], ...]  # (file, line, function), outermost first


@dataclass(frozen=True, slots=True)
class _Holder:
    since: float
    sites: CallSites

    @property
    def stack(self) -> str:
        """The acquiring stack as a traceback prints it (source lines read now: only
        a leak report pays for that, not every hand-out)."""
        frames = [traceback.FrameSummary(file, line, name) for file, line, name in self.sites]
        summary = traceback.StackSummary.from_list(frames)
        return "".join(summary.format())


def _call_sites(skip: int, limit: int) -> CallSites:
    """The caller's stack as bare (file, line, function) triples: a few microseconds,
    where ``traceback.format_stack`` reads and formats source lines (the most expensive
    step of a Redis round trip's hand-out under load)."""
    frame: FrameType | None = sys._getframe(skip + 1)
    sites: list[tuple[str, int, str]] = []
    while frame is not None and len(sites) < limit:
        code = frame.f_code
        sites.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return tuple(reversed(sites))


class _Metrics:
    """The Prometheus metric families, registered once per registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.size = Gauge("sigmax_pool_size", "connections open", ["store"], registry=registry)
        self.in_use = Gauge(
            "sigmax_pool_in_use", "connections handed out", ["store"], registry=registry
        )
        self.waiting = Gauge(
            "sigmax_pool_waiting", "callers waiting for a connection", ["store"], registry=registry
        )
        self.acquire = Histogram(
            "sigmax_pool_acquire_seconds",
            "time to get a connection from the pool",
            ["store"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.leaks = Gauge(
            "sigmax_pool_held_too_long",
            "connections held longer than the leak threshold",
            ["store"],
            registry=registry,
        )


# Keyed by the registry itself, held weakly: an id() key could be reused by a new
# registry after an old one is collected, which then got the old one's families.
_metrics_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, _Metrics] = (
    weakref.WeakKeyDictionary()
)


def _metrics(registry: CollectorRegistry) -> _Metrics:
    if registry not in _metrics_by_registry:
        _metrics_by_registry[registry] = _Metrics(registry)
    return _metrics_by_registry[registry]


class PoolInstruments:
    """What one pool reports: size, in use, waiting, acquire latency, held-too-long."""

    def __init__(
        self, store: str, leak_after_s: float = 30.0, registry: CollectorRegistry = REGISTRY
    ) -> None:
        self.store = store
        self.leak_after_s = leak_after_s
        m = _metrics(registry)
        self._size = m.size.labels(store)
        self._in_use = m.in_use.labels(store)
        self._waiting = m.waiting.labels(store)
        self._acquire = m.acquire.labels(store)
        self._leaks = m.leaks.labels(store)
        self._holders: dict[int, _Holder] = {}
        self._reported: set[int] = set()
        self._tokens = itertools.count(1)

    def set_size(self, size: int) -> None:
        self._size.set(size)

    def waiting_started(self) -> float:
        self._waiting.inc()
        return time.perf_counter()

    def acquired(self, started: float) -> int:
        """Record a hand-out that began at ``started``; returns a token for ``released``."""
        self._waiting.dec()
        self._acquire.observe(time.perf_counter() - started)
        self._in_use.inc()
        token = next(self._tokens)
        self._holders[token] = _Holder(time.monotonic(), _call_sites(1, STACK_LIMIT))
        return token

    def acquire_failed(self) -> None:
        self._waiting.dec()

    def released(self, token: int) -> None:
        if self._holders.pop(token, None) is not None:
            self._in_use.dec()
        self._reported.discard(token)

    @property
    def in_use(self) -> int:
        return len(self._holders)

    def check_leaks(self) -> list[str]:
        """Log (once each) and return the stacks of connections held too long."""
        now = time.monotonic()
        stale = {t: h for t, h in self._holders.items() if now - h.since > self.leak_after_s}
        self._leaks.set(len(stale))
        for token, holder in stale.items():
            if token not in self._reported:
                self._reported.add(token)
                log.warning(
                    "connection held too long",
                    store=self.store,
                    held_s=round(now - holder.since, 3),
                    limit_s=self.leak_after_s,
                    acquired_at=holder.stack,
                )
        return [h.stack for h in stale.values()]
