"""GET /api/v1/sessions, GET /api/v1/sessions/{id}, POST /api/v1/sessions (start one),
POST /api/v1/sessions/{id}/stop: the paper sessions whose loops run in their detached
actors (``session:<id>``).

Reading needs the ``read`` scope; starting and stopping ``trade``. A started session is
what ``sigmax paper`` starts: one symbol or a portfolio, any strategy, on the venue the
body names (``venue``, ``testnet``, ``live``, ``adopt_venue_state``; default: the
server's ``SIGMAX_VENUE__*``, paper unless configured). Real money needs a ccxt venue
off testnet and ``"live": true`` in the body itself, whatever the server's settings say;
a venue that cannot be built (no credentials, a key that may withdraw) is refused with
422 before anything starts. Every session's view shows its venue. Over the API its
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
from pydantic import BaseModel, Field, ValidationError, field_validator

from serve_app._private.backend import Backend
from serve_app._private.deps import BackendDep, ReadKey, TradeKey
from serve_app._private.job_inputs import allowed_data
from serve_app.exceptions import Conflict, NoSession, Unprocessable
from serve_app.schema import VenueOut, _Model
from sigmax.config import Settings
from sigmax.errors import InvalidInputError
from sigmax.execution.config import VenueConfig

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
    venue: VenueOut | None = Field(None, description="where its orders go; null before it starts")
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
    venue: str | None = Field(
        None,
        description="paper | dry-run | ccxt:EXCHANGE; null: the server's SIGMAX_VENUE__KIND",
        examples=["paper", "dry-run", "ccxt:binance"],
    )
    testnet: bool | None = Field(
        None, description="the exchange's testnet (no real money); null: the server's setting"
    )
    live: bool = Field(
        False, description="the explicit switch for real money: a ccxt venue off testnet needs it"
    )
    adopt_venue_state: bool = Field(
        False,
        description="when the exchange account differs from the stored books at the start, "
        "take the venue's state (audited) instead of refusing to start",
    )

    @field_validator("venue")
    @classmethod
    def _venue_kind(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                VenueConfig(kind=value)
            except ValidationError:
                raise ValueError(
                    f"{value!r} is not a venue: expected paper, dry-run or ccxt:EXCHANGE (a "
                    "ccxt exchange id in lower case, e.g. ccxt:binance)"
                ) from None
        return value


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


def _venue(body: SessionStartIn, server: VenueConfig) -> VenueConfig:
    """The server's venue settings with the body's venue fields over them; ``live`` is
    the body's alone: real money is never started by a default."""
    update: dict[str, Any] = {"live": body.live}
    if body.venue is not None:
        update["kind"] = body.venue
    if body.testnet is not None:
        update["testnet"] = body.testnet
    config = VenueConfig.model_validate(server.model_dump() | update)
    if config.live and not config.is_ccxt:
        raise Unprocessable(
            f"live: real money needs a ccxt venue (venue: ccxt:EXCHANGE); the venue is "
            f"{config.kind}"
        )
    if body.testnet and config.kind == "paper":
        raise Unprocessable(
            "testnet: applies to an exchange (venue: ccxt:EXCHANGE or dry-run), not to the "
            "paper venue"
        )
    if config.real_money and not config.live:
        raise Unprocessable(
            f'live: venue {config.kind} off testnet trades real money: send "live": true to '
            'confirm, or "testnet": true for the exchange\'s testnet'
        )
    return config


def venue_view(config: VenueConfig) -> dict[str, Any]:
    """What a session's view says of ``config`` before its actors describe the venue."""
    return {
        "kind": config.kind,
        "testnet": config.testnet,
        "live": config.real_money and config.live,
        "dry_run": config.kind == "dry-run",
        "exchange": config.ccxt_exchange_id if config.is_ccxt else None,
    }


def _request(body: SessionStartIn, backend: Backend) -> tuple[Any, Settings]:
    """The session's request and the settings it runs with, every input checked before
    anything starts: data the API may read at this timeframe, symbols once each, a
    strategy it may load, a venue that can be built."""
    from actors.system import PaperRequest, check_venue_settings
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
    settings = backend.settings.model_copy(update={"venue": _venue(body, backend.settings.venue)})
    try:
        request = PaperRequest(
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
            adopt_venue_state=body.adopt_venue_state,
        )
    except ValueError as exc:  # InvalidInputError: e.g. --reoptimise-every on one symbol
        raise Unprocessable(str(exc)) from None
    try:  # VenueRefusedError: no credentials, a key that may withdraw, live with testnet
        check_venue_settings(settings, request)
    except InvalidInputError as exc:
        raise Unprocessable(f"venue: {exc}") from None
    return request, settings


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


def _start(request: Any, settings: Settings) -> dict[str, Any]:
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
        "venue": venue_view(settings.venue),
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
    """Start a session in its detached actor (one symbol or a portfolio, any strategy,
    on the paper exchange unless the body names another venue); 409 when that session id
    is running, 422 naming a bad input or a venue that cannot be built."""
    if not backend.ray_ready():
        raise NoSession(body.session_id)
    request, settings = await backend.in_thread(_request, body, backend)
    started = await backend.in_thread(_start, request, settings)
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
