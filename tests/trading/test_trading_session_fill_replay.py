"""A bar processed again after a session restart publishes each of its fills once
(issue 14, section 5): the venue hands the retried bar its fills again, the books and
risk ignore them, and no second fill event goes out."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.ledger import Ledger, LedgerEntry
from sigmax.model import BarSeries, Fill
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.strategies import make_strategy
from sigmax.trading.adapters import PaperVenue, StrategyDecider
from sigmax.trading.session import SessionConfig, SessionProgress, TradingSession


class StoredFillsVenueDouble(PaperVenue):
    """Test double of the execution actor: a bar asked for again gets the fills it
    got the first time (the actor answers a retried bar from PostgreSQL)."""

    def __init__(self, exchange: PaperExchange) -> None:
        super().__init__(exchange)
        self.fills_by_bar: dict[int, list[Fill]] = {}

    def fills_for_bar(self, history: BarSeries) -> list[Fill]:
        ts = int(history.ts[-1])
        if ts not in self.fills_by_bar:
            self.fills_by_bar[ts] = super().fills_for_bar(history)
        return self.fills_by_bar[ts]


class IdempotentBookDouble:
    """Test double of the portfolio actor: a fill it booked before returns its entry."""

    def __init__(self) -> None:
        self.ledger = Ledger(Decimal(10_000))
        self.entries: dict[str, LedgerEntry] = {}
        self.position, self.equity = self.ledger.position, self.ledger.equity
        self.holdings = self.ledger.holdings

    def apply(self, fill: Fill) -> LedgerEntry:
        if fill.fill_id not in self.entries:
            self.entries[fill.fill_id] = self.ledger.apply(fill)
        return self.entries[fill.fill_id]


def _session(
    venue: PaperVenue, risk: RiskEngine, book: IdempotentBookDouble, events: list[Any]
) -> TradingSession:
    strategy = make_strategy("sma_cross", {})
    return TradingSession(
        SessionConfig(symbol="BTC/USD", session_id="replay", unit=strategy.unit),
        StrategyDecider(strategy),
        risk,
        venue,
        book,
        on_event=lambda kind, data: events.append((kind, data)),
        sent_order=venue.exchange.find_order,
    )


def _first_fill_bar(session: TradingSession, bars: BarSeries) -> tuple[int, SessionProgress]:
    """Trade bar by bar up to the first bar with fills; its index and the progress before."""
    progress = SessionProgress(0, 0.0)
    for i in range(100, len(bars)):
        report = session.on_bar(bars[: i + 1])
        if report.fills:
            return i, progress
        progress = session.progress()
    raise AssertionError("no fill in the data: a weak test")


def test_a_replayed_bar_publishes_each_fill_once() -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:1_500]
    venue = StoredFillsVenueDouble(PaperExchange(PaperExchangeConfig()))
    risk, book = RiskEngine(RiskConfig()), IdempotentBookDouble()
    events: list[Any] = []
    i, before = _first_fill_bar(_session(venue, risk, book, events), bars)
    slippage = risk.recent_slippage

    again = _session(venue, risk, book, events)  # the restart, resumed before the bar
    again.resume(before)
    report = again.on_bar(bars[: i + 1])

    assert report.fills  # the venue did hand the bar's fills again
    published = Counter(data["fill_id"] for kind, data in events if kind == "fill")
    assert published == Counter(f.fill_id for f in report.fills)
    assert risk.recent_slippage == slippage
