"""A strategy's wants are refused, naming the strategy, the symbol and the bar, when it
raises or returns a wrong shape, NaN or an infinite target; nothing is traded on them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestEngine
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.ledger import Ledger
from sigmax.model import BarSeries, ts_from_ns
from sigmax.risk import RiskEngine
from sigmax.strategies import (
    Strategy,
    StrategyError,
    StrategyTargetError,
    validated_target_at,
    validated_targets,
)
from sigmax.trading.adapters import PaperVenue, StrategyDecider
from sigmax.trading.session import SessionConfig, TradingSession

BAD_BAR = 40


class ScriptedStrategy(Strategy):
    """Test double: returns whatever ``make`` builds from the bars (a badly written
    user strategy), long 1 unit otherwise."""

    name = "scripted"
    unit = "qty"

    def __init__(self, make: Callable[[BarSeries], object]) -> None:
        super().__init__()
        self.make = make

    def targets(self, bars: BarSeries) -> np.ndarray:
        return self.make(bars)  # type: ignore[return-value]


def _with(value: float) -> Callable[[BarSeries], np.ndarray]:
    def make(bars: BarSeries) -> np.ndarray:
        wants = np.ones(len(bars))
        if len(bars) > BAD_BAR:
            wants[BAD_BAR] = value
        return wants

    return make


def _raises(bars: BarSeries) -> np.ndarray:
    raise ZeroDivisionError("division by zero in my indicator")


BAD_STRATEGIES = {
    "nan": (_with(float("nan")), f"bar {BAD_BAR} ", "target nan is not a finite number"),
    "+inf": (_with(float("inf")), f"bar {BAD_BAR} ", "target inf is not a finite number"),
    "-inf": (_with(float("-inf")), f"bar {BAD_BAR} ", "target -inf is not a finite number"),
    "short": (lambda b: np.ones(len(b) - 1), "bars 0-", r"shape \(\d+,\), expected"),
    "2-d": (lambda b: np.ones((len(b), 2)), "bars 0-", r"shape \(\d+, 2\), expected"),
    "text": (lambda b: ["long"] * len(b), "bars 0-", "targets returned list, not numbers"),
    "raises": (_raises, "bars 0-", "targets raised ZeroDivisionError: division by zero"),
}


def _engine() -> BacktestEngine:
    exchange = PaperExchange(PaperExchangeConfig())
    return BacktestEngine(
        BacktestConfig(progress=False), RiskEngine(backtest_risk_config()), exchange
    )


@pytest.mark.parametrize("case", sorted(BAD_STRATEGIES))
def test_backtest_refuses_bad_targets_naming_strategy_symbol_and_bar(
    case: str, btc_1h_small: BarSeries
) -> None:
    make, where, problem = BAD_STRATEGIES[case]
    bars = btc_1h_small[:100]
    engine = _engine()
    with pytest.raises(StrategyTargetError, match=problem) as caught:
        engine.run(bars, ScriptedStrategy(make))
    message = str(caught.value)
    assert message.startswith(f"strategy scripted on {bars.symbol}, {where}")
    if caught.value.bar is not None:
        assert ts_from_ns(int(bars.ts[BAD_BAR])).isoformat() in message
    assert isinstance(caught.value, StrategyError) and isinstance(caught.value, ValueError)
    assert engine.exchange.open_orders() == []  # nothing was placed


def test_validated_targets_passes_good_targets_through(btc_1h_small: BarSeries) -> None:
    bars = btc_1h_small[:50]
    wants = validated_targets(ScriptedStrategy(lambda b: [0, 1] * (len(b) // 2)), bars)
    assert wants.dtype == np.float64 and wants.tolist() == [0.0, 1.0] * 25


@pytest.mark.parametrize("case", sorted(BAD_STRATEGIES))
def test_live_target_refused_naming_the_bar_decided(case: str, btc_1h_small: BarSeries) -> None:
    make, _, problem = BAD_STRATEGIES[case]
    history = btc_1h_small[: BAD_BAR + 1]  # the bad value, if any, is the newest bar
    with pytest.raises(StrategyTargetError, match=problem) as caught:
        validated_target_at(ScriptedStrategy(make), history)
    when = ts_from_ns(int(history.ts[BAD_BAR])).isoformat()
    assert str(caught.value).startswith(f"strategy scripted on {history.symbol}, bar {BAD_BAR} ")
    assert when in str(caught.value)


def test_live_target_checks_only_the_bar_decided(btc_1h_small: BarSeries) -> None:
    """A bad value at an earlier bar was refused then; the newest bar's want is acted on."""
    history = btc_1h_small[: BAD_BAR + 5]
    assert validated_target_at(ScriptedStrategy(_with(float("nan"))), history) == 1.0


