"""A paper session fed bar by bar trades exactly like the backtest of the same bars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestEngine
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.graph import DecisionGraph
from sigmax.ledger import Ledger
from sigmax.risk import RiskEngine
from sigmax.strategies.agent_graph import AgentGraphStrategy
from sigmax.trading.adapters import GraphDecider, PaperVenue
from sigmax.trading.session import SessionConfig, TradingSession

FEE = Decimal(10)


def _exchange() -> PaperExchange:
    return PaperExchange(PaperExchangeConfig(maker_fee_bps=FEE, taker_fee_bps=FEE))


@pytest.mark.slow
def test_session_bar_by_bar_equals_backtest() -> None:
    # the default graph decides on 4h windows: 1,348 hourly bars of warm-up, then trades
    bars = load_bars("bundled:BTC-USD-1h")[14000:16000]
    backtest = BacktestEngine(
        BacktestConfig(progress=False), RiskEngine(backtest_risk_config()), _exchange()
    ).run(bars, AgentGraphStrategy())

    strategy = AgentGraphStrategy()
    graph = DecisionGraph(strategy.graph_config)
    book = Ledger(Decimal(10_000))
    session = TradingSession(
        SessionConfig(symbol=bars.symbol),
        GraphDecider(graph),
        RiskEngine(backtest_risk_config()),
        PaperVenue(_exchange()),
        book,
    )
    reports = [session.on_bar(bars[: i + 1]) for i in range(len(bars))]
    graph.close()

    session_fills = [(f.ts, f.side, f.qty, f.price, f.fee) for r in reports for f in r.fills]
    backtest_fills = [
        (e.fill.ts, e.fill.side, e.fill.qty, e.fill.price, e.fill.fee) for e in backtest.entries
    ]
    assert len(backtest_fills) >= 4
    assert session_fills == backtest_fills
    assert [r.decision.target_position for r in reports] == [
        d for d in strategy.targets(bars).tolist()
    ]
    last = Decimal(repr(float(bars.close[-1])))
    assert book.equity({bars.symbol: last}) == backtest.final_equity
