"""The process-wide Redis pool, its health, and the fallback bookkeeping of its users.

One redis-py asyncio pool exists per (URL, event loop): asyncio connections belong to
the loop that opened them, so a pool cannot be shared across loops. Every caller in
that loop shares it through :func:`get_redis`. The pool reports to
``PoolInstruments("redis")``: size, in use, waiting, acquire latency and connections
held too long.

Users that can live without Redis (the rate limiter, the cache) run their commands
through a :class:`RedisGuard`: while Redis answers, they use it; when it does not,
the guard logs one warning, records the component as degraded (shown by
:func:`health`) and the caller switches to its in-process fallback. The guard tries
Redis again at most every ``retry_redis_after_s`` and returns to it when it answers.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sigmax.storage.pool_metrics import PoolInstruments
from sigmax.storage.redis_config import RedisConfig

T = TypeVar("T")

NOT_CONFIGURED = "redis not configured, using in-process fallbacks"
UNREACHABLE = "redis unreachable, using in-process fallbacks"

# The errors that mean "Redis is not there"; anything else (a bad command, a script
# error) is a bug and propagates.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    asyncio.TimeoutError,
)

_instruments = PoolInstruments("redis")


class _InstrumentedPool(BlockingConnectionPool):
    """A blocking pool (callers wait for a free connection) that reports to PoolInstruments."""

    def __init__(self, instruments: PoolInstruments, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instruments = instruments
        self._tokens: dict[int, int] = {}

    @property
    def open_connections(self) -> int:
        return len(self._available_connections) + len(self._in_use_connections)

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        started = self.instruments.waiting_started()
        try:
            connection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]  # redis ships no annotations here
        except BaseException:
            self.instruments.acquire_failed()
            self._report_size()
            raise
        self._tokens[id(connection)] = self.instruments.acquired(started)
        self._report_size()
        self.instruments.check_leaks()
        return connection

    async def release(self, connection: Any) -> None:
        token = self._tokens.pop(id(connection), None)
        if token is not None:
            self.instruments.released(token)
        await super().release(connection)
        self._report_size()

    def _report_size(self) -> None:
        self.instruments.set_size(_open_connections())


@dataclass(slots=True)
class _Entry:
    pool: _InstrumentedPool
    client: Redis


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Entry]] = (
    weakref.WeakKeyDictionary()
)


def _open_connections() -> int:
    return sum(e.pool.open_connections for by_url in _pools.values() for e in by_url.values())


def _running_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "redis: get_redis() must be called from a coroutine (the pool belongs to "
            "the running event loop)"
        ) from None


def get_redis(config: RedisConfig | None = None) -> Redis | None:
    """The shared client of this process and event loop; None when no URL is configured.

    The pool is created on first use, with size and timeouts from ``config``
    (default: ``RedisConfig()`` from the environment). Later calls with the same URL
    get the same client whatever their other settings.
    """
    config = config or RedisConfig()
    if config.url is None:
        return None
    by_url = _pools.setdefault(_running_loop(), {})
    entry = by_url.get(config.url)
    if entry is None:
        _instruments.leak_after_s = config.leak_after_s
        pool = _InstrumentedPool.from_url(
            config.url,
            instruments=_instruments,
            max_connections=config.max_connections,
            timeout=config.pool_timeout_s,
            socket_timeout=config.socket_timeout_s,
            socket_connect_timeout=config.connect_timeout_s,
            health_check_interval=config.health_check_interval_s,
            retry=Retry(NoBackoff(), config.retries),
        )
        entry = _Entry(pool, Redis(connection_pool=pool))
        by_url[config.url] = entry
    return entry.client


async def close_redis() -> None:
    """Close every pool of the running event loop (call at shutdown or test teardown)."""
    by_url = _pools.pop(_running_loop(), {})
    for entry in by_url.values():
        await entry.client.aclose()
        await entry.pool.disconnect()
    _instruments.set_size(_open_connections())


def check_leaks() -> list[str]:
    """Stacks of Redis connections held longer than the leak threshold (each logged once)."""
    return _instruments.check_leaks()


# guard -> reason, for every guard now running on its in-process fallback
_degraded: weakref.WeakKeyDictionary[RedisGuard, str] = weakref.WeakKeyDictionary()


class Unavailable:
    """Returned by :meth:`RedisGuard.run` when the caller must use its fallback."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class RedisGuard:
    """Runs one component's Redis commands and tells it when to fall back.

    ``component`` names the user in logs and health (e.g. ``"rate_limit"``);
    ``fallback`` says what it does without Redis (e.g. ``"in-process limits"``).
    A client passed as ``redis`` is used instead of the shared pool (tests use this
    to act as separate API replicas with their own connections).
    """

    def __init__(
        self,
        component: str,
        fallback: str,
        config: RedisConfig | None = None,
        redis: Redis | None = None,
    ) -> None:
        self.component = component
        self.fallback = fallback
        self.config = config or RedisConfig()
        self._client = redis
        self._configured = redis is not None or self.config.url is not None
        self._degraded_reason: str | None = None
        self._next_try = 0.0

    @property
    def degraded_reason(self) -> str | None:
        """Why this component is on its fallback now; None while it uses Redis."""
        if not self._configured:
            return f"redis not configured, using {self.fallback}"
        return self._degraded_reason

    async def run(self, op: Callable[[Redis], Awaitable[T]]) -> T | Unavailable:
        """``op(client)``, or :class:`Unavailable` when Redis is absent or not answering."""
        if not self._configured:
            return Unavailable(f"redis not configured, using {self.fallback}")
        if self._degraded_reason is not None and time.monotonic() < self._next_try:
            return Unavailable(self._degraded_reason)
        client = self._client or get_redis(self.config)
        assert client is not None  # configured: a URL or a client was given
        try:
            result = await op(client)
        except UNAVAILABLE_ERRORS as exc:
            self._mark_degraded(exc)
            assert self._degraded_reason is not None
            return Unavailable(self._degraded_reason)
        if self._degraded_reason is not None:
            self._mark_recovered()
        return result

    def _mark_degraded(self, exc: BaseException) -> None:
        self._next_try = time.monotonic() + self.config.retry_redis_after_s
        if self._degraded_reason is None:
            self._degraded_reason = f"redis unreachable, using {self.fallback}"
            _degraded[self] = self._degraded_reason
            # A fresh logger per transition: transitions are rare, and this keeps them
            # visible to structlog.testing.capture_logs whatever the global config caches.
            structlog.get_logger(__name__).warning(
                "redis unavailable, falling back",
                component=self.component,
                fallback=self.fallback,
                error=f"{type(exc).__name__}: {exc}",
            )

    def _mark_recovered(self) -> None:
        self._degraded_reason = None
        _degraded.pop(self, None)
        structlog.get_logger(__name__).info(
            "redis back, leaving fallback", component=self.component
        )