class BadTargetAt(ScriptedStrategy):
    def target_at(self, history: BarSeries) -> float:
        return float("nan") if len(history) > BAD_BAR else 0.5


def test_live_target_checks_an_overridden_target_at(btc_1h_small: BarSeries) -> None:
    strategy = BadTargetAt(_with(1.0))
    assert validated_target_at(strategy, btc_1h_small[:BAD_BAR]) == 0.5
    with pytest.raises(StrategyTargetError, match=f"bar {BAD_BAR} .*target nan"):
        validated_target_at(strategy, btc_1h_small[: BAD_BAR + 1])


def _session(strategy: Strategy, events: list[tuple[str, dict[str, object]]]) -> TradingSession:
    return TradingSession(
        SessionConfig(symbol="BTC/USD", unit=strategy.unit),
        StrategyDecider(strategy),
        RiskEngine(backtest_risk_config()),
        PaperVenue(PaperExchange(PaperExchangeConfig())),
        Ledger(Decimal(10_000)),
        on_event=lambda kind, data: events.append((kind, data)),
    )


def _flat_then_nan_then_long(bars: BarSeries) -> np.ndarray:
    wants = np.where(np.arange(len(bars)) < BAD_BAR, 0.0, 0.1)
    if len(bars) > BAD_BAR:
        wants[BAD_BAR] = np.nan
    return wants


def test_session_skips_a_refused_bar_with_an_audited_reason_and_goes_on(
    btc_1h_small: BarSeries,
) -> None:
    """The bad bar places no order, is recorded (report, decision event, risk audit), and
    the session trades the next good want as if nothing happened."""
    bars = btc_1h_small[:60]
    events: list[tuple[str, dict[str, object]]] = []
    session = _session(ScriptedStrategy(_flat_then_nan_then_long), events)
    reports = [session.on_bar(bars[: i + 1]) for i in range(len(bars))]

    refused = [i for i, r in enumerate(reports) if r.refused is not None]
    assert refused == [BAD_BAR]
    bad = reports[BAD_BAR]
    when = ts_from_ns(int(bars.ts[BAD_BAR])).isoformat()
    assert bad.refused is not None
    assert f"strategy scripted on BTC/USD, bar {BAD_BAR} ({when})" in bad.refused
    assert bad.order is None and bad.decision.target_position == 0.0
    assert bad.decision.rationale == bad.refused
    audited = [r for r in session.risk.audit.records() if r.kind == "decision"]  # type: ignore[attr-defined]
    assert any("refused: strategy scripted" in str(r.payload) for r in audited)
    decisions = [d for kind, d in events if kind == "decision"]
    assert decisions[BAD_BAR]["rationale"] == bad.refused

    orders = [(i, r.order) for i, r in enumerate(reports) if r.order is not None]
    assert [(i, o.qty) for i, o in orders] == [(BAD_BAR + 1, Decimal("0.1"))]
    assert reports[-1].position == 0.1


def test_session_skips_every_bar_of_a_strategy_that_raises(btc_1h_small: BarSeries) -> None:
    session = _session(ScriptedStrategy(_raises), [])
    reports = [session.on_bar(btc_1h_small[: i + 1]) for i in range(5)]
    assert all(r.refused and "targets raised ZeroDivisionError" in r.refused for r in reports)
    assert all(r.order is None and r.position == 0.0 for r in reports)
