"""The /api/v1 routes. Each turns HTTP into calls on the backend (stores, session actors)
or the domain (``sigmax.trading.manual``); none holds trading logic."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from serve_app._private import convert, metrics, versioning
from serve_app._private.auth import Principal
from serve_app._private.backend import Backend, Session
from serve_app._private.deps import admin, analysis, backend_of, public, read, submit_job, trade
from serve_app.exceptions import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from serve_app.schema import (
    BacktestIn,
    ComponentHealth,
    DecisionOut,
    FillOut,
    HealthOut,
    JobOut,
    KeyIn,
    KeyOut,
    LimitsIn,
    NewKeyOut,
    OptimizeIn,
    OrderIn,
    OrderOut,
    OrderResultOut,
    PortfolioOut,
    PositionOut,
    ReasonIn,
    ResumeIn,
    RiskEventOut,
    RiskStateOut,
    StatusOut,
    TrainIn,
    VersionInfo,
    VersionsOut,
)
from sigmax.execution.errors import IllegalTransitionError, OrderConflictError, UnknownOrderError
from sigmax.model import OrderRequest, OrderStatus, OrderType, Side, TimeInForce, to_decimal
from sigmax.risk.state import RiskStateError
from sigmax.storage.repos.keys import ApiKeyError, ApiKeyRepository
from sigmax.storage.repos.orders import FillRepository, OrderRepository
from sigmax.trading.manual import ManualTrading, MarketView

API_VERSION = "1.0.0"
REPLICA = f"{socket.gethostname()}:{os.getpid()}"
BackendDep = Annotated[Backend, Depends(backend_of)]
ReadKey = Annotated[Principal, Depends(read)]
TradeKey = Annotated[Principal, Depends(trade)]
AnalysisKey = Annotated[Principal, Depends(analysis)]
JobKey = Annotated[Principal, Depends(submit_job)]
AdminKey = Annotated[Principal, Depends(admin)]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # ids and symbols: no control characters
Limit = Annotated[int, Query(ge=1, le=1000, description="most items returned, newest last")]

router = APIRouter()
versions_router = APIRouter()


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors (also as raised through Ray) → clear HTTP answers."""
    try:
        yield
    except UnknownOrderError as exc:
        raise NotFound(f"order not found: {exc}") from None
    except (OrderConflictError, IllegalTransitionError, RiskStateError) as exc:
        raise Conflict(_cause(exc)) from None
    except ValueError as exc:
        raise Unprocessable(_cause(exc)) from None


