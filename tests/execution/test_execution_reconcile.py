"""Reconciliation of the venue's account with SIGMAX's books, the venue side read from
the Binance spot simulator (a test double) through the real ccxt client."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sigmax.execution import CcxtVenue, OrderManager
from sigmax.execution.reconcile import (
    StoredState,
    VenueSnapshot,
    VenueTrade,
    adopt_venue_state,
    reconcile,
)
from sigmax.model import OrderRequest, OrderStatus, OrderType, Side
from tests.doubles.binance_spot_simulator import BinanceSpotSimulatorDouble
from tests.execution.conftest import SimCredentials, sim_config

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SYMBOL = "BTC/USDT"
START = {"BTC": D(1), "USDT": D(100_000)}


def venue_for(sim: BinanceSpotSimulatorDouble) -> CcxtVenue:
    return CcxtVenue(sim_config(sim), SimCredentials())


def resting_buy_touched_next_bar(sim: BinanceSpotSimulatorDouble) -> Decimal:
    """Move to a bar whose next bar trades below its close; a buy limit between them."""
    bars = sim.bars
    k = next(k for k in range(sim.cursor, len(bars) - 1) if bars[k + 1][3] < bars[k][4] - 2)
    sim.advance(k - sim.cursor)
    return (bars[k + 1][3] + 1).quantize(D("0.01"))


def test_fills_that_happened_while_down_are_found_to_be_booked(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    price = resting_buy_touched_next_bar(sim)
    venue = venue_for(sim)
    request = OrderRequest("r-1", SYMBOL, Side.BUY, D("0.02"), OrderType.LIMIT, limit_price=price)
    stored_order = venue.submit(request, T0)
    assert stored_order.status is OrderStatus.ACCEPTED
    sim.advance()  # SIGMAX is down while its order fills
    restarted = venue_for(sim)
    snapshot = restarted.snapshot([SYMBOL], T0, {"r-1": SYMBOL})
    report = reconcile(snapshot, StoredState(START, [stored_order], []))
    [missed] = report.missed_fills
    fee = D("0.02") * price * D("0.001")
    assert (missed.fill.qty, missed.fill.price, missed.fill.fee) == (D("0.02"), price, fee)
    assert missed.trade.fee_currency == "USDT"
    [drift] = report.order_drifts
    assert drift.venue is not None and drift.venue.status == "closed"
    assert report.unknown_orders == () and report.unknown_trades == ()
    by_asset = {b.asset: b for b in report.balances}
    assert by_asset["BTC"].expected == by_asset["BTC"].venue == D("1.02")
    assert by_asset["USDT"].venue == D(100_000) - D("0.02") * price - fee
    assert report.may_start, report.problems()
    # the fill id is the one the venue itself gives the same trade
    assert [f.fill_id for f in venue.sync(T0)] == [missed.fill.fill_id]


def test_an_order_placed_by_hand_is_reported_and_stops_the_start(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    high = (sim.price * 2).quantize(D("0.01"))
    sim.place_by_hand("SELL", D("0.1"), high, "web-1")
    snapshot = venue_for(sim).snapshot([SYMBOL], T0)
    report = reconcile(snapshot, StoredState(START, [], []))
    [unknown] = report.unknown_orders
    assert (unknown.client_order_id, unknown.side, unknown.qty) == ("web-1", Side.SELL, D("0.1"))
    assert report.unexplained_balances == ()  # its BTC is locked, still in the total
    assert not report.may_start
    assert any("unknown open order" in line for line in report.problems())

    adoption = adopt_venue_state(report, "ops@desk", T0)
    [order] = adoption.orders
    assert order.client_order_id == "web-1" and order.status is OrderStatus.ACCEPTED
    assert order.request.limit_price == high and order.venue_order_id == unknown.venue_order_id
    assert adoption.audit[0].endswith("ops@desk adopted the venue's state")
    assert any("adopted venue order" in line for line in adoption.audit)
    books = OrderManager()
    books.restore(order, [f for f in adoption.fills if f.client_order_id == "web-1"])


def test_a_trade_made_by_hand_leaves_balances_unexplained_until_adopted(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    sim.place_by_hand("BUY", D("0.05"), (sim.price * 2).quantize(D("0.01")), "web-2")
    report = reconcile(venue_for(sim).snapshot([SYMBOL], T0), StoredState(START, [], []))
    assert [t.qty for t in report.unknown_trades] == [D("0.05")]
    assert {b.asset for b in report.unexplained_balances} == {"BTC", "USDT"}
    assert not report.may_start
    adoption = adopt_venue_state(report, "ops@desk", T0)
    assert adoption.balances["BTC"] == D("1.05")
    assert any("balance BTC set from 1 to the venue's 1.05" in a for a in adoption.audit)
    with pytest.raises(ValueError, match="operator"):
        adopt_venue_state(report, "", T0)


def test_an_unacknowledged_order_the_venue_never_got_is_safe_to_send(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    books = OrderManager()
    books.submit(OrderRequest("never-1", SYMBOL, Side.BUY, D("0.01")), T0)
    snapshot = venue_for(sim).snapshot([SYMBOL], T0, {"never-1": SYMBOL})
    assert snapshot.missing_client_ids == {"never-1"}
    report = reconcile(snapshot, StoredState(START, [books.order("never-1")], []))
    [drift] = report.order_drifts
    assert drift.venue is None and "never reached the exchange" in drift.describe()
    assert report.may_start


def test_balance_tolerance_and_fees_in_another_asset() -> None:
    trade = VenueTrade(
        trade_id="9",
        venue_order_id="77",
        symbol=SYMBOL,
        side=Side.SELL,
        qty=D("0.5"),
        price=D(40_000),
        fee=D("0.01"),
        fee_currency="BNB",
        ts=T0,
    )
    books = OrderManager()
    books.submit(OrderRequest("s-1", SYMBOL, Side.SELL, D("0.5")), T0)
    books.accept("s-1", T0, "77")
    snapshot = VenueSnapshot(
        taken_at=T0,
        balances={"BTC": D("0.5"), "USDT": D(120_000), "BNB": D("0.99")},
        orders=(),
        trades=(trade,),
    )
    stored = StoredState({**START, "BNB": D(1)}, [books.order("s-1")], [])
    report = reconcile(snapshot, stored)
    [missed] = report.missed_fills
    assert missed.fill.fee == 0  # a third-asset fee shows in that asset's balance
    assert report.may_start
    drifted = VenueSnapshot(T0, {**snapshot.balances, "USDT": D("120000.004")}, (), (trade,))
    assert not reconcile(drifted, stored).may_start
    assert reconcile(drifted, stored, tolerance={"USDT": D("0.01")}).may_start