@dataclass(frozen=True, slots=True)
class RedisHealth:
    """What ``health()`` found: reachability, latency, version and fallback state."""

    configured: bool
    reachable: bool
    latency_ms: float | None
    server_version: str | None
    fallback_active: bool
    reason: str | None
    pool_size: int
    in_use: int

    @property
    def status(self) -> str:
        return "degraded" if self.fallback_active else "ok"


async def health(config: RedisConfig | None = None) -> RedisHealth:
    """Ping Redis through the shared pool; never raises."""
    config = config or RedisConfig()
    check_leaks()  # logs each stale holder once and updates the gauge
    client = get_redis(config)
    if client is None:
        return RedisHealth(False, False, None, None, True, NOT_CONFIGURED, 0, 0)
    reachable, latency_ms, version = False, None, None
    try:
        started = time.perf_counter()
        await client.ping()
        latency_ms = (time.perf_counter() - started) * 1000.0
        info = await client.info("server")
        version = str(info.get("redis_version"))
        reachable = True
    except UNAVAILABLE_ERRORS:
        pass
    # Only components on this pool (same URL, shared pool) speak for this health.
    reasons = sorted(
        {r for g, r in _degraded.items() if g._client is None and g.config.url == config.url}
    )
    if not reachable and not reasons:
        reasons = [UNREACHABLE]
    reason = "; ".join(f"degraded: {r}" for r in reasons) if reasons else None
    return RedisHealth(
        True,
        reachable,
        latency_ms,
        version,
        bool(reasons),
        reason,
        _open_connections(),
        _instruments.in_use,
    )