def _cause(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    return str(cause if cause is not None else exc).strip()


# ---- versions, health, status, metrics ---------------------------------------------------


@versions_router.get(
    "/api/versions", response_model=VersionsOut, dependencies=[Depends(public())], tags=["meta"]
)
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


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a perf_counter reading), to the microsecond."""
    return round((time.perf_counter() - started) * 1000, 3)


async def _postgres_health(backend: Backend) -> ComponentHealth:
    started = time.perf_counter()
    try:
        pool = await asyncio.wait_for(backend.pool(), 10)
        found = await pool.health()
    except Exception as exc:  # health reports every failure
        return ComponentHealth(
            status="down", required=True, detail={"error": f"{type(exc).__name__}: {exc}"}
        )
    if not found.get("reachable"):
        return ComponentHealth(status="down", required=True, detail=found)
    return ComponentHealth(status="ok", required=True, latency_ms=elapsed_ms(started), detail=found)


async def _redis_health(backend: Backend) -> ComponentHealth:
    from sigmax.storage import redis_store

    found = await redis_store.health(backend.settings.redis)
    detail: dict[str, Any] = {
        "configured": found.configured,
        "reachable": found.reachable,
        "server_version": found.server_version,
        "rate_limit_backend": "memory" if backend.limiter.degraded_reason else "redis",
    }
    if found.reason or backend.limiter.degraded_reason:
        detail["fallback"] = found.reason or f"degraded: {backend.limiter.degraded_reason}"
    status = "degraded" if found.fallback_active or backend.limiter.degraded_reason else "ok"
    latency = None if found.latency_ms is None else round(found.latency_ms, 3)
    return ComponentHealth(status=status, latency_ms=latency, detail=detail)


async def _clickhouse_health(backend: Backend) -> ComponentHealth:
    config = backend.settings.clickhouse
    started = time.perf_counter()
    if config.url:
        from sigmax.storage.clickhouse_store import open_store

        def probe() -> Any:
            store = open_store(config)
            try:
                return store.health()
            finally:
                store.close()

        try:
            found = await asyncio.wait_for(asyncio.to_thread(probe), 10)
        except Exception as exc:  # health reports every failure
            return ComponentHealth(status="down", detail={"error": f"{type(exc).__name__}: {exc}"})
        return ComponentHealth(
            status="ok" if found.reachable else "down",
            latency_ms=found.latency_ms,
            detail={"backend": found.backend, "location": found.location, "error": found.error},
        )
    # Embedded chdb locks its data directory: only the timeseries-store actor opens it.
    detail = {"backend": "chdb", "owner": "timeseries-store actor"}
    if backend.ray_ready():
        from actors import options
        from actors.registry import SessionNotRunning, find

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


async def _secrets_health(backend: Backend) -> ComponentHealth:
    from sigmax.secrets import SecretsManager

    def probe() -> Any:
        manager = SecretsManager(backend.settings.vault)
        try:
            return manager.health()
        finally:
            manager.close()

    try:
        found = await asyncio.wait_for(asyncio.to_thread(probe), 10)
    except Exception as exc:  # health reports every failure
        return ComponentHealth(status="down", detail={"error": f"{type(exc).__name__}: {exc}"})
    configured = backend.settings.vault.not_configured_reason is None
    ok = found.backend == "vault" and found.authenticated
    status = "ok" if ok or not configured else "degraded"
    from sigmax.credentials.cipher_choice import cipher_health

    detail = {**found.model_dump(mode="json"), **cipher_health(backend.settings.vault)}
    return ComponentHealth(status=status, latency_ms=found.latency_ms, detail=detail)


async def _actors_health(backend: Backend) -> dict[str, ComponentHealth]:
    roles = ("risk", "execution", "portfolio", "decision_graph", "market_data")
    session = await backend.session_or_none()
    if session is None:
        reason = {"reason": f"no trading session {backend.config.session_id!r}"}
        return {r: ComponentHealth(status="not_running", detail=reason) for r in roles}

    async def ping(role: str) -> tuple[str, ComponentHealth]:
        started = time.perf_counter()
        try:
            await backend.call(getattr(session, role), "__ray_ready__", timeout=5)
        except Exception as exc:  # health reports every failure
            return role, ComponentHealth(status="down", detail={"error": type(exc).__name__})
        return role, ComponentHealth(status="ok", latency_ms=elapsed_ms(started))

    return dict(await asyncio.gather(*(ping(r) for r in roles)))


@router.get(
    "/health",
    response_model=HealthOut,
    dependencies=[Depends(public())],
    tags=["meta"],
    responses={503: {"model": HealthOut, "description": "PostgreSQL is down"}},
)
async def health(backend: BackendDep, response: Response) -> HealthOut:
    """Liveness plus every store's and session actor's health (no key needed).

    503 when a required part (PostgreSQL) is down; actors not running are reported,
    not fatal."""
    pg, redis, ch, secrets, actors = await asyncio.gather(
        _postgres_health(backend),
        _redis_health(backend),
        _clickhouse_health(backend),
        _secrets_health(backend),
        _actors_health(backend),
    )
    stores = {"postgres": pg, "redis": redis, "clickhouse": ch, "secrets": secrets}
    if any(c.required and c.status == "down" for c in stores.values()):
        overall = "down"
        response.status_code = 503
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


@router.get("/status", response_model=StatusOut, tags=["meta"])
async def status(backend: BackendDep, _: ReadKey) -> StatusOut:
    """The served session: running or not, risk state, bars left to replay."""
    session = await backend.session_or_none()
    risk, remaining = None, None
    if session is not None:
        risk, remaining = await asyncio.gather(
            backend.call(session.risk, "status"), backend.call(session.market_data, "remaining")
        )
    return StatusOut(
        version=API_VERSION,
        session_id=backend.config.session_id,
        account=backend.account,
        session_running=session is not None,
        risk=risk,
        remaining_bars=remaining,
        rate_limit_backend="memory" if backend.limiter.degraded_reason else "redis",
        replica=REPLICA,
        uptime_s=round(time.monotonic() - backend.started, 3),
    )


@router.get(
    "/metrics",
    tags=["meta"],
    response_model=None,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def prometheus_metrics(backend: BackendDep, _: ReadKey) -> PlainTextResponse:
    """Prometheus text: API requests/latency/429s by endpoint class, pool and trading gauges."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    session = await backend.session_or_none()
    metrics.SESSION_UP.set(0 if session is None else 1)
    if session is not None:
        with contextlib.suppress(Exception):  # a scrape never fails on the session
            book = await _portfolio(backend, session)
            metrics.EQUITY.set(float(book.equity))
            metrics.CASH.set(float(book.cash))
            metrics.REALIZED.set(float(book.realized_pnl))
            metrics.UNREALIZED.set(float(book.unrealized_pnl))
            metrics.EXPOSURE.set(float(book.exposure))
            state = (await backend.call(session.risk, "status"))["state"]
            for s in metrics.RISK_STATES:
                metrics.RISK_STATE.labels(s).set(1 if s == state else 0)
            await _activity_metrics(backend, session)
    return PlainTextResponse(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _activity_metrics(backend: Backend, session: Session) -> None:
    activity = await backend.call(session.execution, "activity")
    by_status = activity["orders_by_status"]
    for status in OrderStatus:  # every status, so one that empties reads 0
        metrics.ORDERS.labels(status.value).set(by_status.get(status.value, 0))
    metrics.FILLS.set(activity["fills"])
    verdicts = await backend.call(session.risk, "verdict_counts")
    metrics.RISK_APPROVED.set(verdicts["approved"])
    for rule, count in verdicts["rejected_by_rule"].items():
        metrics.RISK_REJECTIONS.labels(rule).set(count)


# ---- decisions, orders, fills, positions, portfolio -------------------------------------


@router.get("/decisions", response_model=list[DecisionOut], tags=["trading"])
async def decisions(
    backend: BackendDep,
    _: ReadKey,
    symbol: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
    limit: Limit = 100,
) -> list[DecisionOut]:
    """Recent decisions of the session's account with every agent's signal and rationale."""
    pool = await backend.pool()
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM (SELECT * FROM decisions WHERE account = $1"
            " AND ($2::text IS NULL OR symbol = $2) ORDER BY ts DESC LIMIT $3) d ORDER BY ts",
            backend.account,
            symbol,
            limit,
        )
    return [convert.decision_row_out(r) for r in rows]


@router.get("/decisions/{decision_id}", response_model=DecisionOut, tags=["trading"])
async def decision(
    backend: BackendDep,
    _: ReadKey,
    decision_id: Annotated[int, Path(ge=1, le=2**62)],
) -> DecisionOut:
    """One decision by id."""
    pool = await backend.pool()
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT * FROM decisions WHERE account = $1 AND id = $2", backend.account, decision_id
        )
    if row is None:
        raise NotFound(f"decision {decision_id} not found for account {backend.account!r}")
    return convert.decision_row_out(row)


