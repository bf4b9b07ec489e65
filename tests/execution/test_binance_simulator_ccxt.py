"""CcxtVenue driven through the real ccxt binance client against the Binance spot
simulator (a test double, tests/doubles) over local HTTP: orders, fees, partial fills,
cancels, lost replies, rate limits, rejections and an exchange that goes away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sigmax.execution import (
    CcxtVenue,
    ExecutionVenue,
    VenueAuthError,
    VenueNetworkError,
)
from sigmax.execution.ccxt_venue import exchange_client_id
from sigmax.model import Liquidity, OrderRequest, OrderStatus, OrderType, Side
from tests.doubles.binance_spot_simulator import BinanceSpotSimulatorDouble
from tests.execution.conftest import SimCredentials, sim_config

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SYMBOL = "BTC/USDT"


def make_venue(
    sim: BinanceSpotSimulatorDouble, sleeps: list[float] | None = None, **overrides: Any
) -> tuple[CcxtVenue, list[str]]:
    errors: list[str] = []
    venue = CcxtVenue(
        sim_config(sim, **overrides),
        SimCredentials(),
        sleep=(sleeps if sleeps is not None else []).append,
        on_error=errors.append,
    )
    return venue, errors


def market(cid: str, qty: str = "0.01", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, D(qty))


def limit(cid: str, qty: str, price: Decimal, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, side, D(qty), OrderType.LIMIT, limit_price=price)


def test_market_order_fills_at_the_close_with_an_exact_quote_fee(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue, _ = make_venue(sim)
    assert isinstance(venue, ExecutionVenue)
    price = sim.price
    order = venue.submit(market("m-1"), T0, reference_price=price)
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == price
    assert order.fees == D("0.01") * price * D("0.001")
    [on_venue] = sim.orders_with_client_id("m-1")  # newClientOrderId reached the exchange
    assert str(on_venue.order_id) == order.venue_order_id
    [fill] = venue.sync(T0)
    assert fill.fee == order.fees and fill.liquidity is Liquidity.TAKER
    assert venue.fill_fee(fill.fill_id) == (order.fees, "USDT")
    balances = venue.balances()
    assert balances["BTC"] == D("1.01")
    assert balances["USDT"] == D(100_000) - D("0.01") * price - order.fees


def test_limit_order_rests_is_queried_and_cancelled(sim: BinanceSpotSimulatorDouble) -> None:
    venue, _ = make_venue(sim)
    below = (sim.price * D("0.5")).quantize(D("0.01"))
    order = venue.submit(limit("l-1", "0.02", below), T0)
    assert order.status is OrderStatus.ACCEPTED
    assert [o.client_order_id for o in venue.open_orders()] == ["l-1"]
    assert venue.sync(T0 + timedelta(minutes=1)) == []
    assert sim.locked["USDT"] > 0
    cancelled = venue.cancel("l-1", T0 + timedelta(minutes=2))
    assert cancelled.status is OrderStatus.CANCELLED
    assert [o.status for o in sim.orders_with_client_id("l-1")] == ["CANCELED"]
    assert sim.locked["USDT"] == 0 and sim.free["USDT"] == D(100_000)


def _bar_where_next_lows_stay_below_the_close(sim: BinanceSpotSimulatorDouble, n: int) -> int:
    bars = sim.bars
    for k in range(sim.cursor, len(bars) - n - 1):
        if max(b[3] for b in bars[k + 1 : k + 1 + n]) < bars[k][4] - 1:
            return k
    raise AssertionError("no such stretch in the replayed bars")


def test_partial_fills_accumulate_until_the_order_is_filled() -> None:
    with BinanceSpotSimulatorDouble(fill_cap=D("0.004")) as sim:
        sim.advance(_bar_where_next_lows_stay_below_the_close(sim, 3) - sim.cursor)
        lows = [b[3] for b in sim.bars[sim.cursor + 1 : sim.cursor + 4]]
        price = (max(lows) + D(1)).quantize(D("0.01"))  # below the close, touched 3 bars
        venue, _ = make_venue(sim)
        assert venue.submit(limit("p-1", "0.01", price), T0).status is OrderStatus.ACCEPTED
        seen = []
        for step in range(3):
            sim.advance()
            fills = venue.sync(T0 + timedelta(hours=step + 1))
            seen += fills
            assert all(f.liquidity is Liquidity.MAKER and f.price == price for f in fills)
        assert [f.qty for f in seen] == [D("0.004"), D("0.004"), D("0.002")]
        order = venue.order("p-1")
        assert order.status is OrderStatus.FILLED
        assert order.fees == D("0.01") * price * D("0.001")
        assert [e.to_status for e in venue.events][-3:] == [
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
        ]


def test_a_lost_reply_is_looked_up_by_client_id_and_never_sent_twice(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    sleeps: list[float] = []
    venue, errors = make_venue(sim, sleeps)
    venue.prepare(market("x"), sim.price)  # markets loaded before the fault
    sim.lose_next_order_reply(delay_s=1.2)  # past the 1 s client timeout
    order = venue.submit(market("lost-1"), T0, reference_price=sim.price)
    assert order.status is OrderStatus.FILLED
    assert len(sim.orders_with_client_id("lost-1")) == 1
    assert sim.order_requests() == [("POST", "/api/v3/order")]
    assert sleeps == [0.5] and "RequestTimeout" in errors[0]


def test_after_a_restart_an_unacknowledged_order_is_found_not_resent(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue, _ = make_venue(sim, network_retries=0)
    venue.prepare(market("x"), sim.price)
    sim.lose_next_order_reply()  # the connection drops: no answer at all
    with pytest.raises(VenueNetworkError):
        venue.submit(market("crash-1"), T0)
    stored = venue.order("crash-1")
    assert stored.status is OrderStatus.NEW
    # the process dies; a new one restores what was persisted and submits again
    again, _ = make_venue(sim, network_retries=0)
    again.restore([stored], [])
    order = again.submit(market("crash-1"), T0)
    assert order.status is OrderStatus.FILLED
    assert len(sim.orders_with_client_id("crash-1")) == 1
    assert len(sim.order_requests()) == 1


def test_429_is_backed_off_for_its_retry_after(sim: BinanceSpotSimulatorDouble) -> None:
    sleeps: list[float] = []
    venue, errors = make_venue(sim, sleeps)
    venue.prepare(market("x"), sim.price)
    sim.rate_limit(2, retry_after_s=3)
    order = venue.submit(market("rl-1"), T0)
    assert order.status is OrderStatus.FILLED
    assert sleeps == [3.0, 3.0]  # the exchange's Retry-After, not the 0.5 s backoff
    assert len(errors) == 2 and all("429" in e for e in errors)
    assert len(sim.orders_with_client_id("rl-1")) == 1


def test_insufficient_funds_and_filter_failures_are_rejected_and_reported(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue, errors = make_venue(sim)
    poor = venue.submit(market("big-1", "100"), T0)
    assert poor.status is OrderStatus.REJECTED
    assert "InsufficientFunds" in (poor.reason or "")
    tiny = venue.submit(market("tiny-1", "0.00001"), T0)  # ~0.03 USDT < 5 USDT notional
    assert tiny.status is OrderStatus.REJECTED and "NOTIONAL" in (tiny.reason or "")
    sim.reject_next_order(-2010, "Order would immediately match and take.")
    odd = venue.submit(market("odd-1"), T0)
    assert odd.status is OrderStatus.REJECTED and "immediately match" in (odd.reason or "")
    assert len(errors) == 3 and sim.orders == {}


def test_prepare_fits_orders_to_the_market_before_the_risk_check(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue, _ = make_venue(sim)
    check = venue.prepare(limit("q-1", "0.0123456", D("1234.567")), sim.price)
    assert check.ok and check.request is not None
    assert check.request.qty == D("0.01234") and check.request.limit_price == D("1234.56")
    assert len(check.adjustments) == 2
    sell = venue.prepare(limit("q-2", "0.01", D("1234.561"), Side.SELL), sim.price)
    assert sell.request is not None and sell.request.limit_price == D("1234.57")
    small = venue.prepare(market("q-3", "0.001"), D("1000"))
    assert not small.ok and "minimum notional 5" in (small.reason or "")
    assert "reference price" in (venue.prepare(market("q-4"), None).reason or "")
    dust = venue.prepare(market("q-5", "0.000001"), sim.price)
    assert "below the minimum amount" in (dust.reason or "")
    other = venue.prepare(OrderRequest("q-6", "ETH/USDT", Side.BUY, D(1)), D(100))
    assert "not listed" in (other.reason or "")
    assert sim.order_requests() == []


def test_the_exchange_away_then_back_gets_exactly_one_order(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    def wait(seconds: float) -> None:  # the exchange comes back during the second wait
        sleeps.append(seconds)
        if len(sleeps) == 2:
            sim.set_down(False)

    sleeps: list[float] = []
    venue = CcxtVenue(sim_config(sim), SimCredentials(), sleep=wait)
    venue.prepare(market("x"), sim.price)
    sim.set_down(True)
    order = venue.submit(market("away-1"), T0)
    assert order.status is OrderStatus.FILLED
    assert sleeps == [0.5, 1.0]  # exponential
    assert len(sim.orders_with_client_id("away-1")) == 1


def test_an_exchange_down_too_long_leaves_the_order_new_for_a_later_retry(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue, errors = make_venue(sim, network_retries=2)
    venue.prepare(market("x"), sim.price)
    sim.set_down(True)
    with pytest.raises(VenueNetworkError, match="ExchangeNotAvailable"):
        venue.submit(market("down-1"), T0)
    assert venue.order("down-1").status is OrderStatus.NEW and len(errors) == 3
    sim.set_down(False)
    assert venue.submit(market("down-1"), T0).status is OrderStatus.FILLED
    assert len(sim.orders_with_client_id("down-1")) == 1


def test_a_bad_signature_is_refused_by_the_exchange(sim: BinanceSpotSimulatorDouble) -> None:
    venue = CcxtVenue(sim_config(sim), SimCredentials(secret="not-the-secret"))
    with pytest.raises(VenueAuthError, match="Signature for this request is not valid"):
        venue.balances()


def test_a_long_session_order_id_goes_as_a_fixed_short_id_and_is_found_again(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    cid = "paper-portfolio-7f3a-BTCUSDT-1700000000000000000"  # too long for Binance (36)
    sent_as = exchange_client_id(cid)
    assert sent_as == exchange_client_id(cid) and len(sent_as) == 32
    assert exchange_client_id("s-1700000000") == "s-1700000000"
    venue, _ = make_venue(sim, network_retries=0)
    venue.prepare(market("x"), sim.price)
    sim.lose_next_order_reply()
    with pytest.raises(VenueNetworkError):
        venue.submit(market(cid), T0)
    again, _ = make_venue(sim)
    again.restore([venue.order(cid)], [])
    assert again.submit(market(cid), T0).status is OrderStatus.FILLED
    assert len(sim.orders_with_client_id(sent_as)) == 1 and len(sim.order_requests()) == 1
    snapshot = again.snapshot([SYMBOL], T0, {cid: SYMBOL})
    assert [o.client_order_id for o in snapshot.orders] == [cid]


def test_a_cancel_whose_reply_is_lost_ends_cancelled_once(sim: BinanceSpotSimulatorDouble) -> None:
    sleeps: list[float] = []
    venue, _ = make_venue(sim, sleeps)
    below = (sim.price * D("0.5")).quantize(D("0.01"))
    venue.submit(limit("lc-1", "0.02", below), T0)
    sim.lose_next_order_reply(method="DELETE")
    cancelled = venue.cancel("lc-1", T0 + timedelta(minutes=1))
    assert cancelled.status is OrderStatus.CANCELLED and sleeps == [0.5]
    assert [o.status for o in sim.orders_with_client_id("lc-1")] == ["CANCELED"]
    assert sim.order_requests().count(("DELETE", "/api/v3/order")) == 2


def test_klines_replay_the_bundled_bars_up_to_the_current_one(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    exchange = CcxtVenue(sim_config(sim), SimCredentials())._exchange
    assert exchange.fetch_time() > 0
    candles = exchange.fetch_ohlcv(SYMBOL, "1h", limit=3)
    bars = sim.bars[sim.cursor - 2 : sim.cursor + 1]
    assert [c[0] for c in candles] == [b[0] for b in bars]
    assert [D(repr(c[4])) for c in candles] == [b[4] for b in bars]
    sim.advance()
    assert exchange.fetch_ohlcv(SYMBOL, "1h", limit=1)[0][0] == sim.bars[sim.cursor][0]


def test_a_resend_refused_as_a_duplicate_finds_the_first_order(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue, _ = make_venue(sim)
    below = (sim.price * D("0.5")).quantize(D("0.01"))
    venue.prepare(market("x"), sim.price)
    sim.lose_next_order_reply()
    sim.hide_next_lookups(1)  # booked, but the first lookup does not see it yet
    order = venue.submit(limit("dup-1", "0.02", below), T0)
    assert order.status is OrderStatus.ACCEPTED
    [on_venue] = sim.orders_with_client_id("dup-1")
    assert order.venue_order_id == str(on_venue.order_id)
    assert sim.order_requests() == [("POST", "/api/v3/order")] * 2  # the second refused
