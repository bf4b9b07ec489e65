"""A backtest of the agent graph builds its decisions (and their audit records) when
they are read: the same decisions and the same hash chain as building them per order,
and a later run of the same strategy object does not change them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestEngine, BacktestResult
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.model import BarSeries
from sigmax.risk import RiskEngine
from sigmax.risk.audit import AuditTrail
from sigmax.strategies import Strategy, make_strategy


def _run(bars: BarSeries, strategy: Strategy, deferred: bool) -> BacktestResult:
    engine = BacktestEngine(
        BacktestConfig(cash=Decimal(10_000), progress=False),
        RiskEngine(backtest_risk_config(), AuditTrail(deferred=deferred)),
        PaperExchange(PaperExchangeConfig(taker_fee_bps=Decimal(10))),
    )
    return engine.run(bars, strategy)


@pytest.fixture(scope="module")
def hourly() -> BarSeries:
    return load_bars("bundled:BTC-USD-1h")[:3000]


def test_decisions_built_when_read_equal_those_built_per_order(
    hourly: BarSeries, monkeypatch: pytest.MonkeyPatch
) -> None:
    lazy = _run(hourly, make_strategy("sigmax", {}), deferred=True)
    per_order = make_strategy("sigmax", {})
    monkeypatch.setattr(per_order, "decision_maker", lambda: None)  # the old way: at once
    eager = _run(hourly, per_order, deferred=False)
    assert len(lazy.decisions) == len(eager.decisions) > 5
    assert list(lazy.decisions) == list(eager.decisions)
    assert list(lazy.audit) == list(eager.audit)
    assert any(r.kind == "decision" for r in lazy.audit)


def test_a_later_run_of_the_same_strategy_leaves_earlier_decisions_alone(
    hourly: BarSeries,
) -> None:
    graph = make_strategy("sigmax", {})
    first = _run(hourly, graph, deferred=True)
    _run(hourly[1000:], graph, deferred=True)  # the strategy now holds another run
    again = make_strategy("sigmax", {})
    reference = _run(hourly, again, deferred=True)
    assert list(first.decisions) == list(reference.decisions)
    assert list(first.audit) == list(reference.audit)
