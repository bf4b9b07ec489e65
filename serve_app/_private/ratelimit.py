"""Per-key, per-endpoint-class rate limits over :class:`sigmax.storage.rate_limit.RateLimiter`.

Classes: ``general`` (reads), ``analysis`` (analyze, jobs) and ``trading`` (orders,
risk controls). Callers without a valid key are limited per client address in the
``general`` class. The decision is kept in the request's state; the middleware turns
it into ``X-RateLimit-*`` headers on every response (``Retry-After`` on 429).
"""

from __future__ import annotations

import math
from typing import Any

from serve_app._private import metrics
from serve_app.exceptions import RateLimited
from sigmax.storage.rate_limit import RateLimiter, RateLimitResult

CLASSES = ("general", "analysis", "trading")
STATE_KEY = "rate_limit"


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
    limiter: RateLimiter,
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
