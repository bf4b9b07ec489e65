"""No look-ahead: changing the future must not change anything before it.

Every bar after ``cut`` is distorted (prices scaled and reshaped, volume changed).
Everything the backtest did up to and including bar ``cut`` — wanted positions,
decisions, orders filled, equity — must be identical; the first fill that may
differ is at bar ``cut + 1``, the earliest an order decided at ``cut`` can fill.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestOutcome, BacktestRequest, run_backtest
from sigmax.model import BarSeries


def distort_after(bars: BarSeries, cut: int) -> BarSeries:
    """A copy whose bars after ``cut`` follow a different, still valid, price path."""
    factor = np.ones(len(bars))
    factor[cut + 1 :] = np.linspace(1.4, 0.6, len(bars) - cut - 1)
    o, c = bars.open * factor, bars.close * factor
    h = np.maximum(bars.high * factor, np.maximum(o, c))
    low = np.minimum(bars.low * factor, np.minimum(o, c))
    v = bars.volume.copy()
    v[cut + 1 :] *= 3.0
    return BarSeries(bars.symbol, bars.timeframe, bars.ts.copy(), o, h, low, c, v)


def _run(bars: BarSeries, strategy: str, params: dict[str, str]) -> BacktestOutcome:
    request = BacktestRequest(
        data="in-memory",
        strategy=strategy,
        params=params,
        cash=Decimal(10_000),
        fee_bps=Decimal(10),
        progress=False,
    )
    return run_backtest(request, backtest_risk_config(), bars=bars)


SMA = {"fast": "10", "slow": "30", "size": "0.5"}
HOUR_NS = 3_600_000_000_000


@pytest.mark.parametrize(
    ("strategy", "params", "cut"),
    [
        ("sma_cross", SMA, 1200),
        ("sma_cross", SMA, 2100),
        ("sigmax", {"cadence": "none"}, 1200),  # deciding every bar
        ("sigmax", {"cadence": "none"}, 2100),
        # the default 4h cadence: a cut at a window's closing bar, and two inside a
        # window, whose decision (at its close, after the cut) sees distorted bars
        ("sigmax", {}, 2100),
        ("sigmax", {}, 2101),
        ("sigmax", {}, 2102),
    ],
)
def test_future_bars_do_not_change_the_past(
    btc_1h_small: BarSeries, strategy: str, params: dict[str, str], cut: int
) -> None:
    if strategy == "sigmax" and not params:
        closes_window = (int(btc_1h_small.ts[cut]) + HOUR_NS) % (4 * HOUR_NS) == 0
        assert closes_window == (cut == 2100), "the cuts sit where the cases say"
    base = _run(btc_1h_small, strategy, params)
    changed = _run(distort_after(btc_1h_small, cut), strategy, params)
    assert not np.array_equal(base.result.equity, changed.result.equity), "distortion had no effect"

    np.testing.assert_array_equal(base.result.equity[: cut + 1], changed.result.equity[: cut + 1])
    np.testing.assert_array_equal(
        base.result.position[: cut + 1], changed.result.position[: cut + 1]
    )
    cut_ts = base.document["equity"][cut]["ts"]
    before = [t for t in base.document["trades"] if t["ts"] <= cut_ts]
    assert before == [t for t in changed.document["trades"] if t["ts"] <= cut_ts]
    assert len(before) > 0, "no trades before the cut: the test would prove nothing"
    decisions = [d for d in base.document["decisions"] if d["ts"] <= cut_ts]
    assert decisions == [d for d in changed.document["decisions"] if d["ts"] <= cut_ts]
