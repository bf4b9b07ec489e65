"""The slippage breaker in a backtest judges each fill against the price a cost-free
order would have got (the open of the bar it fills in), not against the close it was
decided at: the gap between a daily bar's close and the next open is the market's
move, and must not pause the rest of the run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.data import load_bars
from sigmax.model import BarSeries

DAILY = "bundled:bitstamp-BTC-USD-1d"


@pytest.fixture(scope="module")
def btc_1d() -> BarSeries:
    """The bundled Bitstamp daily BTC/USD bars: their opens gap from the previous close."""
    return load_bars(DAILY, "BTC/USD", "1d")


def _run(bars: BarSeries, **costs: Decimal) -> tuple[str, str | None, int]:
    request = BacktestRequest(data=DAILY, strategy="sma_cross", progress=False, **costs)
    result = run_backtest(request, bars=bars).result
    return result.risk_state, result.risk_state_reason, len(result.entries)


def test_ordinary_gaps_between_close_and_open_do_not_pause_a_daily_backtest(
    btc_1d: BarSeries,
) -> None:
    gaps = abs(btc_1d.open[1:] / btc_1d.close[:-1] - 1.0)
    assert gaps.max() > 0.01  # the data has gaps over the 1 % default limit
    state, reason, fills = _run(btc_1d, slippage_bps=Decimal(5))
    assert state == "running" and not reason
    assert fills > 30


def test_a_real_slippage_excursion_still_pauses_the_backtest(btc_1d: BarSeries) -> None:
    state, reason, fills = _run(btc_1d, slippage_bps=Decimal(150))
    assert state == "paused"
    assert reason is not None and reason.startswith("max_slippage: ")
    assert "slipped 1.51%" in reason  # 150 bps of slippage and half the 2 bps spread
    assert fills <= 2  # paused at the first fill: only reducing orders pass after it


def test_a_daily_portfolio_backtest_is_not_paused_by_gaps() -> None:
    request = BacktestRequest(
        data=DAILY,
        strategy="sma_cross",
        progress=False,
        slippage_bps=Decimal(5),
        symbol="BTC/USD",
        extra_legs=(("bundled:bitstamp-ETH-USD-1d", "ETH/USD"),),
        weights={"BTC/USD": 1.0},  # ETH/USD: weight 0, held flat
    )
    result = run_backtest(request).result
    assert result.risk_state == "running" and not result.risk_state_reason
    assert len(result.legs["BTC/USD"].entries) > 30
