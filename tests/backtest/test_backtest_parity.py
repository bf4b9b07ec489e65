"""sma_cross in SIGMAX against the same strategy in backtrader, on real bundled data.

backtrader is the reference implementation here: identical trades (time, side,
quantity, price, fee) and final equity to 1e-6.
"""

from __future__ import annotations

from decimal import Decimal

import backtrader as bt
import pandas as pd
import pytest

from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.model import BarSeries


class _BacktraderSmaCross(bt.Strategy):  # type: ignore[misc]
    params = (("fast", 10), ("slow", 30), ("size", 1.0))

    def __init__(self) -> None:
        self.fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.trades: list[tuple[pd.Timestamp, str, float, float, float]] = []

    def next(self) -> None:
        long = self.fast[0] > self.slow[0]
        if long and not self.position:
            self.buy(size=self.p.size)
        elif not long and self.position:
            self.close()

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            ts = pd.Timestamp(bt.num2date(order.executed.dt), tz="UTC")
            side = "buy" if order.isbuy() else "sell"
            ex = order.executed
            self.trades.append((ts, side, abs(ex.size), ex.price, ex.comm))


def run_backtrader(bars: BarSeries, fast: int, slow: int, size: float, cash: float, fee_bps: float):
    frame = bars.to_frame()
    frame.index = frame.index.tz_convert(None)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(_BacktraderSmaCross, fast=fast, slow=slow, size=size)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=fee_bps / 10_000)
    cerebro.broker.set_checksubmit(False)  # the contract: orders fill, no cash check
    strategy = cerebro.run()[0]
    return strategy.trades, cerebro.broker.getvalue()


@pytest.mark.parametrize(
    ("fast", "slow", "size", "fee_bps"),
    [(10, 30, 0.5, 10.0), (24, 96, 1.0, 25.0), (5, 20, 0.25, 0.0)],
)
def test_sma_cross_matches_backtrader(btc_1h: BarSeries, fast, slow, size, fee_bps) -> None:
    bars = btc_1h[:8000]
    request = BacktestRequest(
        data="bundled:BTC-USD-1h",
        strategy="sma_cross",
        params={"fast": str(fast), "slow": str(slow), "size": str(size)},
        cash=Decimal(10_000),
        fee_bps=Decimal(str(fee_bps)),
        slippage_bps=Decimal(0),  # backtrader fills at the open: no spread, no slippage
        spread_bps=Decimal(0),
        progress=False,
    )
    outcome = run_backtest(request, backtest_risk_config(), bars=bars)
    ours = [
        (pd.Timestamp(t["ts"]), t["side"], t["qty"], t["price"], t["fee"])
        for t in outcome.document["trades"]
    ]
    theirs, final_value = run_backtrader(bars, fast, slow, size, 10_000.0, fee_bps)

    assert len(ours) > 20, "the comparison needs real trading to mean anything"
    assert outcome.document["rejections"] == []
    assert len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine[0] == ref[0] and mine[1] == ref[1]
        assert mine[2] == pytest.approx(ref[2], abs=1e-9)
        assert mine[3] == pytest.approx(ref[3], abs=1e-6)
        assert mine[4] == pytest.approx(ref[4], abs=1e-6)
    assert float(outcome.result.final_equity) == pytest.approx(final_value, abs=1e-6)