@router.get("/orders", response_model=list[OrderOut], tags=["trading"])
async def orders(
    backend: BackendDep,
    _: ReadKey,
    status: Annotated[Literal["all", "open"], Query()] = "all",
    limit: Limit = 100,
) -> list[OrderOut]:
    """The account's orders (as the execution actor stored them), oldest first."""
    repo = OrderRepository(await backend.pool())
    found = (
        await repo.open_orders(backend.account)
        if status == "open"
        else await repo.for_account(backend.account)
    )
    return [convert.order_out(o) for o in found[-limit:]]


@router.get("/orders/{client_order_id}", response_model=OrderOut, tags=["trading"])
async def order(
    backend: BackendDep,
    _: ReadKey,
    client_order_id: Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)],
) -> OrderOut:
    found = await OrderRepository(await backend.pool()).get(backend.account, client_order_id)
    if found is None:
        raise NotFound(f"order {client_order_id!r} not found for account {backend.account!r}")
    return convert.order_out(found)


async def _market(backend: Backend, session: Session) -> MarketView:
    with domain_errors():
        return MarketView.from_history(await backend.history(session))


def _manual(session: Session) -> ManualTrading:
    from actors.ports import ExecutionPort, PortfolioPort, RiskPort

    return ManualTrading(
        RiskPort(session.risk), ExecutionPort(session.execution), PortfolioPort(session.portfolio)
    )


