"""The start of a session on a live venue, in-process: the venue's account against the
books (sigmax.execution.venue_check), and the rebalance step fitting orders to the
market before risk. The venue is a CcxtVenue on the Binance simulator (a test double)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sigmax.execution import CcxtVenue
from sigmax.execution.venue_check import check_venue
from sigmax.model import OrderRequest, RiskCheck, RiskVerdict, Side
from sigmax.risk import RiskContext
from sigmax.trading.planner import SizingRules
from sigmax.trading.rebalance import Target, rebalance
from tests.doubles.binance_spot_simulator import BinanceSpotSimulatorDouble
from tests.execution.conftest import SimCredentials, sim_config

D = Decimal


def venue_on(sim: BinanceSpotSimulatorDouble) -> CcxtVenue:
    return CcxtVenue(sim_config(sim), SimCredentials())


def test_a_new_account_starts_its_books_from_the_venues_balances(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    # the simulator's account holds 1 BTC and 100,000 USDT; the books were told 5,000
    now = datetime.now(UTC)
    books = check_venue(venue_on(sim), ["BTC/USDT"], [], [], D(5_000), False, "op", now)
    assert books.may_start and books.summary["outcome"] == "started from the venue"
    [fill] = books.fills  # the BTC as an opening position at the venue's last price
    assert (fill.symbol, fill.side, fill.qty, fill.price) == ("BTC/USDT", Side.BUY, D(1), sim.price)
    # cash: the venue's USDT, plus what the opening position's fill takes from it
    assert books.cash_delta == D(100_000) - D(5_000) + sim.price
    assert any(
        line.startswith("op: opening position 1") and " BTC " in line for line in books.audit
    )


def test_an_unexplained_difference_refuses_and_adopting_books_it(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue = venue_on(sim)
    symbols = ["BTC/USDT"]
    opening = check_venue(venue, symbols, [], [], D(0), False, "op", datetime.now(UTC))
    cash = opening.cash_delta  # books that started from the venue's balances
    order = venue.submit(OrderRequest("s-1", "BTC/USDT", Side.BUY, D("0.01")), datetime.now(UTC))
    orders = [*opening.orders, venue.order(order.client_order_id)]
    fills = [*opening.fills, *venue.take_fills()]
    now = datetime.now(UTC)
    matched = check_venue(venue, symbols, orders, fills, cash, False, "op", now)
    assert matched.may_start and matched.summary["outcome"] == "matched"

    sim.place_by_hand("SELL", D("0.5"), sim.price * 2, "by-hand-7")
    refused = check_venue(venue, symbols, orders, fills, cash, False, "op", now)
    assert not refused.may_start
    assert any("unknown open order" in p and "by-hand-7" in p for p in refused.problems)

    adopted = check_venue(venue, symbols, orders, fills, cash, True, "op", now)
    assert adopted.may_start and adopted.summary["outcome"] == "adopted"
    assert [o.client_order_id for o in adopted.orders] == ["by-hand-7"]
    assert any("adopted venue order" in line for line in adopted.audit)


class _Approve:
    def __init__(self) -> None:
        self.seen: list[OrderRequest] = []

    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict:
        self.seen.append(order)
        return RiskVerdict(True, (RiskCheck("test", True, "ok"),))


@pytest.mark.parametrize(
    ("want", "refused"), [(D("0.003456789"), False), (D("0.00001"), True)], ids=["fits", "tiny"]
)
def test_rebalance_fits_orders_to_the_market_before_risk(
    sim: BinanceSpotSimulatorDouble, want: Decimal, refused: bool
) -> None:
    venue, risk = venue_on(sim), _Approve()
    now = datetime.now(UTC)
    target = Target("r-1", "BTC/USDT", float(want), "qty", D(0), sim.price, 1e6, now)
    outcome = rebalance(target, SizingRules(), venue, risk)
    if refused:  # below the 5 USDT minimum notional: refused with the reason, unsent
        assert outcome.verdict is not None and not outcome.verdict.approved
        assert "minimum notional" in outcome.verdict.reason and risk.seen == []
        assert sim.order_requests() == []
    else:  # rounded down to the 0.00001 amount step before risk sees it
        assert [o.qty for o in risk.seen] == [D("0.00345")]
        assert outcome.placed is not None and outcome.placed.request.qty == D("0.00345")
