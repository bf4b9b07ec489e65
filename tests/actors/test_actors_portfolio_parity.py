"""A paper session of three symbols through the actors trades exactly like the portfolio
backtest on the same bars: same fills, same equity at every step, for a fixed-quantity
strategy and an equity-fraction one.

The three symbols cover different spans of time (one starts late, one ends early), so
steps where a symbol has no bar are part of what is compared.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from actors.system import PaperRequest, run_paper, start_system
from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.portfolio import PortfolioEngine, PortfolioLeg
from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.execution import PaperExchange
from sigmax.model import BarSeries, Fill
from sigmax.risk import RiskEngine
from sigmax.strategies import make_strategy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "donchian_breakout.py"
CASH = Decimal(10_000)
CASES = {
    "qty": ("sma_cross", {"fast": "5", "slow": "20", "size": "0.1"}),
    "equity_fraction": (f"{EXAMPLE}:DonchianBreakout", {}),
}


def _csv(bars: BarSeries, path: Path) -> tuple[str, str]:
    bars.to_frame().reset_index().to_csv(path, index=False)
    return str(path), bars.symbol


@pytest.fixture(scope="module")
def legs(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[str, str | None], ...]:
    """BTC over 200 hours; ETH from the 30th of them; LTC until 30 before the end."""
    folder = tmp_path_factory.mktemp("portfolio")
    btc = load_bars("bundled:BTC-USD-1h")[6_000:6_200]
    first, last = int(btc.ts[0]), int(btc.ts[-1])
    eth = load_bars("bundled:ETH-USD-30m", None, "1h")
    ltc = load_bars("bundled:LTC-USD-30m", None, "1h")
    eth = _between(eth, int(btc.ts[30]), last)
    ltc = _between(ltc, first, int(btc.ts[-31]))
    assert len(eth) == 170 and len(ltc) == 170  # no gaps in the slices taken
    return tuple(
        _csv(bars, folder / f"{bars.symbol.replace('/', '-')}.csv") for bars in (btc, eth, ltc)
    )


def _between(bars: BarSeries, first: int, last: int) -> BarSeries:
    start, stop = np.searchsorted(bars.ts, [first, last], side="left")
    return bars[int(start) : int(stop) + 1]


def _trade(fill: Fill) -> tuple[object, ...]:
    """A fill without its ids (the backtest and the session name orders differently)."""
    return (fill.symbol, fill.side, fill.qty, fill.price, fill.fee, fill.ts)


def _backtest(
    settings: Settings, legs: tuple[tuple[str, str | None], ...], spec: str, params: dict
) -> tuple[list[tuple[object, ...]], np.ndarray]:
    series = [load_bars(path, symbol, "1h") for path, symbol in legs]
    engine = PortfolioEngine(
        BacktestConfig(cash=CASH, progress=False),
        RiskEngine(settings.risk),
        PaperExchange(settings.paper),
    )
    weight = 1.0 / len(series)
    result = engine.run([PortfolioLeg(b, make_strategy(spec, params), weight) for b in series])
    return [_trade(e.fill) for e in result.entries], result.equity


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CASES))
def test_portfolio_session_trades_like_the_portfolio_backtest(
    ray_cluster, legs: tuple[tuple[str, str | None], ...], kind: str
) -> None:
    spec, params = CASES[kind]
    settings = Settings()
    request = PaperRequest(
        legs=legs,
        timeframe="1h",
        start=0,
        bars=None,
        cash=CASH,
        session_id=f"parity-{kind}",
        persist=False,
        strategy=spec,
        params=params,
    )
    system = start_system(settings, request)
    try:
        reports = run_paper(system, request)
    finally:
        system.shutdown()

    fills, equity = _backtest(settings, legs, spec, params)
    assert make_strategy(spec, params).unit == kind
    traded = [_trade(f) for r in reports for f in r.fills]
    assert len({f[0] for f in traded}) == 3  # every symbol traded: a weak test otherwise
    assert traded == fills
    steps = list(dict.fromkeys(r.ts for r in reports))
    session_equity = [next(r.equity for r in reports if r.ts == ts) for ts in steps]
    assert len(steps) == len(equity) == 200
    # The session marks the exact books; the backtest's loop adds floats: equal to 1e-6.
    assert session_equity == pytest.approx(equity.tolist(), rel=0, abs=1e-6)
    assert sum(1 for r in reports if r.symbol == "ETH/USD") == 170