@router.post(
    "/orders",
    response_model=OrderResultOut,
    status_code=201,
    tags=["trading"],
    responses={200: {"model": OrderResultOut, "description": "rejected by risk"}},
)
async def submit_order(
    backend: BackendDep, principal: TradeKey, body: OrderIn, response: Response
) -> OrderResultOut:
    """An operator's order: the risk actor checks it, the execution actor submits it.

    201 with the order when risk approves; 200 with ``approved: false`` and the failed
    checks when it refuses. The same client_order_id again returns the same order."""
    session = await backend.session()
    market = await _market(backend, session)
    request = OrderRequest(
        client_order_id=body.client_order_id,
        symbol=body.symbol,
        side=Side(body.side),
        qty=body.qty,
        type=OrderType(body.type),
        limit_price=body.limit_price,
        stop_price=body.stop_price,
        tif=TimeInForce(body.tif),
        reduce_only=body.reduce_only,
    )
    with domain_errors():
        result = await backend.in_thread(_manual(session).submit, request, market)
    if not result.approved:
        response.status_code = 200
    return convert.manual_out(result)


@router.delete("/orders/{client_order_id}", response_model=OrderOut, tags=["trading"])
async def cancel_order(
    backend: BackendDep,
    _: TradeKey,
    client_order_id: Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)],
) -> OrderOut:
    """Cancel a working order (409 when it is already filled, cancelled or rejected)."""
    session = await backend.session()
    market = await _market(backend, session)
    with domain_errors():
        cancelled = await backend.in_thread(_manual(session).cancel, client_order_id, market)
    return convert.order_out(cancelled)


@router.get("/fills", response_model=list[FillOut], tags=["trading"])
async def fills(
    backend: BackendDep,
    _: ReadKey,
    client_order_id: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    limit: Limit = 100,
) -> list[FillOut]:
    found = await FillRepository(await backend.pool()).for_account(backend.account, client_order_id)
    return [convert.fill_out(f) for f in found[-limit:]]


async def _prices(backend: Backend, session: Session) -> dict[str, Decimal]:
    history = await backend.history(session)
    return {history.symbol: to_decimal(float(history.close[-1]))}


async def _portfolio(backend: Backend, session: Session) -> PortfolioOut:
    prices = await _prices(backend, session)
    book = await backend.call(session.portfolio, "summary", prices)
    held = {s: Decimal(q) for s, q in book["positions"].items()}
    exposure = sum((abs(q * prices.get(s, Decimal(0))) for s, q in held.items()), Decimal(0))
    equity = Decimal(book["equity"])
    return PortfolioOut(
        cash=Decimal(book["cash"]),
        equity=equity,
        exposure=exposure,
        exposure_pct=float(exposure / equity) if equity else 0.0,
        realized_pnl=Decimal(book["realized_pnl"]),
        unrealized_pnl=Decimal(book["unrealized_pnl"]),
        fees_paid=Decimal(book["fees_paid"]),
        fills=int(book["fills"]),
        positions=held,
        prices=prices,
    )


@router.get("/portfolio", response_model=PortfolioOut, tags=["trading"])
async def portfolio(backend: BackendDep, _: ReadKey) -> PortfolioOut:
    """Equity, exposure and P&L from the portfolio actor, marked at the last price."""
    return await _portfolio(backend, await backend.session())


@router.get("/positions", response_model=list[PositionOut], tags=["trading"])
async def positions(backend: BackendDep, _: ReadKey) -> list[PositionOut]:
    session = await backend.session()
    prices = await _prices(backend, session)
    book = await backend.call(session.portfolio, "summary", prices)
    out = []
    for symbol in sorted(book["positions"]):
        p = await backend.call(session.portfolio, "position", symbol)
        mark = prices.get(symbol)
        out.append(
            PositionOut(
                symbol=symbol,
                qty=p.qty,
                avg_price=p.avg_price,
                realized_pnl=p.realized_pnl,
                mark_price=mark,
                notional=None if mark is None else p.qty * mark,
            )
        )
    return out


