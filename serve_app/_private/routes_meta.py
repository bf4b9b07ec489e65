"""The API about itself: its versions, the served session's status, Prometheus metrics,
and the unversioned legacy paths that redirect to the current version."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
import contextlib
import os
import socket
import time
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse

from actors.session_metrics import record_activity, record_verdicts
from serve_app._private import metrics, versioning
from serve_app._private.backend import Backend, Session
from serve_app._private.deps import BackendDep, ReadKey, public
from serve_app._private.session_views import portfolio_out
from serve_app.exceptions import NotFound
from serve_app.schema import StatusOut, VersionInfo, VersionsOut

REPLICA = f"{socket.gethostname()}:{os.getpid()}"

router = APIRouter(tags=["meta"])
versions_router = APIRouter(tags=["meta"])


@versions_router.get("/api/versions", response_model=VersionsOut, dependencies=[Depends(public())])
async def api_versions() -> VersionsOut:
    """Every API version and its status (no key needed)."""
    return VersionsOut(
        current=versioning.CURRENT,
        versions=[
            VersionInfo(
                version=v,
                status=status,
                path=f"/api/{v}",
                sunset=sunset.isoformat() if sunset else None,
            )
            for v, (status, sunset) in versioning.VERSIONS.items()
        ],
    )


@router.get("/status", response_model=StatusOut)
async def status(backend: BackendDep, _: ReadKey) -> StatusOut:
    """The served session: running or not, risk state, bars left to replay."""
    running, risk, remaining = await backend.reads.get("status", lambda: _session_status(backend))
    return StatusOut(
        version=versioning.API_VERSION,
        session_id=backend.config.session_id,
        account=backend.account,
        session_running=running,
        risk=risk,
        remaining_bars=remaining,
        rate_limit_backend="memory" if backend.limiter.degraded_reason else "redis",
        replica=REPLICA,
        uptime_s=round(time.monotonic() - backend.started, 3),
    )


async def _session_status(backend: Backend) -> tuple[bool, Any, Any]:
    """(running, risk status, bars left) of the served session, from its actors."""
    session = await backend.session_or_none()
    if session is None:
        return False, None, None
    risk, remaining = await asyncio.gather(
        backend.call(session.risk, "status"), backend.call(session.market_data, "remaining")
    )
    return True, risk, remaining


@router.get(
    "/metrics",
    response_model=None,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def prometheus_metrics(backend: BackendDep, _: ReadKey) -> PlainTextResponse:
    """Prometheus text: API requests/latency/429s by endpoint class, trading gauges, and
    the connection pools of this replica and of every actor process (label ``actor``)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    session = await backend.session_or_none()
    metrics.SESSION_UP.set(0 if session is None else 1)
    if session is not None:
        with contextlib.suppress(Exception):  # a scrape never fails on the session
            await _trading_metrics(backend, session)
    view = await metrics.scrape_view()  # every SIGMAX process's pools, by actor
    return PlainTextResponse(generate_latest(view), media_type=CONTENT_TYPE_LATEST)


async def _trading_metrics(backend: Backend, session: Session) -> None:
    book = await portfolio_out(backend, session)
    metrics.EQUITY.set(float(book.equity))
    metrics.CASH.set(float(book.cash))
    metrics.REALIZED.set(float(book.realized_pnl))
    metrics.UNREALIZED.set(float(book.unrealized_pnl))
    metrics.EXPOSURE.set(float(book.exposure))
    state = (await backend.call(session.risk, "status"))["state"]
    for s in metrics.RISK_STATES:
        metrics.RISK_STATE.labels(s).set(1 if s == state else 0)
    await _activity_metrics(backend, session)


async def _activity_metrics(backend: Backend, session: Session) -> None:
    record_activity(await backend.call(session.execution, "activity"))
    record_verdicts(await backend.call(session.risk, "verdict_counts"))


def legacy_router() -> APIRouter:
    """Unversioned legacy paths → 308 to /api/v1/..., marked deprecated."""
    legacy = APIRouter(include_in_schema=False)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]

    @legacy.api_route("/{root}", methods=methods)
    @legacy.api_route("/{root}/{rest:path}", methods=methods)
    async def redirect(request: Request, root: str, rest: str = "") -> Response:
        if root not in versioning.LEGACY_ROOTS:
            raise NotFound(f"no route {request.url.path}; the API lives under {versioning.PREFIX}")
        target = f"{versioning.PREFIX}/{root}" + (f"/{rest}" if rest else "")
        if request.url.query:
            target += f"?{request.url.query}"
        headers = {"Location": target, **versioning.deprecation_headers(target)}
        return Response(status_code=308, headers=headers)

    return legacy
