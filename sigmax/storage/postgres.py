"""The process-wide asyncpg pool: one per (DSN, event loop), shared by every caller.

``await get_pool()`` returns the pool of the running event loop for the configured
DSN, creating it on first use (and starting the embedded server when no DSN is set).
``PostgresPool.acquire()`` hands out a connection and reports to
:class:`~sigmax.storage.pool_metrics.PoolInstruments` (size, in use, waiting, acquire
latency, connections held too long with the stack that took them).

Failure modes are explicit:

* no free connection within ``pool_timeout`` → :class:`PoolTimeoutError` naming the
  pool size and the timeout;
* the server is down or a connection died (restart, network) →
  :class:`DatabaseUnavailableError`; the statement did not commit and the caller must
  retry. Broken connections are dropped by asyncpg, so the next acquire after the
  server is back opens a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog
from prometheus_client import REGISTRY, CollectorRegistry

from sigmax.errors import NotFoundError, SigmaxError, UnavailableError
from sigmax.serialize import canonical_json
from sigmax.storage.pool_metrics import PoolInstruments
from sigmax.storage.postgres_config import PostgresConfig, redact_dsn

log = structlog.get_logger(__name__)

# asyncpg has no type hints; a pooled connection is a PoolConnectionProxy of Connection.
Connection = Any


class StorageError(SigmaxError, RuntimeError):
    """Base class of the storage layer's errors; each subclass is in one category."""


class RecordNotFoundError(StorageError, NotFoundError):
    """No stored record has that key."""


class StoreClosedError(StorageError, UnavailableError):
    """The pool or sink is not open: not opened yet, or already closed."""


class PoolTimeoutError(StorageError, UnavailableError, TimeoutError):
    """No connection became free within the pool timeout."""


class DatabaseUnavailableError(StorageError, UnavailableError):
    """The server could not be reached or the connection died; nothing was committed."""


_SERVER_GONE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, *_SERVER_GONE)


def _json_encode(value: Any) -> str:
    return canonical_json(value, "jsonb value")


async def _init_connection(conn: Connection) -> None:
    """JSON and JSONB columns take and give Python values (Decimals become strings)."""
    for name in ("jsonb", "json"):
        await conn.set_type_codec(
            name, encoder=_json_encode, decoder=json.loads, schema="pg_catalog"
        )


