"""Reconciliation: the venue's account state compared with SIGMAX's stored state.

Pure functions over plain values: :class:`VenueSnapshot` is what the exchange says
(balances, open orders, the state of the orders SIGMAX knows, recent trades; a
``CcxtVenue`` takes one with :meth:`~sigmax.execution.ccxt_venue.CcxtVenue.snapshot`),
:class:`StoredState` is what SIGMAX's books say (balances per asset, orders, fills).
:func:`reconcile` says

- which venue trades of SIGMAX's own orders are not in the books (fills missed while
  SIGMAX was down): to be booked;
- which orders and trades on the venue SIGMAX does not know (placed by hand, by another
  program): reported;
- where stored orders stand differently on the venue (filled, cancelled while down; an
  unacknowledged order that did or did not reach the exchange);
- for every tracked asset, the stored balance, the balance after booking the missed
  fills, and the venue's balance;

and whether the session may start: only when nothing unexplained remains. The operator
may instead adopt the venue's state (:func:`adopt_venue_state`), which returns what to
book and an audit trail of every change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sigmax.model import Fill, Liquidity, Order, OrderRequest, OrderStatus, OrderType, Side

ZERO = Decimal(0)


def fill_id_of(client_order_id: str, trade_id: str) -> str:
    """The id SIGMAX gives the fill of one venue trade of one order."""
    return f"{client_order_id}-{trade_id}"


def split_symbol(symbol: str) -> tuple[str, str]:
    """``"BTC/USDT"`` → ``("BTC", "USDT")``; a ccxt settle suffix (``:USDT``) is dropped."""
    base, sep, quote = symbol.partition("/")
    if not sep or not base or not quote:
        raise ValueError(f"symbol {symbol!r}: expected BASE/QUOTE")
    return base, quote.split(":")[0]


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order as the venue reports it; ``status`` is ccxt's (open, closed, canceled...)."""

    venue_order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    qty: Decimal
    filled: Decimal
    price: Decimal | None
    status: str
    ts: datetime

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class VenueTrade:
    """One execution on the venue; the fee is in the currency the venue charged it in."""

    trade_id: str
    venue_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str | None
    ts: datetime
    maker: bool = False


@dataclass(frozen=True, slots=True)
class VenueSnapshot:
    """What the venue says at ``taken_at``.

    ``balances``: total (free + locked) per asset. ``orders``: the venue's open orders and
    the current state of every order SIGMAX asked about (by client order id); a client
    id asked about and not found is in ``missing_client_ids``. ``trades``: the account's
    trades since some time, on the symbols asked about.
    """

    taken_at: datetime
    balances: Mapping[str, Decimal]
    orders: tuple[VenueOrder, ...]
    trades: tuple[VenueTrade, ...]
    missing_client_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class StoredState:
    """What SIGMAX's books say: balance per asset, orders and their fills."""

    balances: Mapping[str, Decimal]
    orders: Sequence[Order]
    fills: Sequence[Fill]


@dataclass(frozen=True, slots=True)
class MissedFill:
    """A venue trade of one of SIGMAX's orders that the books do not have."""

    fill: Fill
    trade: VenueTrade


@dataclass(frozen=True, slots=True)
class OrderDrift:
    """A stored order whose venue state differs from the books.

    ``venue`` is None when the venue does not know the order: an unacknowledged order
    that never reached the exchange (safe to send again under the same client id).
    """

    client_order_id: str
    stored_status: OrderStatus
    venue: VenueOrder | None

    def describe(self) -> str:
        if self.venue is None:
            return (
                f"order {self.client_order_id} ({self.stored_status.value}) is not on the "
                "venue: it never reached the exchange"
            )
        return (
            f"order {self.client_order_id} is {self.stored_status.value} in the books, "
            f"{self.venue.status} on the venue (filled {self.venue.filled} of {self.venue.qty})"
        )


