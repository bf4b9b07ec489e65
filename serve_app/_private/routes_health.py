"""GET /api/v1/health: up, degraded or down per store and session actor, for anyone;
GET /api/v1/health/details: the whole report (versions, latencies, pools, secrets
backend), for a key with read scope. Both answer 503 when PostgreSQL is down."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

from fastapi import APIRouter, Depends, Response

from serve_app._private.deps import BackendDep, ReadKey, public
from serve_app._private.health import health_report, public_summary
from serve_app.schema import HealthOut, PublicHealthOut

router = APIRouter(prefix="/health", tags=["meta"])


@router.get(
    "",
    response_model=PublicHealthOut,
    dependencies=[Depends(public())],
    responses={503: {"model": PublicHealthOut, "description": "PostgreSQL is down"}},
)
async def health(backend: BackendDep, response: Response) -> PublicHealthOut:
    """Up, degraded or down, overall and per store and session actor (no key needed).

    503 when a required part (PostgreSQL) is down; actors not running are reported
    (down), not fatal. ``/api/v1/health/details`` has the whole report."""
    report = await health_report(backend)
    if report.status == "down":
        response.status_code = 503
    return public_summary(report)


@router.get(
    "/details",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "PostgreSQL is down"}},
)
async def health_details(backend: BackendDep, _: ReadKey, response: Response) -> HealthOut:
    """Every store's and session actor's health with its details: versions, latency,
    pool figures, fallbacks, the secrets backend (read scope)."""
    report = await health_report(backend)
    if report.status == "down":
        response.status_code = 503
    return report
