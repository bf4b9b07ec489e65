"""The health report: every store's and session actor's state, each check time-boxed
and never raising (a failure is reported, not thrown); and its public summary, which
says only up, degraded or down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from serve_app._private.backend import Backend
from serve_app._private.versioning import API_VERSION
from serve_app.exceptions import ServiceUnavailable
from serve_app.schema import ComponentHealth, ComponentStatusOut, HealthOut, PublicHealthOut

ROLES = ("risk", "execution", "portfolio", "decision_graph", "market_data")
PUBLIC_STATUS = {"ok": "up", "degraded": "degraded", "down": "down", "not_running": "down"}


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a perf_counter reading), to the microsecond."""
    return round((time.perf_counter() - started) * 1000, 3)


async def health_report(backend: Backend) -> HealthOut:
    """Every store and session actor; ``down`` when a required part (PostgreSQL) is down,
    ``degraded`` when a store is down or runs on a fallback."""
    pg, redis, ch, secrets, actors = await asyncio.gather(
        _postgres(backend),
        _redis(backend),
        _clickhouse(backend),
        _secrets(backend),
        _actors(backend),
    )
    stores = {"postgres": pg, "redis": redis, "clickhouse": ch, "secrets": secrets}
    if any(c.required and c.status == "down" for c in stores.values()):
        overall = "down"
    elif any(c.status in ("degraded", "down") for c in stores.values()):
        overall = "degraded"
    else:
        overall = "ok"
    return HealthOut(
        status=overall,
        version=API_VERSION,
        session_id=backend.config.session_id,
        stores=stores,
        actors=actors,
    )


def public_summary(report: HealthOut) -> PublicHealthOut:
    """The report without versions, latencies, pool, backend or token details."""

    def statuses(parts: dict[str, ComponentHealth]) -> dict[str, ComponentStatusOut]:
        return {
            name: ComponentStatusOut(status=PUBLIC_STATUS[c.status]) for name, c in parts.items()
        }

    return PublicHealthOut(
        status=PUBLIC_STATUS[report.status],
        stores=statuses(report.stores),
        actors=statuses(report.actors),
    )


def _failed(exc: BaseException, required: bool = False) -> ComponentHealth:
    return ComponentHealth(
        status="down", required=required, detail={"error": f"{type(exc).__name__}: {exc}"}
    )


async def _probe(open_client: Callable[[], Any], timeout_s: float = 10) -> Any:
    """``health()`` of a client opened for this one check, in a thread, closed after."""

    def check() -> Any:
        client = open_client()
        try:
            return client.health()
        finally:
            client.close()

    return await asyncio.wait_for(asyncio.to_thread(check), timeout_s)


async def _postgres(backend: Backend) -> ComponentHealth:
    started = time.perf_counter()
    try:
        pool = await asyncio.wait_for(backend.pool(), 10)
        found = await pool.health()
    except Exception as exc:  # health reports every failure
        return _failed(exc, required=True)
    if not found.get("reachable"):
        return ComponentHealth(status="down", required=True, detail=found)
    return ComponentHealth(status="ok", required=True, latency_ms=elapsed_ms(started), detail=found)


async def _redis(backend: Backend) -> ComponentHealth:
    from sigmax.storage import redis_store

    found = await redis_store.health(backend.settings.redis)
    detail: dict[str, Any] = {
        "configured": found.configured,
        "reachable": found.reachable,
        "server_version": found.server_version,
        "rate_limit_backend": "memory" if backend.limiter.degraded_reason else "redis",
    }
    fallback = [found.reason] if found.reason else []
    if backend.limiter.degraded_reason:
        fallback.append(f"rate limits: {backend.limiter.degraded_reason}")
    if fallback:
        detail["fallback"] = "; ".join(fallback)
    status = "degraded" if found.fallback_active or backend.limiter.degraded_reason else "ok"
    latency = None if found.latency_ms is None else round(found.latency_ms, 3)
    return ComponentHealth(status=status, latency_ms=latency, detail=detail)


async def _clickhouse(backend: Backend) -> ComponentHealth:
    config = backend.settings.clickhouse
    if config.url:
        from sigmax.storage.clickhouse_store import open_store

        try:
            found = await _probe(lambda: open_store(config))
        except Exception as exc:  # health reports every failure
            return _failed(exc)
        return ComponentHealth(
            status="ok" if found.reachable else "down",
            latency_ms=found.latency_ms,
            detail={"backend": found.backend, "location": found.location, "error": found.error},
        )
    return await _embedded_clickhouse(backend)


async def _embedded_clickhouse(backend: Backend) -> ComponentHealth:
    """Embedded chdb locks its data directory: only the timeseries-store actor opens it."""
    detail = {"backend": "chdb", "owner": "timeseries-store actor"}
    if backend.ray_ready():
        from actors import options
        from actors.registry import SessionNotRunning, find

        started = time.perf_counter()
        try:
            handle = await asyncio.to_thread(
                find, options.TIMESERIES_STORE, backend.config.session_id
            )
            found = await backend.call(handle, "health", timeout=5)
            ok = found.get("reachable")
            return ComponentHealth(
                status="ok" if ok else "down",
                latency_ms=elapsed_ms(started),
                detail={**detail, **found},
            )
        except (SessionNotRunning, ServiceUnavailable):
            pass
    return ComponentHealth(status="not_running", detail=detail)


async def _secrets(backend: Backend) -> ComponentHealth:
    from sigmax.credentials.cipher_choice import cipher_health
    from sigmax.secrets import SecretsManager

    try:
        found = await _probe(lambda: SecretsManager(backend.settings.vault))
    except Exception as exc:  # health reports every failure
        return _failed(exc)
    configured = backend.settings.vault.not_configured_reason is None
    ok = found.backend == "vault" and found.authenticated
    status = "ok" if ok or not configured else "degraded"
    detail = {**found.model_dump(mode="json"), **cipher_health(backend.settings.vault)}
    return ComponentHealth(status=status, latency_ms=found.latency_ms, detail=detail)


async def _actors(backend: Backend) -> dict[str, ComponentHealth]:
    session = await backend.session_or_none()
    if session is None:
        reason = {"reason": f"no trading session {backend.config.session_id!r}"}
        return {r: ComponentHealth(status="not_running", detail=reason) for r in ROLES}

    async def ping(role: str) -> tuple[str, ComponentHealth]:
        started = time.perf_counter()
        try:
            await backend.call(getattr(session, role), "__ray_ready__", timeout=5)
        except Exception as exc:  # health reports every failure
            return role, ComponentHealth(status="down", detail={"error": type(exc).__name__})
        return role, ComponentHealth(status="ok", latency_ms=elapsed_ms(started))

    present = [r for r in ROLES if getattr(session, r) is not None]  # no graph: not used
    return dict(await asyncio.gather(*(ping(r) for r in present)))
