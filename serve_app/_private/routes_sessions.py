"""GET /api/v1/sessions, GET /api/v1/sessions/{id}, POST /api/v1/sessions/{id}/stop: the
paper sessions whose loops run in their detached actors (``session:<id>``).

Reading needs the ``read`` scope; stopping ``trade``. A stopped session's orders, fills
and progress stay in PostgreSQL: starting the same session id again resumes it.
"""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from serve_app._private.backend import Backend
from serve_app._private.deps import BackendDep, ReadKey, TradeKey
from serve_app.exceptions import NoSession

router = APIRouter(prefix="/sessions", tags=["sessions"])


class SessionStatusOut(BaseModel):
    """Where one session's loop stands (bars counted since its actor last started)."""

    session_id: str
    state: str
    bars: int
    remaining: int | None
    last_bar: str | None
    equity: float | None
    error: str | None


def _status(session_id: str) -> dict[str, Any]:
    import ray

    from actors import options
    from actors.registry import find

    found: dict[str, Any] = ray.get(
        find(options.SESSION, session_id).status.remote(), timeout=options.CALL_TIMEOUT_S
    )
    return found


def _all() -> list[dict[str, Any]]:
    from actors.registry import SessionNotRunning
    from actors.session import session_ids

    statuses = []
    for session_id in session_ids():
        try:
            statuses.append(_status(session_id))
        except SessionNotRunning:  # ended meanwhile
            continue
    return statuses


def _stop(session_id: str) -> dict[str, Any]:
    from actors import options
    from actors.registry import find
    from actors.session import end_session

    return end_session(find(options.SESSION, session_id))


async def _ask(backend: Backend, call: Callable[[str], dict[str, Any]], session_id: str) -> Any:
    """``call(session_id)`` off the event loop; 503 ``no_session`` when it is not running."""
    from actors.registry import SessionNotRunning

    if not backend.ray_ready():
        raise NoSession(session_id)
    try:
        return SessionStatusOut(**await backend.in_thread(call, session_id))
    except SessionNotRunning:
        raise NoSession(session_id) from None


@router.get("", response_model=list[SessionStatusOut])
async def list_sessions(backend: BackendDep, principal: ReadKey) -> list[SessionStatusOut]:
    """Every session running on the cluster, with its state."""
    if not backend.ray_ready():
        return []
    return [SessionStatusOut(**s) for s in await backend.in_thread(_all)]


@router.get("/{session_id}", response_model=SessionStatusOut)
async def session_status(
    session_id: str, backend: BackendDep, principal: ReadKey
) -> SessionStatusOut:
    """One session's state, bars traded, last bar and equity; 503 when it is not running."""
    found: SessionStatusOut = await _ask(backend, _status, session_id)
    return found


@router.post("/{session_id}/stop", response_model=SessionStatusOut)
async def stop_session(
    session_id: str, backend: BackendDep, principal: TradeKey
) -> SessionStatusOut:
    """Stop the session after the bar in progress and end its actors (state kept)."""
    stopped: SessionStatusOut = await _ask(backend, _stop, session_id)
    return stopped