@router.post("/analyze/{symbol}", response_model=DecisionOut, tags=["analysis"])
async def analyze(
    backend: BackendDep,
    _: AnalysisKey,
    symbol: Annotated[
        str, Path(min_length=1, max_length=32, pattern=PRINTABLE, examples=["BTC-USD"])
    ],
) -> DecisionOut:
    """Run the decision graph now on the market-data actor's history (``BTC-USD`` or
    ``BTC%2FUSD``); the decision is returned, not traded."""
    session = await backend.session()
    history = await backend.history(session)
    wanted = symbol.replace("-", "/").upper()
    if wanted != history.symbol.upper():
        raise NotFound(f"symbol {symbol!r}: this session trades {history.symbol!r} only")
    with domain_errors():
        decided = await backend.call(session.decision_graph, "analyze", history, timeout=60)
    return convert.decision_out(decided)


# ---- risk --------------------------------------------------------------------------------


@router.get("/risk/status", response_model=RiskStateOut, tags=["risk"])
async def risk_status(backend: BackendDep, _: ReadKey) -> RiskStateOut:
    session = await backend.session()
    return RiskStateOut.model_validate(await backend.call(session.risk, "status"))


@router.get("/risk/limits", response_model=dict[str, Any], tags=["risk"])
async def risk_limits(backend: BackendDep, _: ReadKey) -> dict[str, Any]:
    """The risk engine's current limits."""
    session = await backend.session()
    limits: dict[str, Any] = (await backend.call(session.risk, "snapshot"))["limits"]
    return limits


@router.put("/risk/limits", response_model=dict[str, Any], tags=["risk"])
async def update_limits(backend: BackendDep, principal: TradeKey, body: LimitsIn) -> dict[str, Any]:
    """Change the fields given (others keep their value); audited as limits_change."""
    changes = body.model_dump(exclude_unset=True, mode="json")
    if not changes:
        raise Unprocessable("no limit given: send at least one field")
    session = await backend.session()
    import json

    with domain_errors():
        raw = await backend.call(
            session.risk, "update_limits", changes, f"api-key:{principal.key_id}"
        )
    updated: dict[str, Any] = json.loads(raw)
    return updated


async def _state(backend: Backend) -> RiskStateOut:
    session = await backend.session()
    return RiskStateOut.model_validate(await backend.call(session.risk, "status"))


async def _risk_action(backend: Backend, method: str, *args: Any) -> RiskStateOut:
    """One state change on the risk actor, then its state (domain errors as HTTP)."""
    session = await backend.session()
    with domain_errors():
        await backend.call(session.risk, method, *args)
    return await _state(backend)


@router.post("/risk/pause", response_model=RiskStateOut, tags=["risk"])
async def pause(backend: BackendDep, principal: TradeKey, body: ReasonIn) -> RiskStateOut:
    """Pause trading: only orders that shrink a position pass."""
    return await _risk_action(backend, "pause", body.reason, f"api-key:{principal.key_id}")


@router.post("/risk/resume", response_model=RiskStateOut, tags=["risk"])
async def resume(backend: BackendDep, principal: TradeKey, body: ResumeIn) -> RiskStateOut:
    """Resume; 409 while a breaker holds unless ``force`` (rebases peak equity)."""
    return await _risk_action(backend, "resume", f"api-key:{principal.key_id}", body.force)


@router.post("/risk/kill", response_model=RiskStateOut, tags=["risk"])
async def kill(backend: BackendDep, principal: TradeKey, body: ReasonIn) -> RiskStateOut:
    """Engage the kill switch: every order is rejected from now on."""
    return await _risk_action(backend, "kill", body.reason, f"api-key:{principal.key_id}")


@router.post("/risk/kill/release", response_model=RiskStateOut, tags=["risk"])
async def release_kill(backend: BackendDep, principal: AdminKey) -> RiskStateOut:
    """Release the kill switch (admin scope); trading stays paused until resumed."""
    return await _risk_action(backend, "release_kill", f"api-key:{principal.key_id}")


@router.post(
    "/risk/emergency-stop",
    response_model=RiskStateOut,
    tags=["risk"],
    deprecated=True,
    summary="Deprecated alias of POST /api/v1/risk/kill",
)
async def emergency_stop(
    backend: BackendDep, principal: TradeKey, body: ReasonIn, response: Response
) -> RiskStateOut:
    """Deprecated: use ``POST /api/v1/risk/kill``. Answers with Deprecation, Sunset and
    a Link to the successor."""
    versioning.mark_deprecated(response, f"{versioning.PREFIX}/risk/kill")
    return await kill(backend, principal, body)


