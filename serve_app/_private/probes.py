"""Kubernetes probes, unversioned and without a key: ``/health/live`` and ``/health/ready``.

Live answers as long as the process serves. Ready asks, each time-boxed by the actor
timeout: PostgreSQL reachable, Redis reachable when configured, every actor of the
served session answering, and trading not killed. Ready is limited per address in the
``general`` class (the kubelet's few calls a minute stay far below it) and its answer is
reused for ``READY_CACHE_S``, so a flood costs no store or actor round trips;
``/api/v1/health/details`` is the detailed report.
"""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
import time
import weakref
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Depends, Response

from serve_app._private.backend import Backend
from serve_app._private.deps import BackendDep, public
from serve_app._private.health import ROLES, elapsed_ms
from serve_app.schema import LiveOut, ProbeCheck, ReadyOut

router = APIRouter(tags=["probes"])


@router.get("/health/live", response_model=LiveOut)
async def live() -> LiveOut:
    """200 while the process serves requests (no key, no store touched)."""
    return LiveOut(status="live")


@router.get(
    "/health/ready",
    dependencies=[Depends(public())],
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "a check failed (listed)"}},
)
async def ready(backend: BackendDep, response: Response) -> ReadyOut:
    """200 when PostgreSQL (and Redis, if configured) answer, every session actor
    answers and trading is not killed; 503 naming what failed otherwise."""
    answer = await _readiness(backend).get()
    if answer.failed:
        response.status_code = 503
    return answer


READY_CACHE_S = 1.0


class _Readiness:
    """The latest readiness answer of one backend, checked again when older than
    ``READY_CACHE_S``; concurrent callers wait for one check instead of starting theirs."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.lock = asyncio.Lock()
        self.answer: ReadyOut | None = None
        self.checked_at = 0.0

    async def get(self) -> ReadyOut:
        async with self.lock:
            if self.answer is None or time.monotonic() - self.checked_at >= READY_CACHE_S:
                self.answer = await _check(self.backend)
                self.checked_at = time.monotonic()
            return self.answer


_READINESS: weakref.WeakKeyDictionary[Backend, _Readiness] = weakref.WeakKeyDictionary()


def _readiness(backend: Backend) -> _Readiness:
    if backend not in _READINESS:
        _READINESS[backend] = _Readiness(backend)
    return _READINESS[backend]


async def _check(backend: Backend) -> ReadyOut:
    found = await asyncio.gather(_postgres(backend), _redis(backend), _session(backend))
    checks: dict[str, ProbeCheck] = {}
    for part in found:
        checks.update(part)
    failed = sorted(name for name, check in checks.items() if not check.ok)
    return ReadyOut(status="not_ready" if failed else "ready", checks=checks, failed=failed)


async def _timed(name: str, limit: float, work: Awaitable[Any]) -> tuple[Any, ProbeCheck | None]:
    """``work``'s result, or a failed check when it raised or took longer than ``limit``."""
    try:
        return await asyncio.wait_for(work, limit), None
    except TimeoutError:
        return None, ProbeCheck(ok=False, detail=f"{name}: no answer within {limit:g}s")
    except Exception as exc:  # a probe reports every failure
        return None, ProbeCheck(ok=False, detail=f"{name}: {type(exc).__name__}: {exc}")


async def _postgres(backend: Backend) -> dict[str, ProbeCheck]:
    started = time.perf_counter()

    async def probe() -> dict[str, Any]:
        found: dict[str, Any] = await (await backend.pool()).health()
        return found

    found, failed = await _timed("postgres", backend.config.actor_timeout_s, probe())
    if failed is not None:
        return {"postgres": failed}
    if not found.get("reachable"):
        return {"postgres": ProbeCheck(ok=False, detail=str(found.get("error", "unreachable")))}
    return {"postgres": ProbeCheck(ok=True, latency_ms=elapsed_ms(started))}


async def _redis(backend: Backend) -> dict[str, ProbeCheck]:
    config = backend.settings.redis
    if not config.url:
        return {}
    from sigmax.storage import redis_store

    found, failed = await _timed(
        "redis", backend.config.actor_timeout_s, redis_store.health(config)
    )
    if failed is not None:
        return {"redis": failed}
    if not found.reachable:
        return {"redis": ProbeCheck(ok=False, detail=found.reason or "unreachable")}
    latency = None if found.latency_ms is None else round(found.latency_ms, 3)
    return {"redis": ProbeCheck(ok=True, latency_ms=latency)}


async def _session(backend: Backend) -> dict[str, ProbeCheck]:
    session = await backend.session_or_none()
    if session is None:
        detail = f"no trading session {backend.config.session_id!r}"
        return {"actors": ProbeCheck(ok=False, detail=detail)}
    limit = backend.config.actor_timeout_s
    started = time.perf_counter()
    pings = [
        _timed(role, limit, backend.call(getattr(session, role), "__ray_ready__", timeout=limit))
        for role in ROLES
        if getattr(session, role) is not None  # a non-graph strategy has no decision graph
    ]
    answers = await asyncio.gather(
        _timed("risk", limit, backend.call(session.risk, "status", timeout=limit)), *pings
    )
    down = [check.detail or "" for _, check in answers if check is not None]
    actors = ProbeCheck(ok=True, latency_ms=elapsed_ms(started))
    if down:
        actors = ProbeCheck(ok=False, detail="; ".join(down))
    status = answers[0][0]
    if status is None:
        return {"actors": actors, "trading": ProbeCheck(ok=False, detail="risk state unknown")}
    killed = status["state"] == "killed"
    detail = f"{status['state']}: {status.get('reason') or ''}".strip(": ")
    return {"actors": actors, "trading": ProbeCheck(ok=not killed, detail=detail)}