def _is_closed(conn: Connection) -> bool:
    """Whether a pooled connection died; asyncpg detaches a proxy whose link broke."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # "released back to the pool" by asyncpg itself
        return True


class PostgresPool:
    """An asyncpg pool with gauges, leak detection, clear timeouts and health.

    Created lazily: the asyncpg pool opens on the first ``acquire`` (or ``open``).
    Bound to the event loop it was opened on.
    """

    def __init__(
        self,
        config: PostgresConfig | None = None,
        dsn: str | None = None,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.config = config if config is not None else PostgresConfig()
        self._dsn = dsn if dsn is not None else self.config.dsn
        self.instruments = PoolInstruments(
            "postgres", leak_after_s=self.config.leak_threshold_s, registry=registry
        )
        self._pool: Any = None
        self._open_lock = asyncio.Lock()
        self._born: dict[int, float] = {}  # server pid -> monotonic time the connection opened
        self._waiting = 0
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def dsn(self) -> str:
        if self._dsn is None:
            raise StoreClosedError("postgres pool: not opened yet (no DSN resolved)")
        return self._dsn

    async def open(self) -> PostgresPool:
        """Create the asyncpg pool (idempotent); starts the embedded server if needed."""
        if self._pool is not None:
            return self
        async with self._open_lock:
            if self._pool is not None:
                return self
            if self._closed:
                raise StoreClosedError("postgres pool: already closed")
            if self._dsn is None:
                from sigmax.storage.embedded_postgres import ensure_embedded_postgres

                self._dsn = await asyncio.to_thread(ensure_embedded_postgres, self.config)
            cfg = self.config
            settings = {"application_name": cfg.application_name}
            if cfg.statement_timeout_ms:
                settings["statement_timeout"] = str(cfg.statement_timeout_ms)
            if cfg.schema_name:
                settings["search_path"] = f"{cfg.schema_name},public"
            try:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=cfg.min_size,
                    max_size=cfg.max_size,
                    max_inactive_connection_lifetime=cfg.pool_recycle,
                    timeout=cfg.pool_timeout,
                    command_timeout=None,
                    server_settings=settings,
                    init=self._init,
                )
            except _CONNECTION_ERRORS as exc:
                raise DatabaseUnavailableError(
                    f"postgres at {redact_dsn(self._dsn)} unreachable: {exc}"
                ) from exc
            self.instruments.set_size(self._pool.get_size())
            self._watcher = asyncio.get_running_loop().create_task(self._watch_leaks())
        return self

    async def _init(self, conn: Connection) -> None:
        await _init_connection(conn)
        self._born[conn.get_server_pid()] = time.monotonic()

    async def _watch_leaks(self) -> None:
        period = min(max(self.config.leak_threshold_s / 2, 0.01), 5.0)
        while True:
            await asyncio.sleep(period)
            self.instruments.check_leaks()

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        """A pooled connection for the body of an ``async with``."""
        pool = self._pool if self._pool is not None else (await self.open())._pool
        inst = self.instruments
        started = inst.waiting_started()
        self._waiting += 1
        try:
            conn = await pool.acquire(timeout=self.config.pool_timeout)
        except TimeoutError as exc:
            inst.acquire_failed()
            raise PoolTimeoutError(
                f"postgres pool: no connection free within {self.config.pool_timeout}s "
                f"(pool size {self.config.pool_size} + overflow {self.config.max_overflow} "
                f"= max {self.config.max_size}, {inst.in_use} in use); a caller holds "
                "connections too long or POSTGRES_POOL_SIZE is too small"
            ) from exc
        except _CONNECTION_ERRORS as exc:
            inst.acquire_failed()
            raise self._unavailable(exc) from exc
        except BaseException:
            inst.acquire_failed()
            raise
        finally:
            self._waiting -= 1
        token = inst.acquired(started)
        inst.set_size(pool.get_size())
        try:
            yield conn
        except BaseException as exc:
            # An OSError of the caller's own code is not a database outage.
            if isinstance(exc, _SERVER_GONE) or (
                isinstance(exc, OSError | asyncpg.InterfaceError) and _is_closed(conn)
            ):
                raise self._unavailable(exc) from exc
            raise
        finally:
            inst.check_leaks()  # a leak released before the watcher ran is still reported
            inst.released(token)
            try:
                await self._release(pool, conn)
            finally:
                inst.set_size(pool.get_size())

    async def _release(self, pool: Any, conn: Connection) -> None:
        if not _is_closed(conn):
            pid = conn.get_server_pid()
            born = self._born.get(pid)
            if born is not None and time.monotonic() - born > self.config.pool_recycle:
                self._born.pop(pid, None)
                await conn.close(timeout=self.config.pool_timeout)  # the pool reconnects later
        await pool.release(conn)

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailableError:
        return DatabaseUnavailableError(
            f"postgres at {redact_dsn(self.dsn)} unavailable ({type(exc).__name__}: {exc}); "
            "the statement was not committed, retry when the server is back"
        )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside one transaction: committed on exit, rolled back on error."""
        async with self.acquire() as conn, conn.transaction():
            yield conn

    def stats(self) -> dict[str, int]:
        """Pool counters: size, idle, in use, waiting, min and max."""
        pool = self._pool
        return {
            "size": pool.get_size() if pool else 0,
            "idle": pool.get_idle_size() if pool else 0,
            "in_use": self.instruments.in_use,
            "waiting": self._waiting,
            "min_size": self.config.min_size,
            "max_size": self.config.max_size,
        }

    def check_leaks(self) -> list[str]:
        """Stacks of connections held longer than the leak threshold (logged once each)."""
        return self.instruments.check_leaks()

    async def health(self) -> dict[str, Any]:
        """Reachability, round-trip latency, server version and pool stats; never raises."""
        started = time.perf_counter()
        try:
            async with self.acquire() as conn:
                version = await conn.fetchval("SHOW server_version")
        except (StorageError, asyncpg.PostgresError, OSError) as exc:
            return {
                "reachable": False,
                "error": f"{type(exc).__name__}: {exc}",
                "pool": self.stats(),
            }
        return {
            "reachable": True,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "server_version": version,
            "pool": self.stats(),
        }

    async def close(self) -> None:
        """Close every connection (waits for those in use to come back)."""
        self._closed = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
            self.instruments.set_size(0)

    async def __aenter__(self) -> PostgresPool:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


_pools: dict[tuple[str, asyncio.AbstractEventLoop], PostgresPool] = {}


def _key(config: PostgresConfig) -> str:
    target = config.dsn if config.dsn is not None else f"embedded:{config.embedded_data_dir}"
    return f"{target}#{config.schema_name or ''}"


async def get_pool(config: PostgresConfig | None = None) -> PostgresPool:
    """The process-wide pool of the running loop for ``config`` (default: from env)."""
    config = config if config is not None else PostgresConfig()
    loop = asyncio.get_running_loop()
    for stale in [k for k in _pools if k[1].is_closed()]:
        del _pools[stale]
    key = (_key(config), loop)
    pool = _pools.get(key)
    if pool is None:
        pool = _pools[key] = PostgresPool(config)
    try:
        return await pool.open()
    except BaseException:
        if _pools.get(key) is pool:
            del _pools[key]
        raise


async def close_pools() -> None:
    """Close the pools of the running loop and forget those of closed loops."""
    loop = asyncio.get_running_loop()
    for key in list(_pools):
        if key[1] is loop:
            await _pools.pop(key).close()
        elif key[1].is_closed():
            del _pools[key]
