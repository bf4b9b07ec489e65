"""What the routes talk to: the stores (pool, rate limiter) and the session's actors.

One :class:`Backend` per API process (Serve replica or uvicorn worker). Stores open
lazily on first use, in the event loop that serves requests. Session actors are
found by name (``actors.registry``); when Ray is not initialised or the session is
not running, session calls raise :class:`~serve_app.exceptions.NoSession`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

import structlog

from actors.registry import SessionHandles
from serve_app._private.auth import Principal
from serve_app._private.client_address import client_address, networks, serve_haproxy_addresses
from serve_app._private.keycache import REVOCATION_MARK_SQL, KeyCache
from serve_app._private.ratelimit import FailSafeLimiter
from serve_app._private.read_cache import SUBSCRIBED, TOPICS, SessionReads
from serve_app.config import APIConfig
from serve_app.exceptions import NoSession, ServiceUnavailable, Unauthorized
from sigmax.config import Settings
from sigmax.model import BarSeries, utc_now
from sigmax.storage.postgres import PostgresPool, get_pool
from sigmax.storage.rate_limit import RateLimiter
from sigmax.storage.redis_store import get_redis
from sigmax.storage.repos.keys import ApiKeyRepository, hash_key
from sigmax.tracing import remote_call

T = TypeVar("T")
log = structlog.get_logger(__name__)


# The served session's actors, found by name (the API imports no actor classes).
Session = SessionHandles


class Backend:
    """Stores and session access of one API process."""

    def __init__(self, settings: Settings | None = None, config: APIConfig | None = None) -> None:
        self.settings = settings or Settings()
        self.config = config or APIConfig()
        self.started = time.monotonic()
        shared = RateLimiter(self.settings.redis, prefix=self.config.rate_limit_prefix)
        self.limiter = FailSafeLimiter(shared, self.config.max_replicas)
        self.trusted_proxies = networks(self.config.trusted_proxies + serve_haproxy_addresses())
        self._migrated: set[int] = set()
        self._session: Session | None = None
        self._session_at = 0.0
        # sha256(key) -> principal: spares a PostgreSQL round trip (a SELECT and an
        # UPDATE of last_used_at on one row) per request; any revocation drops it
        self.keys = KeyCache(self._revocation_mark, self.config.key_revocation_check_s)
        self._no_session_at: float | None = None
        # /status, /positions, /portfolio answers until the session's next event
        sources = [_bus_notices, self._write_notices] if self.settings.redis.url else []
        self.reads = SessionReads(
            self.config.session_id,
            self.config.read_cache_s,
            sources,
            _bus_is_shared,
            self._announce_write,
        )

    def address_of(self, scope: MutableMapping[str, Any]) -> str:
        """The caller's address for per-address limits (forwarded only via our proxies)."""
        return client_address(scope, self.trusted_proxies)

    @property
    def account(self) -> str:
        return f"paper:{self.config.session_id}"

    # ---- PostgreSQL --------------------------------------------------------------------

    async def pool(self) -> PostgresPool:
        """The process-wide pool of this loop; the schema is migrated once per pool."""
        from sigmax.storage.migrations import migrate

        pool = await get_pool(self.settings.postgres)
        if id(pool) not in self._migrated:
            await migrate(pool)
            self._migrated.add(id(pool))
        return pool

    # ---- API keys ----------------------------------------------------------------------

    async def authenticate(self, token: str) -> Principal:
        """The principal of a valid, active key; Unauthorized otherwise.

        Verified keys are remembered for ``auth_cache_s`` (never past their expiry)
        while no key is revoked anywhere: the revocation mark is read at most every
        ``key_revocation_check_s`` (:class:`~serve_app._private.keycache.KeyCache`).
        """
        digest = hash_key(token)
        cached = await self.keys.get(digest) if self.config.auth_cache_s > 0 else None
        if cached is not None:
            structlog.contextvars.bind_contextvars(key_id=cached.key_id)
            return cached
        generation = self.keys.generation
        key = await ApiKeyRepository(await self.pool()).verify(token)
        if key is None:
            raise Unauthorized()
        principal = Principal(key.id, frozenset(key.scopes), key.name)
        ttl = self.config.auth_cache_s
        if key.expires_at is not None:
            ttl = min(ttl, (key.expires_at - utc_now()).total_seconds())
        self.keys.put(digest, principal, ttl, generation)
        structlog.contextvars.bind_contextvars(key_id=key.id)
        return principal

    def forget_key(self, key_id: int) -> None:
        """Drop a revoked or rotated key from this replica's cache."""
        self.keys.forget(key_id)

    # ---- read cache: writes through any replica ------------------------------------------

    @property
    def _reads_channel(self) -> str:
        return f"{self.config.rate_limit_prefix}reads"

    async def _write_notices(self) -> AsyncIterator[str]:
        """Session ids of writes served by any replica (Redis pub/sub)."""
        client = get_redis(self.settings.redis)
        if client is None:
            raise ConnectionError("redis not configured")
        pubsub = client.pubsub()
        await pubsub.subscribe(self._reads_channel)
        try:
            yield SUBSCRIBED
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    data = message["data"]
                    yield data.decode() if isinstance(data, bytes) else str(data)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis ships no annotations here

    async def _announce_write(self, session_id: str) -> None:
        client = get_redis(self.settings.redis)
        if client is not None:
            await client.publish(self._reads_channel, session_id)

    async def _revocation_mark(self) -> tuple[object, ...]:
        async with (await self.pool()).acquire() as conn:
            row = await conn.fetchrow(REVOCATION_MARK_SQL)
        return (row["revoked"], row["last"])

    # ---- session -----------------------------------------------------------------------

    @staticmethod
    def ray_ready() -> bool:
        try:
            import ray
        except ImportError:  # pragma: no cover - ray is a dependency
            return False
        return bool(ray.is_initialized())

    async def session(self) -> Session:
        """The served session's actors; NoSession when it is not running.

        Both answers are reused for ``session_cache_s``: a found session's handles, and
        that there is none (a name lookup in Ray's GCS per request would otherwise
        cost every request on a replica without a session)."""
        now = time.monotonic()
        cached = self._session
        fresh = self.config.session_cache_s
        if cached is not None and now - self._session_at < fresh:
            return cached
        if not self.ray_ready():
            raise NoSession(self.config.session_id)
        if self._no_session_at is not None and now - self._no_session_at < fresh:
            raise NoSession(self.config.session_id)
        from actors.registry import SessionNotRunning, find_session

        try:
            handles = await asyncio.to_thread(find_session, self.config.session_id)
        except SessionNotRunning:
            self._session, self._no_session_at = None, now
            raise NoSession(self.config.session_id) from None
        self._session, self._session_at, self._no_session_at = handles, now, None
        return handles

    async def session_or_none(self) -> Session | None:
        try:
            return await self.session()
        except NoSession:
            return None

    def forget_session(self) -> None:
        self._session, self._no_session_at = None, None

    async def call(self, handle: Any, method: str, *args: Any, timeout: float | None = None) -> Any:
        """``await handle.method.remote(*args)`` with a timeout; a dead actor means the
        session is gone (NoSession), a slow one is 503 naming it."""
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        ref = remote_call(getattr(handle, method), *args)  # with the request's trace
        limit = timeout if timeout is not None else self.config.actor_timeout_s
        try:
            return await asyncio.wait_for(_awaitable(ref), limit)
        except (ActorDiedError, RayActorError, ActorUnavailableError):
            self.forget_session()
            raise NoSession(self.config.session_id) from None
        except TimeoutError:
            raise ServiceUnavailable(
                f"session actor did not answer {method!r} within {limit}s; try again"
            ) from None

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking code (ports that ``ray.get``) off the event loop; a dead actor
        becomes NoSession."""
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        try:
            return await asyncio.to_thread(fn, *args)
        except (ActorDiedError, RayActorError, ActorUnavailableError):
            self.forget_session()
            raise NoSession(self.config.session_id) from None

    async def histories(self, session: Session) -> dict[str, BarSeries]:
        """Every symbol's history so far (the replay is not advanced); NoSession before
        the session's first bar."""
        histories: dict[str, BarSeries] = await self.call(session.market_data, "histories")
        if not histories:
            raise NoSession(self.config.session_id)
        return histories

    async def close(self) -> None:
        from sigmax.storage.postgres import close_pools
        from sigmax.storage.redis_store import close_redis

        await self.reads.close()
        await close_pools()
        await close_redis()


async def _bus_notices() -> AsyncIterator[str]:
    """Session ids of the events the sessions publish (this process's subscriber)."""
    from serve_app._private.events import event_bus

    subscription = await event_bus().subscribe(TOPICS)
    try:
        yield SUBSCRIBED
        while True:
            try:
                event = await subscription.get()
            except StopAsyncIteration:
                return
            yield event.session_id
    finally:
        subscription.close()


def _bus_is_shared() -> bool:
    """Whether the session's events reach this process (Redis pub/sub up, not the
    in-process fallback)."""
    from serve_app._private.events import event_bus

    return not event_bus().health().fallback_active


def _awaitable(ref: Any) -> Awaitable[Any]:
    async def wait() -> Any:
        return await ref

    return wait()
