"""In-process implementations of the session's ports over the domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from sigmax.execution import CcxtVenue, PaperExchange
from sigmax.graph import DecisionGraph
from sigmax.model import BarSeries, Decision, Fill, Order, OrderRequest, ts_from_ns
from sigmax.strategies import Strategy, validated_target_at
from sigmax.trading.multi_symbol import SymbolMemories


class GraphDecider:
    """Decides with a DecisionGraph's live path (``run_bar``)."""

    def __init__(self, graph: DecisionGraph) -> None:
        self.graph = graph
        self._symbols = SymbolMemories(graph)

    def decide(self, history: BarSeries) -> Decision:
        return self.graph.run_bar(history)

    def decide_many(self, histories: Mapping[str, BarSeries]) -> dict[str, Decision]:
        """One decision per symbol on the last bar of its history (keyed by symbol); the
        graph's memory (hysteresis, turnover) is kept per symbol, and each analyst moves
        its per-symbol live state by the new bar."""
        return self._symbols.decide_many(histories)


class StrategyDecider:
    """Decides with any Strategy: its checked want at the newest bar (``target_at``), in
    the strategy's ``unit`` (give the session the same unit). A refused want raises
    :class:`~sigmax.strategies.StrategyTargetError`, which the session turns into a
    skipped bar."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def decide(self, history: BarSeries) -> Decision:
        want = validated_target_at(self.strategy, history)
        return Decision(
            ts=ts_from_ns(history.ts[-1]),
            symbol=history.symbol,
            target_position=want,
            signals=(),
            bull_case="",
            bear_case="",
            rationale=f"strategy {self.strategy.name} wants {want} ({self.strategy.unit})",
        )


class PaperVenue:
    """The paper exchange as a session venue: fills come from each new bar."""

    def __init__(self, exchange: PaperExchange) -> None:
        self.exchange = exchange

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        return self.exchange.submit(request, ts, reference_price=reference_price)

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        return self.exchange.cancel(client_order_id, ts)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self.exchange.open_orders(symbol)

    def fills_for_bar(self, history: BarSeries) -> list[Fill]:
        if not self.exchange.has_open_orders(history.symbol):
            return []
        return self.exchange.on_bar(history.bar(len(history) - 1))


class ExchangeVenue:
    """A live (or sandbox) ccxt exchange as a session venue: fills come from polling."""

    def __init__(self, venue: CcxtVenue) -> None:
        self.venue = venue

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        return self.venue.submit(request, ts, reference_price=reference_price)

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        return self.venue.cancel(client_order_id, ts)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self.venue.open_orders(symbol)

    def fills_for_bar(self, history: BarSeries) -> list[Fill]:
        return self.venue.sync(ts_from_ns(history.ts[-1]))
