"""The SIGMAX HTTP API: a FastAPI app under /api/v1, served by Ray Serve.

``create_app()`` builds the app (used in-process by tests and under plain uvicorn);
``SigmaxAPI`` is the Serve deployment with it as ingress, and ``app`` the bound
application that ``serve run serve_app.api:app`` or ``cluster/serve_config.yaml`` runs.
The routes talk to the session's actors and the stores; the trading logic stays in
``sigmax`` (an operator's order goes through ``sigmax.trading.manual``).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from ray import serve

from actors.ray_metrics import start_export
from serve_app._private import errors, versioning
from serve_app._private.backend import Backend
from serve_app._private.middleware import APIMiddleware
from serve_app._private.probes import router as probes_router
from serve_app._private.routes_analysis import router as analysis_router
from serve_app._private.routes_control import router as control_router
from serve_app._private.routes_credentials import router as credentials_router
from serve_app._private.routes_dashboard import router as dashboard_router
from serve_app._private.routes_health import router as health_router
from serve_app._private.routes_jobs import router as jobs_router
from serve_app._private.routes_keys import router as keys_router
from serve_app._private.routes_meta import legacy_router, versions_router
from serve_app._private.routes_meta import router as meta_router
from serve_app._private.routes_operator import router as operator_router
from serve_app._private.routes_proposals import router as proposals_router
from serve_app._private.routes_quantum import router as quantum_router
from serve_app._private.routes_risk import router as risk_router
from serve_app._private.routes_sessions import router as sessions_router
from serve_app._private.routes_trading import router as trading_router
from serve_app._private.static import mount_dashboard
from serve_app.config import APIConfig
from serve_app.schema import ErrorBody
from sigmax.config import Settings
from sigmax.gc_freeze import freeze_long_lived
from sigmax.storage.postgres_config import PostgresConfig

_ERRORS = {
    400: "unsupported API version",
    401: "missing, unknown, revoked or expired API key",
    403: "the key lacks the scope, or risk refused the action",
    404: "not found",
    409: "conflict with the current state",
    413: "request body too large",
    422: "invalid request",
    431: "request headers too large",
    429: "rate limit exceeded (see Retry-After)",
    500: "internal error",
    501: "not available yet",
    503: "no trading session, or a store, actor or exchange is unavailable now",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in _ERRORS.items()
}

# Every router under /api/v1, one per topic, in the order the API document lists them.
VERSIONED_ROUTERS = (
    health_router,
    meta_router,
    trading_router,
    analysis_router,
    risk_router,
    jobs_router,
    quantum_router,
    keys_router,
    control_router,
    credentials_router,
    dashboard_router,
    proposals_router,
    sessions_router,
    operator_router,
)

DESCRIPTION = """
SIGMAX trading system API. Send `Authorization: Bearer <key>` (create keys with
`sigmax keys create --scope read,trade`). Scopes: `read` < `trade` < `admin`.
Rate limits per key and endpoint class (general, analysis, trading) are reported in
`X-RateLimit-*` headers. Only `/api/v1/health`, `/api/versions`, the Kubernetes probes
`/health/live` and `/health/ready`, and these docs answer without a key.
"""


MIN_KEY_RECHECK_S = 0.25  # an open WebSocket's key is looked up at most this often


def _mount_websocket(app: FastAPI, backend: Backend) -> bool:
    """Mount the event WebSocket at /api/v1/ws when serve_app/_private/ws.py exists."""
    if importlib.util.find_spec("serve_app._private.ws") is None:
        return False
    from serve_app._private import ws

    # an open socket's key goes through the replica's key cache, which notices a
    # revocation within key_revocation_check_s; checking it at half that interval
    # closes the socket within 1.5 intervals of the revocation
    recheck_s = max(backend.config.key_revocation_check_s / 2, MIN_KEY_RECHECK_S)
    router = ws.websocket_router(backend.authenticate, recheck_key_s=recheck_s)
    app.include_router(router, prefix=versioning.PREFIX)
    return True


def create_app(
    settings: Settings | None = None,
    config: APIConfig | None = None,
    *,
    behind_serve: bool = False,
    freeze_gc: bool = False,
) -> FastAPI:
    """The API as a FastAPI app; stores open lazily on the first request. ``behind_serve``:
    the app is a Serve deployment's ingress, whose proxy returns the request id itself.
    ``freeze_gc``: the process serves this app alone (a replica, a uvicorn worker); the
    objects alive at start and after the first requests are exempted from garbage
    collection (``serve_app/_private/gc_freeze.py``). Not for a process that does other
    work, a test run say: nothing alive then would ever be collected again."""
    backend = Backend(settings, config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if freeze_gc:  # full collections then skip the app's own objects
            freeze_long_lived()
        yield
        await app.state.backend.close()

    app = FastAPI(
        title="SIGMAX API",
        version=versioning.API_VERSION,
        description=DESCRIPTION,
        openapi_url=f"{versioning.PREFIX}/openapi.json",
        docs_url=f"{versioning.PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.backend = backend
    errors.install(app)
    app.include_router(versions_router, responses=ERROR_RESPONSES)
    for router in VERSIONED_ROUTERS:
        app.include_router(router, prefix=versioning.PREFIX, responses=ERROR_RESPONSES)
    app.include_router(probes_router)  # /health/live, /health/ready: before legacy paths
    app.state.websocket = _mount_websocket(app, backend)
    app.state.web_dist = mount_dashboard(app)  # before the legacy catch-all paths
    app.include_router(legacy_router())
    app.add_middleware(
        APIMiddleware,
        backend=lambda: app.state.backend,
        proxy_echoes_request_id=behind_serve,
        freeze_gc_after_warm_up=freeze_gc,
    )
    return app


_defaults = APIConfig()


@serve.deployment(
    name="SigmaxAPI",
    max_ongoing_requests=_defaults.max_ongoing_requests,
    autoscaling_config={
        "min_replicas": _defaults.min_replicas,
        "max_replicas": _defaults.max_replicas,
        "target_ongoing_requests": _defaults.target_ongoing_requests,
    },
    ray_actor_options={"num_cpus": _defaults.replica_num_cpus},
)
@serve.ingress()
class SigmaxAPI:
    """One API replica; it builds its own app at start (nothing is pickled from the
    driver). ``settings_json`` / ``config_json`` override the environment (tests pass a
    throwaway schema and Redis prefix this way); ``postgres_json`` replaces only the
    PostgreSQL config (``sigmax up`` passes the DSN its actors use). Secrets are read
    here, from Vault or this process's environment: never sent in a runtime_env, which
    Ray writes to its logs."""

    def __init__(
        self,
        settings_json: str | None = None,
        config_json: str | None = None,
        postgres_json: str | None = None,
    ) -> None:
        self.settings = Settings.model_validate_json(settings_json) if settings_json else None
        if postgres_json:
            postgres = PostgresConfig.model_validate_json(postgres_json)
            self.settings = (self.settings or Settings()).model_copy(update={"postgres": postgres})
        self.config = APIConfig.model_validate_json(config_json) if config_json else None
        start_export()  # this replica's metrics through Ray's metrics agent too

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.settings, self.config, behind_serve=True, freeze_gc=True)


app = SigmaxAPI.bind()  # type: ignore[attr-defined]
