"""Issue 18, items 1, 2 and 4: a squatted order id does not end a session, the session
cancels only its own working orders, and an operator's resubmitted order is found before
risk is asked (a different order under a used id is a conflict)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.execution.errors import OrderConflictError
from sigmax.ledger import Ledger
from sigmax.model import BarSeries, OrderRequest, OrderType, Side
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.strategies import make_strategy
from sigmax.trading.adapters import PaperVenue, StrategyDecider
from sigmax.trading.manual import ManualTrading, MarketView
from sigmax.trading.session import SessionConfig, TradingSession

T0 = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


def _session(exchange: PaperExchange, risk: RiskEngine, lookup: bool = True) -> TradingSession:
    strategy = make_strategy("sma_cross", {})
    return TradingSession(
        SessionConfig(symbol="BTC/USD", session_id="s1", unit=strategy.unit),
        StrategyDecider(strategy),
        risk,
        PaperVenue(exchange),
        Ledger(Decimal(10_000)),
        sent_order=exchange.find_order if lookup else None,
    )


def _order_bars(bars: BarSeries, count: int) -> list[int]:
    """The indexes of the session's first ``count`` orders (from a clean run)."""
    exchange = PaperExchange(PaperExchangeConfig())
    session, found = _session(exchange, RiskEngine(RiskConfig())), []
    for i in range(100, len(bars)):
        if session.on_bar(bars[: i + 1]).order is not None:
            found.append(i)
            if len(found) == count:
                return found
    raise AssertionError("too few orders in the data: a weak test")


def test_an_order_id_taken_before_the_session_neither_ends_it_nor_goes_uncounted() -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:1_500]
    first, second = _order_bars(bars, 2)
    exchange, risk = PaperExchange(PaperExchangeConfig()), RiskEngine(RiskConfig())
    # No restart lookup, so the session's submit meets the other order at the venue.
    session = _session(exchange, risk, lookup=False)
    # Someone holds the session's next id with a different order (a far-away limit).
    squatted = session.order_id("BTC/USD", int(bars.ts[first]))
    squat = OrderRequest(
        squatted, "BTC/USD", Side.BUY, Decimal("0.001"), OrderType.LIMIT, Decimal(1)
    )
    exchange.submit(squat, T0)

    reports = [session.on_bar(bars[: i + 1]) for i in range(100, second + 1)]

    errors = risk.audit.records("venue_error")
    assert len(errors) == 1 and "OrderConflictError" in str(errors[0].payload)
    assert exchange.order(squatted).request == squat  # left as it was
    later = [r.order.client_order_id for r in reports[second - 100 :] if r.order is not None]
    assert later and exchange.find_order(later[0]) is not None  # it traded on


def test_the_session_cancels_only_its_own_working_orders() -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:1_500]
    first, second = _order_bars(bars, 2)
    exchange = PaperExchange(PaperExchangeConfig())
    session = _session(exchange, RiskEngine(RiskConfig()))
    by_hand = OrderRequest(
        "op-by-hand", "BTC/USD", Side.BUY, Decimal("0.001"), OrderType.LIMIT, Decimal(1)
    )
    exchange.submit(by_hand, T0)
    for i in range(100, second + 1):
        session.on_bar(bars[: i + 1])
    assert [o.client_order_id for o in exchange.open_orders()].count("op-by-hand") == 1
    cancelled = [e for e in exchange.events if e.client_order_id == "op-by-hand"]
    assert [e.to_status.value for e in cancelled] == ["new", "accepted"]


def test_operator_ids_live_in_their_own_space() -> None:
    from sigmax.trading.manual import operator_order_id

    assert operator_order_id("s1-1700000000000000000") == "op-s1-1700000000000000000"
    assert operator_order_id("op-mine") == "op-mine"  # the id the API answered, again
    with pytest.raises(ValueError, match="session id 'op'"):
        SessionConfig(symbol="BTC/USD", session_id="op")
    with pytest.raises(ValueError, match="session id 'op-x'"):
        SessionConfig(symbol="BTC/USD", session_id="op-x")


def _manual() -> tuple[ManualTrading, RiskEngine, PaperExchange]:
    risk, venue = RiskEngine(RiskConfig()), PaperExchange()
    return ManualTrading(risk, venue, Ledger(Decimal(100_000))), risk, venue


def test_a_resubmitted_order_is_found_before_risk_is_asked() -> None:
    trading, risk, venue = _manual()
    market = MarketView("BTC/USD", T0, Decimal(50_000))
    order = OrderRequest("op-1", "BTC/USD", Side.BUY, Decimal("0.01"))
    first = trading.submit(order, market)
    assert first.approved and first.order is not None
    events = len(venue.events)
    risk.pause("operator pause", operator="test")
    again = trading.submit(order, market)
    assert again.approved and again.order is not None
    assert again.order == first.order and len(venue.events) == events
    assert len(risk.audit.records("risk_check")) == 1  # not asked the second time


def test_a_different_order_under_a_used_id_is_a_conflict() -> None:
    trading, _, _ = _manual()
    market = MarketView("BTC/USD", T0, Decimal(50_000))
    trading.submit(OrderRequest("op-1", "BTC/USD", Side.BUY, Decimal("0.01")), market)
    with pytest.raises(OrderConflictError, match="op-1"):
        trading.submit(OrderRequest("op-1", "BTC/USD", Side.SELL, Decimal("0.01")), market)
