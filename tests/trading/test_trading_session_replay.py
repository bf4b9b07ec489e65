"""A bar processed again after a restart finds its order at the venue: it is neither
checked by risk nor sent a second time (issue 14, section 5)."""

from __future__ import annotations

from decimal import Decimal

from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.ledger import Ledger
from sigmax.model import BarSeries
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.strategies import make_strategy
from sigmax.trading.adapters import PaperVenue, StrategyDecider
from sigmax.trading.session import SessionConfig, SessionProgress, TradingSession


def _session(exchange: PaperExchange, risk: RiskEngine, book: Ledger) -> TradingSession:
    strategy = make_strategy("sma_cross", {})
    return TradingSession(
        SessionConfig(symbol="BTC/USD", session_id="replay", unit=strategy.unit),
        StrategyDecider(strategy),
        risk,
        PaperVenue(exchange),
        book,
        sent_order=exchange.find_order,
    )


def _first_order_bar(session: TradingSession, bars: BarSeries) -> tuple[int, SessionProgress]:
    """Trade bar by bar up to the first order; its index and the progress before it."""
    progress = SessionProgress(0, 0.0)
    for i in range(100, len(bars)):
        report = session.on_bar(bars[: i + 1])
        if report.order is not None:
            return i, progress
        progress = session.progress()
    raise AssertionError("no order in the data: a weak test")


def test_a_bar_replayed_after_a_restart_does_not_check_or_send_its_order_again() -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:1_500]
    exchange = PaperExchange(PaperExchangeConfig())
    risk, book = RiskEngine(RiskConfig()), Ledger(Decimal(10_000))
    i, before = _first_order_bar(_session(exchange, risk, book), bars)
    checked = risk.verdict_counts()["approved"]
    sent = list(exchange.events)

    # The restart: the venue rebuilt from what it stored, the session from its progress.
    restored = PaperExchange(PaperExchangeConfig())
    cids = sorted({e.client_order_id for e in sent})
    restored.restore([exchange.order(cid) for cid in cids], [])
    again = _session(restored, risk, book)
    again.resume(before)
    report = again.on_bar(bars[: i + 1])

    assert report.order is not None and report.verdict is not None and report.verdict.approved
    assert risk.verdict_counts()["approved"] == checked  # not checked a second time
    assert not restored.events  # neither sent nor cancelled a second time
    assert restored.order(report.order.client_order_id) == exchange.order(cids[0])
