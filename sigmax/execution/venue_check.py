"""A session's start on a live venue: the exchange account against the stored books.

:func:`check_venue` takes the venue's snapshot (balances, open orders, the state of the
orders SIGMAX has not seen finish, trades since the books last changed), rebuilds the
books from the starting cash and the stored fills, and runs
:func:`~sigmax.execution.reconcile.reconcile` over the session's assets (its quote
currency and the base of each symbol). The outcome, :class:`VenueBooks`, says whether
the session may start and what to store and audit:

- a brand-new account (no order or fill stored) starts its books from the venue's
  balances of those assets: the quote balance becomes the cash, a base balance an
  opening position at the venue's last price (audited);
- differences that booking the missed fills explains pass;
- an unknown order or trade, or an unexplained balance, stops the start, unless the
  operator adopts the venue's state (:func:`~sigmax.execution.reconcile.adopt_venue_state`):
  unknown orders are taken into the books, and each balance is set to the venue's
  (a base through an adjustment position at the last price, the quote through the
  starting cash), every change with an audit line.

Balances compare within ``tolerance`` (default 1e-6 of a unit: the exchange prints
amounts with 8 decimals, the books keep them exact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sigmax.execution.ccxt_venue import CcxtVenue
from sigmax.execution.reconcile import (
    ReconcileReport,
    StoredState,
    adopt_venue_state,
    reconcile,
    split_symbol,
)
from sigmax.ledger import Ledger
from sigmax.model import Fill, Liquidity, Order, OrderRequest, OrderStatus, OrderType, Side

ZERO = Decimal(0)
TOLERANCE = Decimal("0.000001")


@dataclass(frozen=True)
class VenueBooks:
    """The outcome of :func:`check_venue`: whether to start, and what to store and audit.

    ``cash_delta`` is added to the books' starting cash (stored as an audited control
    record, so a restart starts from the same cash); ``orders`` and ``fills`` are the
    adopted ones to store; ``summary`` is JSON-able, for the session's status."""

    may_start: bool
    problems: tuple[str, ...]
    audit: tuple[str, ...] = ()
    cash_delta: Decimal = ZERO
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict)


def session_assets(symbols: Sequence[str]) -> tuple[str, list[str]]:
    """The quote currency a session's symbols share and their bases, in order."""
    if not symbols:
        raise ValueError("check_venue: the session trades no symbol")
    pairs = [split_symbol(s) for s in symbols]
    quotes = sorted({q for _, q in pairs})
    if len(quotes) != 1:
        raise ValueError(
            f"a live session's symbols must share one quote currency (its cash); got {quotes}"
        )
    return quotes[0], [b for b, _ in pairs]


def books_balances(
    cash: Decimal, fills: Sequence[Fill], symbols: Sequence[str]
) -> dict[str, Decimal]:
    """The books as balances per asset: the cash in the quote currency, each symbol's
    position in its base, from the starting ``cash`` and every stored fill."""
    quote, bases = session_assets(symbols)
    ledger = Ledger(cash)
    for fill in sorted(fills, key=lambda f: (f.ts, f.fill_id)):
        ledger.apply(fill)
    held = ledger.holdings(list(symbols))
    out = {quote: ledger.cash}
    for symbol, base in zip(symbols, bases, strict=True):
        out[base] = held[symbol]
    return out


def check_venue(
    venue: CcxtVenue,
    symbols: Sequence[str],
    orders: Sequence[Order],
    fills: Sequence[Fill],
    cash: Decimal,
    adopt: bool,
    operator: str,
    now: datetime,
    tolerance: Decimal = TOLERANCE,
) -> VenueBooks:
    """Compare the venue's account with the books of ``orders`` and ``fills`` started
    with ``cash``; see the module docstring."""
    quote, bases = session_assets(symbols)
    assets = [quote, *bases]
    books = books_balances(cash, fills, symbols)
    brand_new = not orders and not fills
    stamps = [f.ts for f in fills] + [o.updated_ts for o in orders]
    since = now if brand_new else max(stamps)  # the last moment the books saw the venue
    unfinished = {o.client_order_id: o.request.symbol for o in orders if not o.status.is_terminal}
    snapshot = venue.snapshot(symbols, since, unfinished)
    report = reconcile(
        snapshot,
        StoredState(books, orders, fills),
        assets=assets,
        tolerance={a: tolerance for a in assets},
    )
    summary: dict[str, Any] = {
        "checked_at": now.isoformat(),
        "brand_new": brand_new,
        "missed_fills": len(report.missed_fills),
        "order_drifts": [d.describe() for d in report.order_drifts],
        "balances": {
            b.asset: {"books": str(b.expected), "venue": str(b.venue)} for b in report.balances
        },
    }
    prices = {s: venue.last_price(s) for s in symbols}
    if brand_new:
        problems = tuple(
            line for line in report.problems() if not line.startswith("unexplained balance")
        )
        if problems and not adopt:
            return _refused(problems, summary)
        start = _set_balances(report, books, symbols, prices, operator, now, "opening")
        lines = [f"{now.isoformat()} {operator} started new books from the venue's balances"]
        if adopt and problems:
            adoption = adopt_venue_state(report, operator, now)
            start = _merge(start, adoption.orders, adoption.fills, adoption.audit)
        return _started(start, lines, summary, problems, adopted=adopt and bool(problems))
    if report.may_start:
        return VenueBooks(True, (), summary=summary | {"outcome": "matched"})
    problems = tuple(report.problems())
    if not adopt:
        return _refused(problems, summary)
    adoption = adopt_venue_state(report, operator, now)
    after = books_balances(cash, [*fills, *adoption.fills], symbols)
    start = _set_balances(report, after, symbols, prices, operator, now, "adjustment")
    start = _merge(start, adoption.orders, adoption.fills, adoption.audit)
    return _started(start, [], summary, problems, adopted=True)


