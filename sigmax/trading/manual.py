"""An operator's order: risk check, then the venue, through the same ports as the session.

The API (and any other front end) hands an :class:`~sigmax.model.OrderRequest` and
the market it was decided in to :class:`ManualTrading`; this module builds the risk
context exactly as the automatic session does (:func:`~sigmax.trading.planner.risk_context`),
asks the risk port, and only an approved order reaches the venue. In-process the ports
are the domain objects; on Ray they are the actor-backed ports of ``actors.ports``, so
an operator's order passes the same single-writer risk actor as the session's own.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sigmax.errors import InvalidInputError
from sigmax.execution.errors import OrderConflictError, VenueError
from sigmax.model import (
    BarSeries,
    Order,
    OrderRequest,
    Position,
    RiskCheck,
    RiskVerdict,
    to_decimal,
    ts_from_ns,
    utc_now,
)
from sigmax.risk import RiskContext
from sigmax.trading.planner import risk_context

CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

# Operators' orders (through the API) are named in their own id space: a session's
# ids start with its session id, which may not start with this, so an operator can
# neither take a session's next id nor cancel or answer for a session's order by it.
OPERATOR_PREFIX = "op-"


class ManualOrderError(InvalidInputError):
    """The operator's order cannot be placed as given (bad id, wrong symbol, no price)."""


def operator_order_id(given: str) -> str:
    """The venue id of an operator's order given as ``given``: ``op-<given>`` (an id
    that already starts with ``op-``, as the API answered it, is kept)."""
    if not CLIENT_ORDER_ID.match(given):
        raise ManualOrderError(
            f"client_order_id {given!r}: use 1-64 letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit"
        )
    cid = given if given.startswith(OPERATOR_PREFIX) else OPERATOR_PREFIX + given
    if len(cid) > 64:
        raise ManualOrderError(
            f"client_order_id {given!r}: at most {64 - len(OPERATOR_PREFIX)} characters "
            f"(the API names it {OPERATOR_PREFIX!r} + the id)"
        )
    return cid


def same_order(a: OrderRequest, b: OrderRequest) -> bool:
    """Whether two requests ask for the same order: id, symbol, side, quantity, type,
    prices, time in force and reduce-only all equal."""
    return a == b


# An operator's order found at the venue under its id: not asked of risk again.
ALREADY_PLACED = RiskVerdict(True, (RiskCheck("already_placed", True, "found at the venue"),))


class OrderRiskPort(Protocol):
    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict: ...
    def on_venue_error(self, ts: datetime, error: str) -> None: ...


class OrderVenuePort(Protocol):
    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order: ...
    def cancel(self, client_order_id: str, ts: datetime) -> Order: ...
    def find_order(self, client_order_id: str) -> Order | None: ...


class PositionPort(Protocol):
    def position(self, symbol: str) -> Position: ...
    def equity(self, prices: dict[str, Decimal]) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class MarketView:
    """Where the market stands for an operator's order: the time the venue sees the
    order at (the next bar's open, as for the session's own orders), the last price, and
    every symbol's last close (what a portfolio's equity is marked at)."""

    symbol: str
    ts: datetime
    price: Decimal
    marks: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_history(
        cls, history: BarSeries, others: dict[str, BarSeries] | None = None
    ) -> MarketView:
        """The view after the newest bar of ``history`` (one bar step later); ``others``
        are the session's other symbols' bars so far, for the marks."""
        if len(history) == 0:
            raise ManualOrderError("no market data yet: the session has not seen a bar")
        last = int(history.ts[-1])
        step = int(history.ts[-1] - history.ts[-2]) if len(history) >= 2 else 0
        price = to_decimal(float(history.close[-1]))
        marks = {s: to_decimal(float(h.close[-1])) for s, h in (others or {}).items() if len(h)}
        marks[history.symbol] = price
        return cls(history.symbol, ts_from_ns(last + step), price, marks)


@dataclass(frozen=True, slots=True)
class ManualResult:
    """What became of the order: the risk verdict and, when approved, the venue's order."""

    request: OrderRequest
    verdict: RiskVerdict
    order: Order | None

    @property
    def approved(self) -> bool:
        return self.verdict.approved

    @property
    def reason(self) -> str:
        return self.verdict.reason


class ManualTrading:
    """Places and cancels an operator's orders; risk decides, the venue executes."""

    def __init__(self, risk: OrderRiskPort, venue: OrderVenuePort, book: PositionPort) -> None:
        self.risk = risk
        self.venue = venue
        self.book = book

    def submit(self, request: OrderRequest, market: MarketView) -> ManualResult:
        """Check ``request`` with risk in the current book and market; submit if approved.

        An order already at the venue under the id is found before risk is asked: the
        same request again returns it (approved, whatever risk would say now); a
        different request under a used id raises OrderConflictError.
        """
        if not CLIENT_ORDER_ID.match(request.client_order_id):
            raise ManualOrderError(
                f"client_order_id {request.client_order_id!r}: use 1-64 letters, digits, "
                "'.', '_', ':' or '-', starting with a letter or digit"
            )
        if request.symbol != market.symbol:
            raise ManualOrderError(
                f"symbol {request.symbol!r}: this session trades {market.symbol!r} only"
            )
        existing = self.venue.find_order(request.client_order_id)
        if existing is not None:
            if not same_order(existing.request, request):
                raise OrderConflictError(
                    f"order {request.client_order_id}: client_order_id already used for "
                    f"a different order ({existing.request.side.value} "
                    f"{existing.request.qty} {existing.request.symbol} "
                    f"{existing.request.type.value})"
                )
            return ManualResult(request, ALREADY_PLACED, existing)
        held = self.book.position(request.symbol).qty
        equity = self.book.equity({**market.marks, request.symbol: market.price})
        ctx = risk_context(market.ts, request.symbol, market.price, held, equity)
        verdict = self.risk.check(request, ctx)
        order = None
        if verdict.approved:
            with self._venue_errors_reported("operator order"):
                order = self.venue.submit(request, market.ts, reference_price=market.price)
        return ManualResult(request, verdict, order)

    def cancel(self, client_order_id: str, market: MarketView) -> Order:
        """Cancel a working order (a terminal one raises IllegalTransitionError)."""
        with self._venue_errors_reported("operator cancel"):
            return self.venue.cancel(client_order_id, market.ts)

    @contextlib.contextmanager
    def _venue_errors_reported(self, action: str) -> Iterator[None]:
        """An exchange-side error counts towards risk's error burst, as the session's own
        do (wall clock); the caller still gets the error."""
        try:
            yield
        except VenueError as exc:
            self.risk.on_venue_error(utc_now(), f"{action}: {type(exc).__name__}: {exc}")
            raise