@router.get("/risk/events", response_model=list[RiskEventOut], tags=["risk"])
async def risk_events(backend: BackendDep, _: ReadKey, limit: Limit = 100) -> list[RiskEventOut]:
    """The risk actor's audit records of state and limit changes, oldest first."""
    session = await backend.session()
    found: list[dict[str, Any]] = []
    for kind in ("state_change", "limits_change"):
        found += await backend.call(session.risk, "audit_records", kind)
    found.sort(key=lambda r: r["seq"])
    return [
        RiskEventOut(seq=r["seq"], ts=r["ts"], kind=r["kind"], payload=dict(r["payload"]))
        for r in found[-limit:]
    ]


# ---- jobs, quantum -------------------------------------------------------------------------


def _job_out(job: dict[str, Any]) -> JobOut:
    base = f"{versioning.PREFIX}/jobs/{job['job_id']}"
    return JobOut(**job, result_url=f"{base}/result", report_url=f"{base}/report")


async def _board(backend: Backend) -> Any:
    if not backend.ray_ready():
        raise ServiceUnavailable("jobs run on Ray: start the API under Ray Serve (serve run)")
    from serve_app._private.jobs import board

    return await asyncio.to_thread(board)


@router.post("/jobs/backtest", response_model=JobOut, status_code=202, tags=["jobs"])
async def submit_backtest(backend: BackendDep, _: JobKey, body: BacktestIn) -> JobOut:
    """Start a backtest as a Ray task (1 CPU); follow it at the returned URLs."""
    from sigmax.strategies import strategy_names

    if body.strategy not in strategy_names():
        raise Unprocessable(
            f"unknown strategy {body.strategy!r}; choose one of {', '.join(strategy_names())}"
        )
    job = await backend.call(await _board(backend), "submit", "backtest", body.model_dump())
    return _job_out(job)


@router.get("/jobs", response_model=list[JobOut], tags=["jobs"])
async def jobs(backend: BackendDep, _: ReadKey) -> list[JobOut]:
    return [_job_out(j) for j in await backend.call(await _board(backend), "list")]


JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