@dataclass(frozen=True, slots=True)
class BalanceCheck:
    """One asset: the books, the books once the missed fills are booked, the venue."""

    asset: str
    stored: Decimal
    expected: Decimal
    venue: Decimal
    tolerance: Decimal

    @property
    def explained(self) -> bool:
        return abs(self.expected - self.venue) <= self.tolerance

    def describe(self) -> str:
        return (
            f"{self.asset}: books {self.stored}, books with missed fills {self.expected}, "
            f"venue {self.venue} (difference {self.venue - self.expected})"
        )


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """The outcome of :func:`reconcile`; :attr:`may_start` is the verdict."""

    missed_fills: tuple[MissedFill, ...]
    unknown_orders: tuple[VenueOrder, ...]
    unknown_trades: tuple[VenueTrade, ...]
    order_drifts: tuple[OrderDrift, ...]
    balances: tuple[BalanceCheck, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def unexplained_balances(self) -> tuple[BalanceCheck, ...]:
        return tuple(b for b in self.balances if not b.explained)

    @property
    def may_start(self) -> bool:
        """True when booking the missed fills explains every difference."""
        return not (self.unknown_orders or self.unknown_trades or self.unexplained_balances)

    def problems(self) -> list[str]:
        """One line per difference that stops the session from starting."""
        lines = [
            f"unknown open order on the venue: {o.venue_order_id} "
            f"(client id {o.client_order_id}) {o.side.value} {o.qty} {o.symbol} at {o.price}"
            for o in self.unknown_orders
        ]
        lines += [
            f"unknown trade on the venue: {t.trade_id} of order {t.venue_order_id} "
            f"{t.side.value} {t.qty} {t.symbol} at {t.price}"
            for t in self.unknown_trades
        ]
        lines += [f"unexplained balance: {b.describe()}" for b in self.unexplained_balances]
        return lines


def reconcile(
    venue: VenueSnapshot,
    stored: StoredState,
    *,
    assets: Sequence[str] = (),
    tolerance: Mapping[str, Decimal] | None = None,
) -> ReconcileReport:
    """Compare ``venue`` with ``stored``; ``assets`` adds assets to compare to those of the
    books and of the stored orders' symbols; ``tolerance`` is per asset (default exact)."""
    by_cid = {o.client_order_id: o for o in stored.orders}
    by_venue_id = {o.venue_order_id: o for o in stored.orders if o.venue_order_id is not None}
    # an order acknowledged only on the venue (reply lost) is found by its client id
    for vo in venue.orders:
        if vo.client_order_id in by_cid and vo.venue_order_id not in by_venue_id:
            by_venue_id[vo.venue_order_id] = by_cid[vo.client_order_id]
    stored_fill_ids = {f.fill_id for f in stored.fills}

    missed: list[MissedFill] = []
    unknown_trades: list[VenueTrade] = []
    for trade in sorted(venue.trades, key=lambda t: (t.ts, t.trade_id)):
        order = by_venue_id.get(trade.venue_order_id)
        if order is None:
            unknown_trades.append(trade)
            continue
        fid = fill_id_of(order.client_order_id, trade.trade_id)
        if fid not in stored_fill_ids:
            missed.append(MissedFill(_fill(order, trade, fid), trade))

    unknown_orders = tuple(
        vo
        for vo in venue.orders
        if vo.is_open and vo.venue_order_id not in by_venue_id and vo.client_order_id not in by_cid
    )
    drifts = _drifts(venue, stored.orders, by_venue_id)

    tracked = set(stored.balances) | set(assets)
    for o in stored.orders:
        tracked.update(split_symbol(o.request.symbol))
    for t in venue.trades:
        tracked.update(split_symbol(t.symbol))
    expected = dict(stored.balances)
    for m in missed:
        _apply(expected, m.trade)
    tol = tolerance or {}
    checks = tuple(
        BalanceCheck(
            asset=a,
            stored=stored.balances.get(a, ZERO),
            expected=expected.get(a, ZERO),
            venue=venue.balances.get(a, ZERO),
            tolerance=tol.get(a, ZERO),
        )
        for a in sorted(tracked)
    )
    return ReconcileReport(
        missed_fills=tuple(missed),
        unknown_orders=unknown_orders,
        unknown_trades=tuple(unknown_trades),
        order_drifts=drifts,
        balances=checks,
    )


@dataclass(frozen=True, slots=True)
class Adoption:
    """What adopting the venue's state books: the operator's explicit choice, audited."""

    fills: tuple[Fill, ...]
    orders: tuple[Order, ...]
    balances: Mapping[str, Decimal]
    audit: tuple[str, ...]


def adopt_venue_state(report: ReconcileReport, operator: str, ts: datetime) -> Adoption:
    """Take the venue as the truth: book the missed fills, take the unknown open orders
    into the books (under their client ids, or ``venue-<id>``), set every tracked balance
    to the venue's. Each change gets one audit line naming ``operator``."""
    if not operator:
        raise ValueError("adopt_venue_state: operator must name who adopts the venue's state")
    audit = [f"{ts.isoformat()} {operator} adopted the venue's state"]
    audit += [
        f"booked missed fill {m.fill.fill_id}: {m.fill.side.value} {m.fill.qty} "
        f"{m.fill.symbol} at {m.fill.price}"
        for m in report.missed_fills
    ]
    orders: list[Order] = []
    fills = [m.fill for m in report.missed_fills]
    adopted_ids: set[str] = set()
    for vo in report.unknown_orders:
        own = [t for t in report.unknown_trades if t.venue_order_id == vo.venue_order_id]
        order, order_fills, note = _adopted_order(vo, own)
        orders.append(order)
        fills += order_fills
        adopted_ids.add(vo.venue_order_id)
        audit.append(
            f"adopted venue order {vo.venue_order_id} as {order.client_order_id}: "
            f"{vo.side.value} {vo.qty} {vo.symbol} at {vo.price}, filled {vo.filled}"
            + (f" ({note})" if note else "")
        )
    audit += [
        f"unknown trade {t.trade_id} of order {t.venue_order_id} taken into the balances"
        for t in report.unknown_trades
        if t.venue_order_id not in adopted_ids
    ]
    balances = {}
    for b in report.balances:
        balances[b.asset] = b.venue
        if b.venue != b.stored:
            audit.append(f"balance {b.asset} set from {b.stored} to the venue's {b.venue}")
    return Adoption(tuple(fills), tuple(orders), balances, tuple(audit))


def _fill(order: Order, trade: VenueTrade, fid: str) -> Fill:
    base, quote = split_symbol(trade.symbol)
    if trade.fee_currency in (None, quote):
        fee = trade.fee
    elif trade.fee_currency == base:
        fee = trade.fee * trade.price
    else:
        fee = ZERO  # charged in a third asset (e.g. BNB): shows in that asset's balance
    return Fill(
        fill_id=fid,
        client_order_id=order.client_order_id,
        symbol=trade.symbol,
        side=trade.side,
        qty=trade.qty,
        price=trade.price,
        fee=fee,
        ts=trade.ts,
        liquidity=Liquidity.MAKER if trade.maker else Liquidity.TAKER,
    )


def _apply(balances: dict[str, Decimal], trade: VenueTrade) -> None:
    base, quote = split_symbol(trade.symbol)
    sign = 1 if trade.side is Side.BUY else -1
    balances[base] = balances.get(base, ZERO) + sign * trade.qty
    balances[quote] = balances.get(quote, ZERO) - sign * trade.qty * trade.price
    fee_asset = trade.fee_currency or quote
    balances[fee_asset] = balances.get(fee_asset, ZERO) - trade.fee


def _drifts(
    venue: VenueSnapshot, orders: Sequence[Order], by_venue_id: Mapping[str, Order]
) -> tuple[OrderDrift, ...]:
    remote: dict[str, VenueOrder] = {}
    for vo in venue.orders:
        order = by_venue_id.get(vo.venue_order_id)
        if order is not None:
            remote[order.client_order_id] = vo
    out = []
    for order in orders:
        if order.status.is_terminal:
            continue
        cid = order.client_order_id
        there = remote.get(cid)
        if there is None:
            if cid in venue.missing_client_ids:
                out.append(OrderDrift(cid, order.status, None))
            continue
        moved = not there.is_open or there.filled != order.filled_qty
        if moved or order.status is OrderStatus.NEW:
            out.append(OrderDrift(cid, order.status, there))
    return tuple(out)


def _adopted_order(
    vo: VenueOrder, trades: Sequence[VenueTrade]
) -> tuple[Order, list[Fill], str | None]:
    """The venue order as a book order with the fills of the trades seen; when older
    trades fell outside the trade window it is adopted for what remains of it."""
    cid = vo.client_order_id or f"venue-{vo.venue_order_id}"
    seen = sum((t.qty for t in trades), start=ZERO)
    note = None
    qty = vo.qty
    if seen != vo.filled:
        qty = vo.qty - vo.filled + seen
        note = f"{vo.filled - seen} filled before the trade window; adopted for {qty}"
    limit = vo.price is not None and vo.price > 0
    request = OrderRequest(
        client_order_id=cid,
        symbol=vo.symbol,
        side=vo.side,
        qty=qty,
        type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=vo.price if limit else None,
    )
    order = Order(
        request=request,
        status=OrderStatus.PARTIALLY_FILLED if seen > 0 else OrderStatus.ACCEPTED,
        created_ts=vo.ts,
        updated_ts=vo.ts,
        venue_order_id=vo.venue_order_id,
    )
    fills = [_fill(order, t, fill_id_of(cid, t.trade_id)) for t in trades]
    if fills:
        order.filled_qty = seen
        order.avg_fill_price = sum((f.qty * f.price for f in fills), start=ZERO) / seen
        order.fees = sum((f.fee for f in fills), start=ZERO)
    return order, fills, note
