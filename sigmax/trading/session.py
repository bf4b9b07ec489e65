"""A paper or live trading session over a stream of bars, one bar at a time.

Each bar, in the backtest engine's order: working orders fill against the new bar,
fills are booked and shown to risk, equity is marked and shown to risk, the
decider (the decision graph, or any strategy through
:class:`~sigmax.trading.adapters.StrategyDecider`) decides on the history so far, and a
changed target becomes an order that must pass risk before it reaches the venue.

A strategy whose want is refused (:class:`~sigmax.strategies.StrategyTargetError`: it
raised, or gave a wrong shape, NaN or infinity) does not end the session: the bar is
skipped with a decision that keeps the target acted on and says why (audited and
published like any decision), and no order is placed on it.

The session talks to its parts through small ports (protocols). In-process they
are the domain objects themselves; on Ray the actor layer passes adapters that
call the actors, so the trading logic exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sigmax.events.model import (
    TOPIC_OF_KIND,
    decision_data,
    fill_data,
    make_event,
    order_data,
    proposal_data,
    risk_state_data,
)
from sigmax.execution.errors import VenueError
from sigmax.ledger import LedgerEntry
from sigmax.model import (
    BarSeries,
    Decision,
    Fill,
    Order,
    OrderRequest,
    Position,
    RiskVerdict,
    to_decimal,
    ts_from_ns,
    utc_now,
)
from sigmax.risk import RiskContext
from sigmax.strategies.base import TargetUnit
from sigmax.strategies.validation import StrategyTargetError
from sigmax.trading.planner import SizingRules, plan_order, risk_context, target_qty

if TYPE_CHECKING:
    from sigmax.events.bus import EventPublisher
    from sigmax.proposals import Proposal, TradingMode


class DecisionPort(Protocol):
    def decide(self, history: BarSeries) -> Decision: ...


class RiskPort(Protocol):
    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict: ...
    def on_equity(self, ts_ns: int, equity: float) -> None: ...
    def on_fill(self, fill: Fill) -> bool: ...  # False: a fill id it had seen
    def record_decision(self, decision: Decision) -> None: ...
    def on_venue_error(self, ts: datetime, error: str) -> None: ...
    def on_market_data(self, received: datetime, bar_ts_ns: int, interval_ns: int) -> None: ...


class VenuePort(Protocol):
    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order: ...
    def cancel(self, client_order_id: str, ts: datetime) -> Order: ...
    def open_orders(self, symbol: str | None = None) -> list[Order]: ...
    def fills_for_bar(self, history: BarSeries) -> list[Fill]: ...


class BookPort(Protocol):
    def apply(self, fill: Fill) -> LedgerEntry: ...
    def position(self, symbol: str) -> Position: ...
    def equity(self, prices: dict[str, Decimal]) -> Decimal: ...


class ProposalPort(Protocol):
    """Approval mode: where orders become proposals (it publishes their events)."""

    def propose(
        self,
        decision: Decision,
        order: OrderRequest,
        verdict: RiskVerdict,
        reference_price: Decimal,
        ttl_s: float | None = None,
    ) -> Proposal: ...
    def expire_due(self) -> list[Proposal]: ...


@dataclass(frozen=True, slots=True)
class BarReport:
    """What happened on one bar of a session."""

    ts: datetime
    close: float
    equity: float
    position: float
    decision: Decision
    fills: tuple[Fill, ...]
    entries: tuple[LedgerEntry, ...]
    order: OrderRequest | None = None
    verdict: RiskVerdict | None = None
    refused: str | None = None  # why the strategy's want was refused; no order then


@dataclass
class SessionConfig:
    """Who the session trades for and how it names its orders."""

    symbol: str
    session_id: str = "paper"
    sizing: SizingRules = field(default_factory=SizingRules)
    mode: TradingMode = "auto"  # approval: orders that pass risk become proposals
    proposal_ttl_s: float | None = None  # None: the proposal desk's configured TTL
    unit: TargetUnit = "equity_fraction"  # how to read a decision's target_position


@dataclass(frozen=True, slots=True)
class SessionProgress:
    """How far a session got: stored after each bar, so a resumed session continues
    after ``last_bar_ts`` (ns) holding the target it last acted on."""

    last_bar_ts: int
    acted_target: float


# The verdict of an order found at the venue when its bar is processed again: it was
# approved (only approved orders are sent), and is not checked again.
SENT_BEFORE = RiskVerdict(approved=True, checks=())


def _ignore(kind: str, payload: dict[str, Any]) -> None:
    return None


class TradingSession:
    """Runs the decision graph on each new bar and trades its target through risk.

    Events: every decision, proposal (an order a changed target asks for), order
    (with the risk verdict), fill and risk state change goes to ``on_event(kind,
    data)`` and, with a ``publisher``, out as an :class:`~sigmax.events.Event`
    (``data`` from the builders of :mod:`sigmax.events.model`, JSON values only:
    Decimals as strings). Risk state changes
    are seen through ``risk_status`` (returning ``{"state": ..., "reason": ...}``),
    asked once per bar when given.
    """

    def __init__(
        self,
        config: SessionConfig,
        decider: DecisionPort,
        risk: RiskPort,
        venue: VenuePort,
        book: BookPort,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        publisher: EventPublisher | None = None,
        risk_status: Callable[[], Mapping[str, Any]] | None = None,
        proposals: ProposalPort | None = None,
        sent_order: Callable[[str], Order | None] | None = None,
    ) -> None:
        if config.mode == "approval" and proposals is None:
            raise ValueError("approval mode needs a proposal port (proposals are stored)")
        self.config = config
        self.proposals = proposals
        self.decider = decider
        self.risk = risk
        self.venue = venue
        self.book = book
        self.on_event = on_event or _ignore
        self.publisher = publisher
        self.risk_status = risk_status
        # The venue's order of a client id, if it has one: a bar processed again after
        # a restart finds its order there and neither checks nor sends it again.
        self.sent_order = sent_order
        self.risk_state: str | None = None
        self.acted_target = 0.0
        self.step_ns = 0
        self.clock: Callable[[], datetime] = utc_now  # wall clock: data staleness, errors

    def progress(self, history: BarSeries) -> SessionProgress:
        """Where the session stands after processing the newest bar of ``history``."""
        return SessionProgress(int(history.ts[-1]), self.acted_target)

    def resume(self, progress: SessionProgress) -> None:
        """Continue a session that got as far as ``progress`` (its next bar follows)."""
        self.acted_target = progress.acted_target

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        if self.on_event is _ignore and self.publisher is None:
            return
        event = make_event(TOPIC_OF_KIND[kind], self.config.session_id, data)
        self.on_event(kind, dict(event.data))
        if self.publisher is not None:
            self.publisher.publish(event)

    def _watch_risk(self, ts: datetime) -> None:
        if self.risk_status is None:
            return
        status = self.risk_status()
        state, reason = str(status["state"]), str(status.get("reason") or "")
        if self.risk_state is not None and state != self.risk_state:
            self._emit("risk", risk_state_data(state, reason, self.risk_state, ts))
        self.risk_state = state

    def on_bar(self, history: BarSeries) -> BarReport:
        """Process the newest bar of ``history`` (all bars so far, oldest first)."""
        symbol = self.config.symbol
        i = len(history) - 1
        if i >= 1:
            self.step_ns = int(history.ts[i] - history.ts[i - 1])
        if self.step_ns > 0:
            self.risk.on_market_data(self.clock(), int(history.ts[i]), self.step_ns)
        fills = self._fills_for_bar(history)
        entries = tuple(self._book_fill(f) for f in fills)
        close = float(history.close[i])
        price = to_decimal(close)
        held = self.book.position(symbol).qty
        equity = float(self.book.equity({symbol: price}))
        self.risk.on_equity(int(history.ts[i]), equity)
        if self.proposals is not None:
            self.proposals.expire_due()
        decision, refused = self._decide(history)
        self.risk.record_decision(decision)
        self._emit("decision", decision_data(decision))
        order, verdict = None, None
        if decision.target_position != self.acted_target:
            order, verdict = self._trade(history, decision, held, price, equity)
        bar_ts = ts_from_ns(history.ts[i])
        self._watch_risk(bar_ts)
        return BarReport(
            ts=bar_ts,
            close=close,
            equity=equity,
            position=float(held),
            decision=decision,
            fills=tuple(fills),
            entries=entries,
            order=order,
            verdict=verdict,
            refused=refused,
        )

    def _decide(self, history: BarSeries) -> tuple[Decision, str | None]:
        """The decider's decision, or, when it refuses the strategy's want, one that
        keeps the acted target (so no order) and gives the reason."""
        try:
            return self.decider.decide(history), None
        except StrategyTargetError as exc:
            reason = f"refused: {exc}"
            return self._holding_decision(history, reason), reason

    def _holding_decision(self, history: BarSeries, rationale: str) -> Decision:
        return Decision(
            ts=ts_from_ns(history.ts[-1]),
            symbol=self.config.symbol,
            target_position=self.acted_target,
            signals=(),
            bull_case="",
            bear_case="",
            rationale=rationale,
        )

    def _venue_failed(self, action: str, exc: VenueError) -> None:
        """An exchange-side error: risk counts it (a burst pauses trading); the session
        goes on with the next bar instead of stopping."""
        self.risk.on_venue_error(self.clock(), f"{action}: {type(exc).__name__}: {exc}")

    def _fills_for_bar(self, history: BarSeries) -> list[Fill]:
        try:
            return self.venue.fills_for_bar(history)
        except VenueError as exc:
            self._venue_failed("fetch fills", exc)
            return []

    def _book_fill(self, fill: Fill) -> LedgerEntry:
        entry = self.book.apply(fill)
        # Risk keeps (and persists) the recent fill ids: a bar replayed after a restart
        # hands its fills again, and they were published the first time.
        if self.risk.on_fill(fill):
            self._emit("fill", fill_data(fill))
        return entry

    def _trade(
        self, history: BarSeries, decision: Decision, held: Decimal, price: Decimal, equity: float
    ) -> tuple[OrderRequest | None, RiskVerdict | None]:
        previous_target, self.acted_target = self.acted_target, decision.target_position
        symbol, sizing = self.config.symbol, self.config.sizing
        ts = ts_from_ns(int(history.ts[-1]) + self.step_ns)
        # One order per bar at most, named by the bar: a bar processed again after a
        # restart finds it sent, and leaves it (and the orders it replaced) as they are.
        cid = f"{self.config.session_id}-{int(history.ts[-1])}"
        sent = self.sent_order(cid) if self.sent_order is not None else None
        if sent is not None:
            return sent.request, SENT_BEFORE
        try:
            for working in self.venue.open_orders(symbol):
                self.venue.cancel(working.client_order_id, ts)
        except VenueError as exc:  # the target is acted on again next bar
            self._venue_failed("cancel working orders", exc)
            self.acted_target = previous_target
            return None, None
        wanted = target_qty(
            decision.target_position, self.config.unit, equity, float(price), sizing.qty_step
        )
        request = plan_order(
            cid,
            symbol,
            held,
            wanted,
            price,
            sizing,
        )
        if request is None:
            return None, None
        if self.config.mode == "approval":
            return self._propose(decision, request, ts, held, price, equity)
        self._emit(
            "proposal", proposal_data(decision, request, held, price, equity, previous_target)
        )
        verdict = self.risk.check(request, risk_context(ts, symbol, price, held, equity))
        placed = None
        if verdict.approved:
            try:
                placed = self.venue.submit(request, ts, reference_price=price)
            except VenueError as exc:  # the target is acted on again next bar
                self._venue_failed(f"submit {request.client_order_id}", exc)
                self.acted_target = previous_target
        self._emit("order", order_data(request, verdict, placed))
        return request, verdict

    def _propose(
        self,
        decision: Decision,
        request: OrderRequest,
        ts: datetime,
        held: Decimal,
        price: Decimal,
        equity: float,
    ) -> tuple[OrderRequest, RiskVerdict]:
        """Approval mode: an order risk passes now becomes a proposal (checked again when
        approved); one it refuses is not proposed and shows as a refused order."""
        assert self.proposals is not None
        verdict = self.risk.check(request, risk_context(ts, request.symbol, price, held, equity))
        if verdict.approved:
            self.proposals.propose(decision, request, verdict, price, self.config.proposal_ttl_s)
        else:
            self._emit("order", order_data(request, verdict, None))
        return request, verdict