async def _job(backend: Backend, job_id: str) -> tuple[Any, dict[str, Any]]:
    board = await _board(backend)
    job = await backend.call(board, "status", job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found (the board keeps the last 100 jobs)")
    return board, job


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
async def job_status(backend: BackendDep, _: ReadKey, job_id: JobId) -> JobOut:
    return _job_out((await _job(backend, job_id))[1])


async def _job_part(backend: Backend, job_id: str, part: str) -> Any:
    board, job = await _job(backend, job_id)
    if job["status"] == "running":
        raise Conflict(f"job {job_id} is still running")
    if job["status"] == "failed":
        raise Conflict(f"job {job_id} failed: {job['error']}")
    return await backend.call(board, "result", job_id, part)


@router.get("/jobs/{job_id}/result", response_model=dict[str, Any], tags=["jobs"])
async def job_result(backend: BackendDep, _: ReadKey, job_id: JobId) -> dict[str, Any]:
    """The backtest's JSON report (metrics, trades, meta)."""
    result: dict[str, Any] = await _job_part(backend, job_id, "document")
    return result


@router.get(
    "/jobs/{job_id}/report",
    tags=["jobs"],
    response_model=None,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def job_report(backend: BackendDep, _: ReadKey, job_id: JobId) -> HTMLResponse:
    """The backtest's HTML report."""
    return HTMLResponse(await _job_part(backend, job_id, "report_html"))


@router.post("/jobs/optimize", response_model=JobOut, status_code=202, tags=["jobs"])
async def submit_optimisation(backend: BackendDep, _: JobKey, body: OptimizeIn) -> JobOut:
    """Start a portfolio optimisation (exact, QAOA or VQE) through the optimiser actor."""
    params = body.model_dump()
    params["assets"] = tuple(params["assets"])
    job = await backend.call(await _board(backend), "submit", "optimize", params)
    return _job_out(job)


@router.post("/jobs/train", response_model=JobOut, status_code=202, tags=["jobs"])
async def submit_training(backend: BackendDep, _: JobKey, body: TrainIn) -> JobOut:
    """Start PPO training (RLlib) as a Ray task; the result lists its checkpoints."""
    params = {
        "env": {"data": body.data, "continuous": body.continuous},
        "train": {"iterations": body.iterations, "env_runners": body.env_runners},
    }
    job = await backend.call(await _board(backend), "submit", "train", params)
    return _job_out(job)


async def _last_optimisation(backend: Backend) -> dict[str, Any]:
    if not backend.ray_ready():
        raise NotFound("no optimisation has run yet (the API is not connected to Ray)")
    from actors.options import NAMESPACE

    def last() -> Any:
        import ray

        try:
            optimiser = ray.get_actor("optimiser", namespace=NAMESPACE)
        except ValueError:
            return None
        return ray.get(optimiser.last_result.remote())

    result = await asyncio.to_thread(last)
    if result is None:
        raise NotFound("no optimisation has run yet: POST /api/v1/jobs/optimize")
    document: dict[str, Any] = json.loads(result.to_json())
    return document


@router.get("/quantum/last", tags=["quantum"], response_model=dict[str, Any])
async def quantum_last(backend: BackendDep, _: ReadKey) -> dict[str, Any]:
    """The last portfolio optimisation: weights, solver and why, the gap to the exact
    optimum and, when a quantum solver ran, its circuit (QASM 3 and a drawing)."""
    return await _last_optimisation(backend)


@router.get(
    "/quantum/last/circuit",
    tags=["quantum"],
    response_model=None,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def quantum_circuit(
    backend: BackendDep,
    _: ReadKey,
    format: Annotated[
        Literal["drawing", "qasm"], Query(description="picture or QASM 3")
    ] = "drawing",
) -> PlainTextResponse:
    """The last quantum circuit as a text picture or as OpenQASM 3."""
    quantum = (await _last_optimisation(backend)).get("quantum")
    if not quantum:
        raise NotFound("the last optimisation ran no quantum circuit (solver classical)")
    return PlainTextResponse(quantum[format])


# ---- keys --------------------------------------------------------------------------------


async def _keys(backend: Backend) -> ApiKeyRepository:
    return ApiKeyRepository(await backend.pool())


@router.post("/keys", response_model=NewKeyOut, status_code=201, tags=["keys"])
async def create_key(backend: BackendDep, _: AdminKey, body: KeyIn) -> NewKeyOut:
    """A new key; the plaintext is in this answer only."""
    expires = None
    if body.expires_days is not None:
        expires = datetime.now(UTC) + timedelta(days=body.expires_days)
    key, plaintext = await (await _keys(backend)).create(
        body.name, sorted(set(body.scopes)), expires
    )
    return NewKeyOut(**convert.key_out(key).model_dump(), key=plaintext)


@router.get("/keys", response_model=list[KeyOut], tags=["keys"])
async def list_keys(backend: BackendDep, _: AdminKey) -> list[KeyOut]:
    pool = await backend.pool()
    async with pool.acquire() as conn:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM api_keys ORDER BY id")]
    repo = await _keys(backend)
    found = [await repo.get(i) for i in ids]
    return [convert.key_out(k) for k in found if k is not None]


KeyId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, tags=["keys"])
async def revoke_key(backend: BackendDep, _: AdminKey, key_id: KeyId) -> KeyOut:
    try:
        revoked = await (await _keys(backend)).revoke(key_id)
    except ApiKeyError as exc:
        raise NotFound(str(exc)) from None
    backend.forget_key(key_id)
    return convert.key_out(revoked)


@router.post("/keys/{key_id}/rotate", response_model=NewKeyOut, tags=["keys"])
async def rotate_key(backend: BackendDep, _: AdminKey, key_id: KeyId) -> NewKeyOut:
    """Replace a key by a new one (same name, scopes, expiry); the old one is revoked."""
    repo = await _keys(backend)
    if await repo.get(key_id) is None:
        raise NotFound(f"api key {key_id}: no such key")
    try:
        key, plaintext = await repo.rotate(key_id)
    except ApiKeyError as exc:
        raise Conflict(str(exc)) from None
    backend.forget_key(key_id)
    return NewKeyOut(**convert.key_out(key).model_dump(), key=plaintext)


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
