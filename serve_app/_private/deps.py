"""FastAPI dependencies: the backend, authentication with scope, and rate limiting;
the annotated parameter types every router uses, and how the audit names the caller."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from serve_app._private.auth import Principal
from serve_app._private.backend import Backend
from serve_app._private.ratelimit import enforce
from serve_app.exceptions import Unauthorized

bearer = HTTPBearer(auto_error=False, description="an API key from `sigmax keys create`")


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


# Dependencies are coroutines even where they do not await: FastAPI runs a plain
# function dependency in a worker thread, a thread hand-off on every request.
async def _backend_dependency(request: Request) -> Backend:
    return backend_of(request)


def _state(request: Request) -> dict[str, Any]:
    state: dict[str, Any] = request.scope.setdefault("state", {})
    return state


def client_address(request: Request) -> str:
    return backend_of(request).address_of(request.scope)


async def _limit(request: Request, backend: Backend, who: str, endpoint_class: str) -> None:
    cfg = backend.config
    await enforce(
        backend.limiter,
        _state(request),
        who,
        endpoint_class,
        cfg.limit_for(endpoint_class),
        cfg.rate_window_s,
    )


def public(endpoint_class: str = "general") -> Callable[..., Awaitable[None]]:
    """A public endpoint: rate limited per client address."""

    async def dependency(request: Request) -> None:
        backend = backend_of(request)
        await _limit(request, backend, f"ip:{backend.address_of(request.scope)}", endpoint_class)

    return dependency


def guard(scope: str, endpoint_class: str = "general") -> Callable[..., Awaitable[Principal]]:
    """Require a valid key with ``scope``; then count the request in ``endpoint_class``.

    A missing or bad key is counted against the caller's address (so guessing is rate
    limited too) and answered 401; a key without the scope 403.
    """

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> Principal:
        backend = backend_of(request)
        state = _state(request)
        state["endpoint_class"] = endpoint_class
        token = credentials.credentials if credentials is not None else None
        principal: Principal | None = None
        if token and len(token) <= 200:
            try:
                principal = await backend.authenticate(token)
            except Unauthorized:
                principal = None
        if principal is None:
            await _limit(request, backend, f"ip:{backend.address_of(request.scope)}", "general")
            raise Unauthorized()
        state["principal"] = principal
        principal.require(scope)
        await _limit(request, backend, f"key:{principal.key_id}", endpoint_class)
        return principal

    return dependency


read = guard("read")
trade = guard("trade", "trading")
analysis = guard("read", "analysis")
submit_job = guard("trade", "analysis")
admin = guard("admin")


BackendDep = Annotated[Backend, Depends(_backend_dependency)]
ReadKey = Annotated[Principal, Depends(read)]
TradeKey = Annotated[Principal, Depends(trade)]
AnalysisKey = Annotated[Principal, Depends(analysis)]
JobKey = Annotated[Principal, Depends(submit_job)]
AdminKey = Annotated[Principal, Depends(admin)]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # ids and symbols: no control characters
Limit = Annotated[int, Query(ge=1, le=1000, description="most items returned, newest last")]


def operator_of(principal: Principal) -> str:
    """How every audit record names the caller: the key's id and name,
    ``api-key:7 (alice)``."""
    name = f" ({principal.name})" if principal.name else ""
    return f"api-key:{principal.key_id}{name}"
