"""GET /api/v1/sessions, GET /api/v1/sessions/{id}, POST /api/v1/sessions (start one),
POST /api/v1/sessions/{id}/stop: the paper sessions whose loops run in their detached
actors (``session:<id>``).

Reading needs the ``read`` scope; starting and stopping ``trade``. A started session is
what ``sigmax paper`` starts: one symbol or a portfolio, any strategy. Over the API its
data and a user's strategy file must be bundled or lie under the job data directory
(``SIGMAX_API_JOB_DATA_DIR``), as for jobs. A stopped session's orders, fills and
progress stay in PostgreSQL: starting the same session id again resumes it.
"""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from serve_app._private.backend import Backend
from serve_app._private.deps import BackendDep, ReadKey, TradeKey
from serve_app._private.job_inputs import allowed_data
from serve_app.exceptions import Conflict, NoSession, Unprocessable
from serve_app.schema import _Model

router = APIRouter(prefix="/sessions", tags=["sessions"])


class SessionStatusOut(BaseModel):
    """Where one session's loop stands (bars counted since its actor last started)."""

    session_id: str
    state: str
    bars: int
    remaining: int | None
    last_bar: str | None
    equity: float | None
    weights: dict[str, float] = {}
    weights_source: str | None = None
    error: str | None


class SessionLegIn(_Model):
    data: str = Field(min_length=1, max_length=200, examples=["bundled:ETH-USD-30m"])
    symbol: str = Field(min_length=1, max_length=32, examples=["ETH/USD"])


class SessionStartIn(_Model):
    """A paper session to start (the options of ``sigmax paper``)."""

    session_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$")
    legs: list[SessionLegIn] = Field(min_length=1, max_length=50)
    timeframe: str = Field("1h", min_length=1, max_length=8)
    start: int = Field(18_000, ge=0, description="first step: index into the bar times")
    bars: int | None = Field(1_000, ge=1, description="steps to trade; null: to the end")
    speed: float = Field(0.0, ge=0.0, description="steps per second; 0: full speed")
    cash: Decimal = Field(Decimal(10_000), gt=0, max_digits=20)
    strategy: str = Field("sigmax", min_length=1, max_length=300)
    params: dict[str, str] = Field(default_factory=dict, max_length=32)
    reoptimise_every: int | None = Field(None, ge=1)


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


def _request(body: SessionStartIn, backend: Backend) -> Any:
    """The session's request, every input checked before anything starts: data the API
    may read at this timeframe, symbols once each, a strategy it may load."""
    from actors.system import PaperRequest
    from sigmax.data import load_bars
    from sigmax.strategies import make_strategy

    symbols = [leg.symbol for leg in body.legs]
    twice = sorted({s for s in symbols if symbols.count(s) > 1})
    if twice:
        raise Unprocessable(f"legs: symbol given twice: {', '.join(twice)}")
    data_dir = backend.config.data_dir()
    legs = tuple((allowed_data(leg.data, data_dir), leg.symbol) for leg in body.legs)
    strategy = _allowed_strategy(body.strategy, data_dir)
    try:
        for source, symbol in legs:
            load_bars(source, symbol, body.timeframe)
        make_strategy(strategy, body.params)
    except (ValueError, LookupError) as exc:  # DataError and StrategyError among them
        raise Unprocessable(str(exc)) from None
    try:
        return PaperRequest(
            data=legs[0][0],
            symbol=legs[0][1],
            legs=legs if len(legs) > 1 else (),
            timeframe=body.timeframe,
            start=body.start,
            bars=body.bars,
            speed=body.speed,
            cash=body.cash,
            session_id=body.session_id,
            strategy=strategy,
            params=dict(body.params),
            reoptimise_every=body.reoptimise_every,
        )
    except ValueError as exc:  # InvalidInputError: e.g. --reoptimise-every on one symbol
        raise Unprocessable(str(exc)) from None


def _allowed_strategy(spec: str, data_dir: Any) -> str:
    """A built-in strategy by name, or a user's ``FILE.py:Class`` under the data
    directory; an importable ``module:Class`` is not taken over the API."""
    if ":" not in spec:
        return spec
    path, _, name = spec.rpartition(":")
    if not path.endswith(".py"):
        raise Unprocessable(
            "strategy: over the API a user's strategy is FILE.py:ClassName under the job "
            "data directory (SIGMAX_API_JOB_DATA_DIR), not module:ClassName"
        )
    return f"{allowed_data(path, data_dir)}:{name}"


def _start(request: Any, settings: Any) -> dict[str, Any]:
    import ray

    from actors import options
    from actors.registry import SessionNotRunning, find
    from actors.session import DONE, end_session, start_session

    try:
        old = find(options.SESSION, request.session_id)
    except SessionNotRunning:
        pass
    else:  # a loop that ended leaves its actor: end it, and the new one resumes
        state = ray.get(old.status.remote(), timeout=options.CALL_TIMEOUT_S)["state"]
        if state not in DONE:
            raise Conflict(f"session {request.session_id!r} is {state}; stop it first")
        end_session(old)
    start_session(settings, request)  # its actor builds the session's actors: not awaited
    return {
        "session_id": request.session_id,
        "state": "starting",
        "bars": 0,
        "remaining": None,
        "last_bar": None,
        "equity": None,
        "error": None,
    }


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


@router.post("", response_model=SessionStatusOut, status_code=201)
async def start_session(
    body: SessionStartIn, backend: BackendDep, principal: TradeKey
) -> SessionStatusOut:
    """Start a paper session in its detached actor (one symbol or a portfolio, any
    strategy); 409 when that session id is running, 422 naming a bad input."""
    if not backend.ray_ready():
        raise NoSession(body.session_id)
    request = await backend.in_thread(_request, body, backend)
    started = await backend.in_thread(_start, request, backend.settings)
    return SessionStatusOut(**started)


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
