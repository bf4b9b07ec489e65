"""The trading session's ports, backed by actor handles (one ``ray.get`` per call)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import ray

from sigmax.ledger import LedgerEntry
from sigmax.model import BarSeries, Decision, Fill, Order, OrderRequest, Position, RiskVerdict
from sigmax.risk import RiskContext
from sigmax.tracing import TRACE_CONTEXT, carrier


class _Port:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        context = carrier()  # an API request's trace and request id, when there is one
        if context:
            kwargs[TRACE_CONTEXT] = context
        return ray.get(getattr(self.handle, method).remote(*args, **kwargs))


class DecisionGraphPort(_Port):
    def decide(self, history: BarSeries) -> Decision:
        result: Decision = self._call("decide", history)
        return result


class RiskPort(_Port):
    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict:
        result: RiskVerdict = self._call("check", order, ctx)
        return result

    def on_equity(self, ts_ns: int, equity: float) -> None:
        self.handle.on_equity.remote(ts_ns, equity)  # ordered after earlier calls; no wait

    def on_fill(self, fill: Fill) -> None:
        self._call("on_fill", fill)

    def record_decision(self, decision: Decision) -> None:
        self.handle.record_decision.remote(decision)

    def on_venue_error(self, ts: datetime, error: str) -> None:
        self._call("on_venue_error", ts, error)

    def on_market_data(self, received: datetime, bar_ts_ns: int, interval_ns: int) -> None:
        self.handle.on_market_data.remote(received, bar_ts_ns, interval_ns)  # no wait

    def emergency_check(self, order: OrderRequest, ctx: RiskContext, operator: str) -> RiskVerdict:
        result: RiskVerdict = self._call("emergency_check", order, ctx, operator)
        return result

    def pause(self, reason: str, *, operator: str, cause: str = "manual") -> str:
        result: str = self._call("pause", reason, operator, cause)
        return result


class ExecutionPort(_Port):
    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        result: Order = self._call("submit", request, ts, reference_price)
        return result

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        result: Order = self._call("cancel", client_order_id, ts)
        return result

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        result: list[Order] = self._call("open_orders", symbol)
        return result

    def fills_for_bar(self, history: BarSeries) -> list[Fill]:
        result: list[Fill] = self._call("on_bar", history.bar(len(history) - 1))
        return result


class PortfolioPort(_Port):
    def apply(self, fill: Fill) -> LedgerEntry:
        result: LedgerEntry = self._call("apply", fill)
        return result

    def position(self, symbol: str) -> Position:
        result: Position = self._call("position", symbol)
        return result

    def equity(self, prices: dict[str, Decimal]) -> Decimal:
        result: Decimal = self._call("equity", prices)
        return result
