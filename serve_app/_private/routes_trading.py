"""The session account's trading record and book: decisions, orders (an operator's
order and cancel included), fills, portfolio and positions."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from serve_app._private import convert
from serve_app._private.deps import PRINTABLE, BackendDep, Limit, ReadKey, TradeKey
from serve_app._private.session_views import (
    last_prices,
    manual_trading,
    market_view,
    portfolio_out,
)
from serve_app.exceptions import NotFound
from serve_app.schema import (
    DecisionOut,
    FillOut,
    OrderIn,
    OrderOut,
    OrderResultOut,
    PortfolioOut,
    PositionOut,
)
from sigmax.storage.repos.books import DecisionRepository
from sigmax.storage.repos.orders import FillRepository, OrderRepository
from sigmax.trading.manual import operator_order_id

ClientOrderId = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]

router = APIRouter(tags=["trading"])


@router.get("/decisions", response_model=list[DecisionOut])
async def decisions(
    backend: BackendDep,
    _: ReadKey,
    symbol: Annotated[str | None, Query(max_length=32, pattern=PRINTABLE)] = None,
    limit: Limit = 100,
) -> list[DecisionOut]:
    """Recent decisions of the session's account with every agent's signal and rationale."""
    found = await DecisionRepository(await backend.pool()).recent(backend.account, symbol, limit)
    return [convert.decision_out(s.decision, s.id) for s in found]


@router.get("/decisions/{decision_id}", response_model=DecisionOut)
async def decision(
    backend: BackendDep,
    _: ReadKey,
    decision_id: Annotated[int, Path(ge=1, le=2**62)],
) -> DecisionOut:
    """One decision by id."""
    found = await DecisionRepository(await backend.pool()).get(backend.account, decision_id)
    if found is None:
        raise NotFound(f"decision {decision_id} not found for account {backend.account!r}")
    return convert.decision_out(found.decision, found.id)


@router.get("/orders", response_model=list[OrderOut])
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


@router.get("/orders/{client_order_id}", response_model=OrderOut)
async def order(backend: BackendDep, _: ReadKey, client_order_id: ClientOrderId) -> OrderOut:
    found = await OrderRepository(await backend.pool()).get(backend.account, client_order_id)
    if found is None:
        raise NotFound(f"order {client_order_id!r} not found for account {backend.account!r}")
    return convert.order_out(found)


@router.post(
    "/orders",
    response_model=OrderResultOut,
    status_code=201,
    responses={200: {"model": OrderResultOut, "description": "rejected by risk"}},
)
async def submit_order(
    backend: BackendDep, _: TradeKey, body: OrderIn, response: Response
) -> OrderResultOut:
    """An operator's order: the risk actor checks it, the execution actor submits it.

    201 with the order when risk approves; 200 with ``approved: false`` and the failed
    checks when it refuses. The order is placed as ``op-<client_order_id>`` (an id
    already starting with ``op-`` is kept), apart from every id a session uses. The
    same request again returns the same order, found before risk is asked; a different
    order under a used id is 409."""
    session = await backend.session()
    given = body.to_request()
    request = dataclasses.replace(given, client_order_id=operator_order_id(given.client_order_id))
    market = await market_view(backend, session, request.symbol)
    result = await backend.in_thread(manual_trading(session).submit, request, market)
    if not result.approved:
        response.status_code = 200
    return convert.manual_out(result)


@router.delete("/orders/{client_order_id}", response_model=OrderOut)
async def cancel_order(
    backend: BackendDep, _: TradeKey, client_order_id: ClientOrderId
) -> OrderOut:
    """Cancel a working order (409 when it is already filled, cancelled or rejected)."""
    session = await backend.session()
    market = await market_view(backend, session)
    cancelled = await backend.in_thread(manual_trading(session).cancel, client_order_id, market)
    return convert.order_out(cancelled)


@router.get("/fills", response_model=list[FillOut])
async def fills(
    backend: BackendDep,
    _: ReadKey,
    client_order_id: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    limit: Limit = 100,
) -> list[FillOut]:
    found = await FillRepository(await backend.pool()).for_account(backend.account, client_order_id)
    return [convert.fill_out(f) for f in found[-limit:]]


@router.get("/portfolio", response_model=PortfolioOut)
async def portfolio(backend: BackendDep, _: ReadKey) -> PortfolioOut:
    """Equity, exposure and P&L from the portfolio actor, marked at the last price
    (kept in the replica until the session's next event: serve_app/_private/read_cache.py)."""

    async def load() -> PortfolioOut:
        return await portfolio_out(backend, await backend.session())

    return await backend.reads.get("portfolio", load)


@router.get("/positions", response_model=list[PositionOut])
async def positions(backend: BackendDep, _: ReadKey) -> list[PositionOut]:
    async def load() -> list[PositionOut]:
        session = await backend.session()
        prices, held = await asyncio.gather(
            last_prices(backend, session), backend.call(session.portfolio, "positions")
        )
        return [convert.position_out(p, prices.get(p.symbol)) for p in held]

    return await backend.reads.get("positions", load)
