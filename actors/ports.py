"""The trading session's ports, backed by actor handles (one ``ray.get`` per call).

Every call waits at most the port's ``timeout_s`` (default
:data:`~actors.options.CALL_TIMEOUT_S`) and then raises :class:`ActorCallTimeout`, an
:class:`~sigmax.errors.UnavailableError` naming the actor and the method, so the API
answers 503 instead of hanging. ``timeout_s=None`` waits as long as the actor takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import ray
from ray.exceptions import GetTimeoutError

from actors import options
from sigmax.errors import UnavailableError
from sigmax.execution.ccxt_venue import OrderCheck
from sigmax.ledger import LedgerEntry
from sigmax.model import BarSeries, Decision, Fill, Order, OrderRequest, Position, RiskVerdict
from sigmax.risk import RiskContext
from sigmax.tracing import TRACE_CONTEXT, accepts_trace_context, carrier


class ActorCallTimeout(UnavailableError):
    """An actor did not answer a call in time (busy, restarting or stuck); the same
    call may succeed later."""

    def __init__(self, actor: str, method: str, timeout_s: float) -> None:
        super().__init__(
            f"actor {actor!r} did not answer {method!r} within {timeout_s:g}s; try again"
        )
        self.actor = actor
        self.method = method
        self.timeout_s = timeout_s


def call_actor(
    handle: Any,
    method: str,
    *args: Any,
    actor: str,
    timeout_s: float | None = options.CALL_TIMEOUT_S,
    **kwargs: Any,
) -> Any:
    """``ray.get(handle.method.remote(*args, **kwargs))``, waiting at most ``timeout_s``
    (None: no limit); the method gets this context's trace and request id when it takes
    them. ``actor`` names the actor in the timeout's message."""
    bound = getattr(handle, method)
    context = carrier()  # an API request's trace and request id, when there is one
    if context and accepts_trace_context(getattr(bound, "_signature", None)):
        kwargs[TRACE_CONTEXT] = context
    try:
        return ray.get(bound.remote(*args, **kwargs), timeout=timeout_s)
    except GetTimeoutError:
        raise ActorCallTimeout(actor, method, timeout_s or 0.0) from None


class _Port:
    role: options.Role  # the actor behind the port, named in a timeout's message

    def __init__(self, handle: Any, timeout_s: float | None = options.CALL_TIMEOUT_S) -> None:
        self.handle = handle
        self.timeout_s = timeout_s

    def _call(self, method: str, *args: Any) -> Any:
        return call_actor(
            self.handle, method, *args, actor=self.role.name, timeout_s=self.timeout_s
        )


class DecisionGraphPort(_Port):
    role = options.DECISION_GRAPH

    def decide(self, history: BarSeries) -> Decision:
        result: Decision = self._call("decide", history)
        return result

    def decide_many(self, histories: dict[str, BarSeries]) -> dict[str, Decision]:
        """One decision per symbol on the last bar of its history, in one call."""
        result: dict[str, Decision] = self._call("decide_many", histories)
        return result


class RiskPort(_Port):
    """The risk actor. Equity marks, decisions and market-data notes are sent without
    waiting (a step does not pay a round trip for each); :meth:`settle` waits for them
    and raises a failed one's error, so a save that failed inside one (PostgreSQL
    away) fails the step instead of going unnoticed."""

    role = options.RISK

    def __init__(self, handle: Any, timeout_s: float | None = options.CALL_TIMEOUT_S) -> None:
        super().__init__(handle, timeout_s)
        self._unsettled: list[Any] = []  # ObjectRefs of the calls sent without waiting

    def _send(self, method: str, *args: Any) -> None:
        self._unsettled.append(getattr(self.handle, method).remote(*args))

    def settle(self) -> None:
        """Wait for every call sent without waiting since the last settle; a failed
        one's error is raised (as ``ray.get`` raises it)."""
        pending, self._unsettled = self._unsettled, []
        try:
            ray.get(pending, timeout=self.timeout_s)
        except GetTimeoutError:
            raise ActorCallTimeout(self.role.name, "settle", self.timeout_s or 0.0) from None

    def forget(self) -> None:
        """Stop tracking the calls sent without waiting (a step that failed is run again
        after its actors restart: what those calls did is not what counts)."""
        self._unsettled = []

    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict:
        result: RiskVerdict = self._call("check", order, ctx)
        return result

    def on_equity(self, ts_ns: int, equity: float) -> None:
        self._send("on_equity", ts_ns, equity)  # ordered after earlier calls; no wait

    def on_fill(self, fill: Fill) -> bool:
        new: bool = self._call("on_fill", fill)
        return new

    def record_decision(self, decision: Decision) -> None:
        self._send("record_decision", decision)

    def record_decisions(self, decisions: list[Decision]) -> None:
        self._send("record_decisions", decisions)  # one call a step; no wait

    def on_venue_error(self, ts: datetime, error: str) -> None:
        self._call("on_venue_error", ts, error)

    def on_market_data(self, received: datetime, bar_ts_ns: int, interval_ns: int) -> None:
        self._send("on_market_data", received, bar_ts_ns, interval_ns)  # no wait

    def emergency_check(self, order: OrderRequest, ctx: RiskContext, operator: str) -> RiskVerdict:
        result: RiskVerdict = self._call("emergency_check", order, ctx, operator)
        return result

    def pause(self, reason: str, *, operator: str, cause: str = "manual") -> str:
        result: str = self._call("pause", reason, operator, cause)
        return result


class ExecutionPort(_Port):
    role = options.EXECUTION

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        result: Order = self._call("submit", request, ts, reference_price)
        return result

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        result: Order = self._call("cancel", client_order_id, ts)
        return result

    def find_order(self, client_order_id: str) -> Order | None:
        result: Order | None = self._call("find_order", client_order_id)
        return result

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        result: list[Order] = self._call("open_orders", symbol)
        return result

    def fills_for_bar(self, history: BarSeries) -> list[Fill]:
        result: list[Fill] = self._call("on_bar", history.bar(len(history) - 1))
        return result

    def fills_for_bars(self, histories: list[BarSeries]) -> list[Fill]:
        """Every new bar's fills of one step, in one call."""
        bars = [history.bar(len(history) - 1) for history in histories]
        result: list[Fill] = self._call("on_bars", bars)
        return result


class PortfolioPort(_Port):
    role = options.PORTFOLIO

    def apply(self, fill: Fill) -> LedgerEntry:
        result: LedgerEntry = self._call("apply", fill)
        return result

    def position(self, symbol: str) -> Position:
        result: Position = self._call("position", symbol)
        return result

    def holdings(self, symbols: Iterable[str]) -> dict[str, Decimal]:
        result: dict[str, Decimal] = self._call("holdings", list(symbols))
        return result

    def equity(self, prices: dict[str, Decimal]) -> Decimal:
        result: Decimal = self._call("equity", prices)
        return result


class LiveExecutionPort(ExecutionPort):
    """The execution port of a live venue (dry run or ccxt): it also fits each order to
    the market's rules before the risk check (:class:`~sigmax.trading.rebalance.MarketRules`)."""

    def prepare(self, request: OrderRequest, reference_price: Decimal | None) -> OrderCheck:
        result: OrderCheck = self._call("prepare", request, reference_price)
        return result
