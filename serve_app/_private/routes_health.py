"""GET /api/v1/health: the stores' and session actors' health."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

from fastapi import APIRouter, Depends, Response

from serve_app._private.deps import BackendDep, public
from serve_app._private.health import health_report
from serve_app.schema import HealthOut

router = APIRouter(tags=["meta"])


@router.get(
    "/health",
    response_model=HealthOut,
    dependencies=[Depends(public())],
    responses={503: {"model": HealthOut, "description": "PostgreSQL is down"}},
)
async def health(backend: BackendDep, response: Response) -> HealthOut:
    """Liveness plus every store's and session actor's health (no key needed).

    503 when a required part (PostgreSQL) is down; actors not running are reported,
    not fatal."""
    report = await health_report(backend)
    if report.status == "down":
        response.status_code = 503
    return report
