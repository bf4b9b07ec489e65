"""The backtest loop marks long quiet runs (no orders, one target) in bulk: it must give
exactly what the bar-by-bar loop gives, breakers and day rolls included."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

import sigmax.backtest.engine as engine_module
from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestEngine, BacktestResult
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.model import BarSeries
from sigmax.risk import RiskEngine
from sigmax.risk.audit import AuditTrail
from sigmax.risk.breakers import EquityMonitor
from sigmax.strategies import make_strategy

BAR_BY_BAR = 10**9  # a quiet run never reaches it: every bar goes through the scalar loop
IN_BULK = 2


def _run(bars: BarSeries, params: dict[str, str], risk: dict[str, str]) -> BacktestResult:
    fee = Decimal(10)
    engine = BacktestEngine(
        BacktestConfig(cash=Decimal(10_000), progress=False),
        RiskEngine(backtest_risk_config(risk), AuditTrail(deferred=True)),
        PaperExchange(PaperExchangeConfig(maker_fee_bps=fee, taker_fee_bps=fee)),
    )
    return engine.run(bars, make_strategy("sma_cross", params))


CASES = [
    # rare trades: long quiet runs, the drawdown breaker trips and stays
    ("BTC-USD-1h", 6000, {"fast": "50", "slow": "400", "size": "1"}, {"max_drawdown_pct": "0.08"}),
    # the daily loss limit pauses, and a new UTC day lifts the pause
    (
        "BTC-USD-1h",
        6000,
        {"fast": "24", "slow": "200", "size": "2"},
        {"daily_loss_limit_pct": "0.01"},
    ),
    # daily bars with gaps, both breakers on
    (
        "BTC-USD-1d",
        1782,
        {"fast": "10", "slow": "60", "size": "0.5"},
        {"max_drawdown_pct": "0.25", "daily_loss_limit_pct": "0.02"},
    ),
    # the backtest profile: both breakers off, so risk takes a quiet run in one step
    ("BTC-USD-1h", 3000, {"fast": "10", "slow": "30", "size": "0.5"}, {}),
]


@pytest.mark.parametrize(
    ("data", "bars", "params", "risk"), CASES, ids=["dd", "daily", "1d", "breakers-off"]
)
def test_bulk_quiet_runs_equal_the_bar_by_bar_loop(
    monkeypatch: pytest.MonkeyPatch,
    data: str,
    bars: int,
    params: dict[str, str],
    risk: dict[str, str],
) -> None:
    series = load_bars(f"bundled:{data}")[:bars]
    monkeypatch.setattr(engine_module, "QUIET_RUN_MIN", BAR_BY_BAR)
    monkeypatch.setattr(engine_module, "QUIET_LOOP_MIN", BAR_BY_BAR)
    scalar = _run(series, params, risk)
    monkeypatch.setattr(engine_module, "QUIET_LOOP_MIN", IN_BULK)
    looped = _run(series, params, risk)  # quiet runs in one plain loop
    monkeypatch.setattr(engine_module, "QUIET_RUN_MIN", IN_BULK)
    bulk = _run(series, params, risk)  # quiet runs in bulk, with numpy
    for other in (looped, bulk):
        assert np.array_equal(other.equity, scalar.equity)
        assert np.array_equal(other.position, scalar.position)
        assert list(other.audit) == list(scalar.audit)
        assert [o.client_order_id for o in other.orders] == [
            o.client_order_id for o in scalar.orders
        ]
        assert (other.risk_state, other.risk_state_reason) == (
            scalar.risk_state,
            scalar.risk_state_reason,
        )
        assert other.final_equity == scalar.final_equity
    assert other.equity.size == scalar.equity.size
    changes = [r.payload for r in scalar.audit if r.kind == "state_change"]
    if risk:
        assert changes, "the case must make a breaker act, or it proves little"
    else:
        assert not changes
        assert len(scalar.orders) > 100, "many quiet runs between orders"


def test_quiet_run_leaves_the_monitor_as_the_updates_do() -> None:
    rng = np.random.default_rng(3)
    hour = 3_600_000_000_000
    ts = 1_500_000_000_000_000_000 + np.arange(3000, dtype=np.int64) * hour
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0, 0.004, len(ts))))
    one_by_one, in_bulk = EquityMonitor(0.05, 0.02), EquityMonitor(0.05, 0.02)
    i = 0
    while i < len(ts):
        taken = in_bulk.quiet_run(ts[i:], equity[i:], new_day_is_quiet=True)
        for k in range(i, i + taken):
            assert one_by_one.update(int(ts[k]), float(equity[k])) in (0, 3)  # OK, NEW_DAY
        assert in_bulk.snapshot() == one_by_one.snapshot()
        if i + taken < len(ts):  # the bar that stopped it is an event for update()
            k = i + taken
            code = one_by_one.update(int(ts[k]), float(equity[k]))
            assert code == in_bulk.update(int(ts[k]), float(equity[k]))
            assert code != 0
        i += taken + 1
    assert in_bulk.snapshot() == one_by_one.snapshot()


@pytest.mark.parametrize("new_day_is_quiet", [False, True])
def test_scan_leaves_the_monitor_as_the_updates_do(new_day_is_quiet: bool) -> None:
    rng = np.random.default_rng(5)
    hour = 3_600_000_000_000
    ts = (1_500_000_000_000_000_000 + np.arange(3000, dtype=np.int64) * hour).tolist()
    equity = (10_000 * np.exp(np.cumsum(rng.normal(0, 0.004, len(ts))))).tolist()
    one_by_one, scanned = EquityMonitor(0.05, 0.02), EquityMonitor(0.05, 0.02)
    codes, k, events = [], 0, 0
    while k < len(ts):
        k, code = scanned.scan(ts, equity, k, new_day_is_quiet)
        codes.append((k, code))
        events += code != 0
    expected = []
    for i, (t, e) in enumerate(zip(ts, equity, strict=True)):
        code = one_by_one.update(t, e)
        if code != 0 and not (code == 3 and new_day_is_quiet):  # 3: NEW_DAY
            expected.append((i + 1, code))
    if not expected or expected[-1][0] != len(ts):
        expected.append((len(ts), 0))
    assert codes == expected
    assert scanned.snapshot() == one_by_one.snapshot()
    assert scanned.breached() == one_by_one.breached()
    assert events > 5, "the series must trip breakers and roll days"


def test_a_portfolio_takes_quiet_runs_in_bulk_as_it_steps_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sigmax.backtest.portfolio as portfolio_module
    from sigmax.backtest.portfolio import PortfolioEngine, PortfolioLeg

    # three half-hourly coins, each with its own gaps: the union timeline has steps
    # where only some legs have a bar
    series = [load_bars(f"bundled:{name}")[:5000] for name in ("ETH-USD-30m", "LTC-USD-30m")]
    series.append(load_bars("bundled:XRP-USD-30m")[200:5000])
    params = {"fast": "48", "slow": "480", "size": "1"}

    def run() -> BacktestResult:
        engine = PortfolioEngine(
            BacktestConfig(cash=Decimal(10_000), progress=False),
            RiskEngine(
                backtest_risk_config({"max_drawdown_pct": "0.1", "daily_loss_limit_pct": "0.004"}),
                AuditTrail(deferred=True),
            ),
            PaperExchange(PaperExchangeConfig(taker_fee_bps=Decimal(10))),
        )
        return engine.run([PortfolioLeg(b, make_strategy("sma_cross", params)) for b in series])

    monkeypatch.setattr(portfolio_module, "QUIET_RUN_MIN", BAR_BY_BAR)
    monkeypatch.setattr(portfolio_module, "QUIET_LOOP_MIN", BAR_BY_BAR)
    scalar = run()
    monkeypatch.setattr(portfolio_module, "QUIET_LOOP_MIN", IN_BULK)
    looped = run()  # quiet runs in one plain loop
    monkeypatch.setattr(portfolio_module, "QUIET_RUN_MIN", IN_BULK)
    bulk = run()  # quiet runs in bulk, with numpy
    for other in (looped, bulk):
        assert np.array_equal(other.equity, scalar.equity)
        for symbol, leg in scalar.legs.items():
            assert np.array_equal(other.legs[symbol].position, leg.position), symbol
        assert list(other.audit) == list(scalar.audit)
        assert (other.risk_state, other.final_equity) == (scalar.risk_state, scalar.final_equity)
    kinds = {r.payload.get("cause") for r in scalar.audit if r.kind == "state_change"}
    assert len(scalar.orders) > 5 and kinds, "the case must trade and make a breaker act"


@pytest.mark.parametrize("hours_apart", [1, 24, 7])
def test_an_unarmed_monitor_takes_a_run_in_one_step_as_the_updates_do(hours_apart: int) -> None:
    rng = np.random.default_rng(hours_apart)
    step = hours_apart * 3_600_000_000_000
    ts = (1_500_000_000_000_000_000 + np.arange(2000, dtype=np.int64) * step).tolist()
    equity = (10_000 * np.exp(np.cumsum(rng.normal(0, 0.01, len(ts))))).tolist()
    one_by_one, in_one_step = EquityMonitor(None, None), EquityMonitor(None, None)
    start = 0
    for length in rng.integers(1, 60, size=200).tolist():
        stop = min(start + length, len(ts))
        if start == stop:
            break
        assert in_one_step.take_unarmed(ts[start:stop], equity[start:stop])
        for t, e in zip(ts[start:stop], equity[start:stop], strict=True):
            assert one_by_one.update(t, e) in (0, 3)  # OK, NEW_DAY: nothing trips
        assert in_one_step.snapshot() == one_by_one.snapshot()
        start = stop


def test_an_armed_monitor_or_a_nan_is_left_to_the_scan() -> None:
    hour = 3_600_000_000_000
    ts = [1_500_000_000_000_000_000 + k * hour for k in range(5)]
    armed = EquityMonitor(0.1, None)
    assert not armed.take_unarmed(ts, [100.0] * 5)
    assert not armed.seen
    unarmed = EquityMonitor(None, None)
    assert not unarmed.take_unarmed(ts, [100.0, float("nan"), 90.0, 80.0, 70.0])
    assert not unarmed.take_unarmed([], [])
    assert not unarmed.seen  # refused: nothing taken
    with pytest.raises(ValueError, match="NaN"):
        unarmed.update(ts[1], float("nan"))
