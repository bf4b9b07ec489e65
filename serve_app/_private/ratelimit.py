"""Per-key, per-endpoint-class rate limits over :class:`sigmax.storage.rate_limit.RateLimiter`.

Classes: ``general`` (reads), ``analysis`` (analyze, jobs) and ``trading`` (orders,
risk controls). Callers without a valid key are limited per client address in the
``general`` class. The decision is kept in the request's state; the middleware turns
it into ``X-RateLimit-*`` headers on every response (``Retry-After`` on 429).

:class:`FailSafeLimiter` keeps the limits when Redis fails over: every hit this replica
lets through is also kept in memory, so the in-process fallback starts from those
counts instead of zero, allows each replica only its share of the limit, and the
hits it allows are still counted after Redis is back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from serve_app._private import metrics
from serve_app.exceptions import RateLimited
from sigmax.storage.rate_limit import InProcessRateLimiter, RateLimiter, RateLimitResult

CLASSES = ("general", "analysis", "trading")
STATE_KEY = "rate_limit"
MAX_TRACKED = 10_000  # callers whose use is reported (addresses guessing keys are many)


class FailSafeLimiter:
    """:class:`RateLimiter` (Redis, shared by the replicas) with a fail-safe fallback.

    The hits this replica allowed, in either mode, are logged in memory too. A hit
    needs room in Redis and in that log; while Redis is unreachable it needs room in
    the log under ``limit // replicas`` (each of up to ``replicas`` replicas counts
    on its own then).
    """

    def __init__(self, limiter: RateLimiter, replicas: int) -> None:
        self.limiter = limiter
        self.replicas = max(1, replicas)
        self._own_hits = InProcessRateLimiter()
        self._limits: dict[str, tuple[int, float]] = {}
        self._refused: dict[str, int] = {}

    @property
    def degraded_reason(self) -> str | None:
        reason = self.limiter.degraded_reason
        if reason is None:
            return None
        return (
            f"{reason}; fail-safe: in-process counts seeded with this replica's recent hits, "
            f"each of up to {self.replicas} replicas allowed 1/{self.replicas} of every limit"
        )

    async def hit(self, key: str, limit: int, window_s: float) -> RateLimitResult:
        result = await self._hit(key, limit, window_s)
        if key in self._limits or len(self._limits) < MAX_TRACKED:
            self._limits[key] = (limit, window_s)
        if not result.allowed and key in self._limits:
            self._refused[key] = self._refused.get(key, 0) + 1
        return result

    async def _hit(self, key: str, limit: int, window_s: float) -> RateLimitResult:
        shared = await self.limiter.hit(key, limit, window_s)
        if shared.backend == "memory":  # Redis unreachable: this replica's share only
            return self._own_hits.hit(key, max(1, limit // self.replicas), window_s)
        if not shared.allowed:
            return shared
        own = self._own_hits.hit(key, limit, window_s)  # hits allowed while Redis was away
        return shared if own.allowed else own

    def usage(self) -> list[Usage]:
        """What this replica let through per counted key (``who:class``) in its window
        now, its limit, and how many it refused (429) since it started."""
        out = []
        for key, (limit, window_s) in sorted(self._limits.items()):
            who, _, endpoint_class = key.rpartition(":")
            used = self._own_hits.counted(key, window_s)
            out.append(Usage(who, endpoint_class, used, limit, window_s, self._refused.get(key, 0)))
        return out


@dataclass(frozen=True, slots=True)
class Usage:
    """One caller's use of one endpoint class, as this replica counted it."""

    who: str
    endpoint_class: str
    used: int
    limit: int
    window_s: float
    refused: int


def headers(result: RateLimitResult) -> dict[str, str]:
    """``X-RateLimit-Limit/Remaining/Reset`` (seconds until the window frees a slot)."""
    out = {
        "X-RateLimit-Limit": str(result.limit),
        "X-RateLimit-Remaining": str(max(0, result.remaining)),
        "X-RateLimit-Reset": str(math.ceil(result.reset_after_s)),
    }
    if not result.allowed:
        out["Retry-After"] = str(max(1, math.ceil(result.retry_after_s)))
    return out


async def enforce(
    limiter: FailSafeLimiter,
    state: dict[str, Any],
    who: str,
    endpoint_class: str,
    limit: int,
    window_s: float,
) -> RateLimitResult:
    """Count one request of ``who`` in ``endpoint_class``; RateLimited when over."""
    result = await limiter.hit(f"{who}:{endpoint_class}", limit, window_s)
    state[STATE_KEY] = result
    state["endpoint_class"] = endpoint_class
    if not result.allowed:
        metrics.RATE_LIMITED.labels(endpoint_class).inc()
        raise RateLimited(
            f"rate limit exceeded: {limit} {endpoint_class} requests per {window_s:g}s; "
            f"retry in {math.ceil(result.retry_after_s)}s",
            headers(result),
        )
    return result