@dataclass(frozen=True)
class _Start:
    orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    audit: tuple[str, ...]
    cash_delta: Decimal


def _set_balances(
    report: ReconcileReport,
    books: dict[str, Decimal],
    symbols: Sequence[str],
    prices: dict[str, Decimal],
    operator: str,
    now: datetime,
    what: str,
) -> _Start:
    """Orders, fills and a cash change that bring ``books`` to the venue's balances."""
    quote, bases = session_assets(symbols)
    venue = {b.asset: b.venue for b in report.balances}
    orders: list[Order] = []
    fills: list[Fill] = []
    audit: list[str] = []
    delta = ZERO
    for symbol, base in zip(symbols, bases, strict=True):
        diff = venue.get(base, ZERO) - books.get(base, ZERO)
        if diff == 0:
            continue
        price = prices[symbol]
        order, fill = _booked(
            f"venue-{what}-{base}-{int(now.timestamp())}", symbol, diff, price, now
        )
        orders.append(order)
        fills.append(fill)
        delta += diff * price  # the position is the venue's, not bought with the cash
        audit.append(
            f"{operator}: {what} position {diff} {base} ({symbol}) booked at {price}: "
            f"the books held {books.get(base, ZERO)}, the venue {venue.get(base, ZERO)}"
        )
    cash_diff = venue.get(quote, ZERO) - books.get(quote, ZERO)
    if cash_diff != 0:
        audit.append(
            f"{operator}: cash ({quote}) set from {books.get(quote, ZERO)} to the venue's "
            f"{venue.get(quote, ZERO)}"
        )
    return _Start(tuple(orders), tuple(fills), tuple(audit), delta + cash_diff)


def _merge(
    start: _Start, orders: Sequence[Order], fills: Sequence[Fill], audit: Sequence[str]
) -> _Start:
    return _Start(
        (*orders, *start.orders), (*fills, *start.fills), (*audit, *start.audit), start.cash_delta
    )


def _started(
    start: _Start, lines: list[str], summary: dict[str, Any], problems: Sequence[str], adopted: bool
) -> VenueBooks:
    outcome = "adopted" if adopted else "started from the venue"
    return VenueBooks(
        True,
        (),
        (*lines, *start.audit),
        start.cash_delta,
        start.orders,
        start.fills,
        summary | {"outcome": outcome, "adopted_problems": list(problems)},
    )


def _refused(problems: Sequence[str], summary: dict[str, Any]) -> VenueBooks:
    return VenueBooks(
        False, tuple(problems), summary=summary | {"outcome": "refused", "problems": list(problems)}
    )


def _booked(
    cid: str, symbol: str, qty: Decimal, price: Decimal, now: datetime
) -> tuple[Order, Fill]:
    """A filled book entry (no exchange order) moving ``symbol``'s position by ``qty``."""
    side = Side.BUY if qty > 0 else Side.SELL
    request = OrderRequest(cid, symbol, side, abs(qty), OrderType.MARKET)
    order = Order(
        request,
        OrderStatus.FILLED,
        now,
        now,
        filled_qty=abs(qty),
        avg_fill_price=price,
        reason="booked from the venue's balance at the session's start",
    )
    fill = Fill(f"{cid}-1", cid, symbol, side, abs(qty), price, ZERO, now, Liquidity.TAKER)
    return order, fill
