"""A paper or live trading session over a stream of bars: one symbol or a portfolio.

Each step (one bar timestamp; the symbols with a bar there), in the portfolio
backtest's order: every symbol's working orders fill against its new bar, fills are
booked and shown to risk, the account's equity is marked (each symbol at its last
close) and shown to risk, the decider (the decision graph, or any strategy through
:class:`~sigmax.trading.adapters.StrategyDecider`) decides for every symbol on its
history so far, and each changed target goes through the shared rebalance step
(:func:`~sigmax.trading.rebalance.rebalance`): an order that must pass risk, with the
whole book in view, before it reaches the venue. Symbols are visited in the order the
session was configured with; a symbol without a bar at a step is marked at its last
close and gets no decision there.

A strategy whose want is refused (:class:`~sigmax.strategies.StrategyTargetError`: it
raised, or gave a wrong shape, NaN or infinity) does not end the session: the bar is
skipped with a decision that keeps the target acted on and says why (audited and
published like any decision), and no order is placed on it.

The session talks to its parts through small ports (protocols). In-process they
are the domain objects themselves; on Ray the actor layer passes adapters that
call the actors, so the trading logic exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sigmax.events.model import (
    TOPIC_OF_KIND,
    allocation_data,
    decision_data,
    fill_data,
    make_event,
    order_data,
    proposal_data,
    risk_state_data,
)
from sigmax.execution.errors import ExecutionError, VenueError
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
from sigmax.trading.manual import OPERATOR_PREFIX
from sigmax.trading.planner import SizingRules
from sigmax.trading.rebalance import OrderVenue, Outcome, Send, Target, rebalance

if TYPE_CHECKING:
    from sigmax.events.bus import EventPublisher
    from sigmax.proposals import Proposal, TradingMode


class DecisionPort(Protocol):
    """Decides one symbol's target on its history. A decider may also offer
    ``decide_many(histories) -> {symbol: Decision}`` (one call for every symbol of a
    step, as the decision-graph actor does); the session uses it when present."""

    def decide(self, history: BarSeries) -> Decision: ...


class RiskPort(Protocol):
    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict: ...
    def on_equity(self, ts_ns: int, equity: float) -> None: ...
    def on_fill(self, fill: Fill) -> bool: ...  # False: a fill id it had seen
    def record_decision(self, decision: Decision) -> None: ...
    def on_venue_error(self, ts: datetime, error: str) -> None: ...
    def on_market_data(self, received: datetime, bar_ts_ns: int, interval_ns: int) -> None: ...


class VenuePort(OrderVenue, Protocol):
    """The rebalance step's venue, and the fills of each new bar."""

    def fills_for_bar(self, history: BarSeries) -> list[Fill]: ...


class BookPort(Protocol):
    def apply(self, fill: Fill) -> LedgerEntry: ...
    def position(self, symbol: str) -> Position: ...
    def holdings(self, symbols: Iterable[str]) -> dict[str, Decimal]: ...
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
    """What happened on one symbol's bar of a session (``equity`` is the account's)."""

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

    @property
    def symbol(self) -> str:
        return self.decision.symbol


@dataclass
class SessionConfig:
    """Who the session trades for and how it names its orders.

    ``symbols`` (or a single ``symbol``) are traded in that order; ``weights`` are the
    symbols' shares of equity that scale equity-fraction targets (equal shares when
    none are given; a ``qty`` target ignores them)."""

    symbol: str = ""
    session_id: str = "paper"
    sizing: SizingRules = field(default_factory=SizingRules)
    mode: TradingMode = "auto"  # approval: orders that pass risk become proposals
    proposal_ttl_s: float | None = None  # None: the proposal desk's configured TTL
    unit: TargetUnit = "equity_fraction"  # how to read a decision's target_position
    symbols: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.symbols:
            if not self.symbol:
                raise ValueError("a trading session needs at least one symbol")
            self.symbols = (self.symbol,)
        twice = sorted({s for s in self.symbols if self.symbols.count(s) > 1})
        if twice:
            raise ValueError(f"trading session: symbol given twice: {', '.join(twice)}")
        unknown = sorted(set(self.weights) - set(self.symbols))
        if unknown:
            raise ValueError(f"trading session: weight for a symbol not traded: {unknown}")
        self.symbol = self.symbols[0]
        if self.session_id == OPERATOR_PREFIX.rstrip("-") or self.session_id.startswith(
            OPERATOR_PREFIX
        ):
            raise ValueError(
                f"trading session: session id {self.session_id!r}: ids starting with "
                f"{OPERATOR_PREFIX!r} name operators' orders; choose another"
            )

    def weight(self, symbol: str) -> float:
        return self.weights.get(symbol, 1.0 / len(self.symbols))


@dataclass(frozen=True, slots=True)
class SessionProgress:
    """How far a session got: stored after each step, so a resumed session continues
    after ``last_bar_ts`` (ns) holding the targets it last acted on, per symbol
    (``acted_target`` is the first symbol's, as sessions of one symbol stored it)."""

    last_bar_ts: int
    acted_target: float
    acted_targets: dict[str, float] = field(default_factory=dict)


# The verdict of an order found at the venue when its bar is processed again: it was
# approved (only approved orders are sent), and is not checked again.
SENT_BEFORE = RiskVerdict(approved=True, checks=())


def _ignore(kind: str, payload: dict[str, Any]) -> None:
    return None


class TradingSession:
    """Runs the decider on each new step and trades every symbol's target through risk.

    Events: every decision, proposal (an order a changed target asks for), order
    (with the risk verdict), fill and risk state change goes to ``on_event(kind,
    data)`` and, with a ``publisher``, out as an :class:`~sigmax.events.Event`
    (``data`` from the builders of :mod:`sigmax.events.model`, JSON values only:
    Decimals as strings). Risk state changes
    are seen through ``risk_status`` (returning ``{"state": ..., "reason": ...}``),
    asked once per step when given.
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
        self.acted: dict[str, float] = dict.fromkeys(config.symbols, 0.0)
        self.step_ns: dict[str, int] = {}
        self.marks: dict[str, Decimal] = {}  # each symbol's last close
        self.last_ts = 0
        self.clock: Callable[[], datetime] = utc_now  # wall clock: data staleness, errors

    @property
    def acted_target(self) -> float:
        """The target last acted on for the (first) symbol."""
        return self.acted[self.config.symbol]

    def progress(self) -> SessionProgress:
        """Where the session stands after the last step it processed."""
        return SessionProgress(self.last_ts, self.acted_target, dict(self.acted))

    def resume(self, progress: SessionProgress) -> None:
        """Continue a session that got as far as ``progress`` (its next step follows)."""
        for symbol in self.acted:
            first = symbol == self.config.symbol
            fallback = progress.acted_target if first else 0.0
            self.acted[symbol] = progress.acted_targets.get(symbol, fallback)
        self.last_ts = progress.last_bar_ts

    def weights(self) -> dict[str, float]:
        """Every symbol's share of equity now."""
        return {s: self.config.weight(s) for s in self.config.symbols}

    def set_weights(self, weights: Mapping[str, float], source: str) -> None:
        """New shares of equity (from the next step on), published as an
        ``allocation`` event; a symbol not named keeps no share (0)."""
        unknown = sorted(set(weights) - set(self.config.symbols))
        bad = sorted(s for s, w in weights.items() if not 0.0 <= w <= 1.0)
        if unknown or bad:
            raise ValueError(f"weights: not traded {unknown}, outside [0, 1] {bad}")
        previous = self.weights()
        self.config.weights = {s: float(weights.get(s, 0.0)) for s in self.config.symbols}
        self._emit("allocation", allocation_data(self.weights(), previous, source))

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
        """Process the newest bar of ``history`` (all bars so far, oldest first): a step
        of that one symbol."""
        return self.on_step({history.symbol: history})[0]

    def on_step(self, histories: Mapping[str, BarSeries]) -> list[BarReport]:
        """Process one timestamp: ``histories`` maps each symbol with a bar there to its
        bars so far (oldest first, the new one last). One report per such symbol, in
        the session's symbol order."""
        symbols = self._step_symbols(histories)
        ts_ns = max(int(histories[s].ts[-1]) for s in symbols)
        self._note_market_data(histories, symbols, ts_ns)
        fills = self._fills_for_step([histories[s] for s in symbols])
        entries = {s: tuple(self._book_fill(f) for f in fills.get(s, ())) for s in symbols}
        for s in symbols:
            self.marks[s] = to_decimal(float(histories[s].close[-1]))
        held = self.book.holdings(self.config.symbols)
        equity = float(self.book.equity(dict(self.marks)))
        self.risk.on_equity(ts_ns, equity)
        if self.proposals is not None:
            self.proposals.expire_due()
        decided = self._decide_all({s: histories[s] for s in symbols})
        self._record([decided[s][0] for s in symbols])
        reports = []
        for s in symbols:
            decision, refused = decided[s]
            order, verdict = None, None
            if decision.target_position != self.acted[s]:
                order, verdict = self._trade(histories[s], decision, held, equity)
            reports.append(
                BarReport(
                    ts=ts_from_ns(histories[s].ts[-1]),
                    close=float(histories[s].close[-1]),
                    equity=equity,
                    position=float(held[s]),
                    decision=decision,
                    fills=tuple(fills.get(s, ())),
                    entries=entries[s],
                    order=order,
                    verdict=verdict,
                    refused=refused,
                )
            )
        self.last_ts = ts_ns
        self._watch_risk(ts_from_ns(ts_ns))
        return reports

    def _record(self, decisions: list[Decision]) -> None:
        """Audit (one risk call for a step's decisions when risk can) and publish them."""
        record_many = getattr(self.risk, "record_decisions", None)
        if record_many is not None and len(decisions) > 1:
            record_many(decisions)
        else:
            for decision in decisions:
                self.risk.record_decision(decision)
        for decision in decisions:
            self._emit("decision", decision_data(decision))

    def _step_symbols(self, histories: Mapping[str, BarSeries]) -> list[str]:
        unknown = sorted(set(histories) - set(self.config.symbols))
        if unknown:
            raise ValueError(f"trading session: bars of a symbol it does not trade: {unknown}")
        symbols = [s for s in self.config.symbols if s in histories]
        if not symbols:
            raise ValueError("trading session: a step needs at least one symbol's bars")
        return symbols

    def _note_market_data(
        self, histories: Mapping[str, BarSeries], symbols: list[str], ts_ns: int
    ) -> None:
        for s in symbols:
            history = histories[s]
            if len(history) >= 2:
                self.step_ns[s] = int(history.ts[-1] - history.ts[-2])
        steps = [step for step in self.step_ns.values() if step > 0]
        if steps:
            self.risk.on_market_data(self.clock(), ts_ns, min(steps))

    def _decide_all(
        self, histories: dict[str, BarSeries]
    ) -> dict[str, tuple[Decision, str | None]]:
        """Every symbol's decision (one call for all of them when the decider can), or,
        where the decider refuses the strategy's want, one that keeps the acted target
        (so no order) and gives the reason."""
        decide_many = getattr(self.decider, "decide_many", None)
        items = histories.items()
        if decide_many is not None and len(histories) > 1:
            try:
                decisions: dict[str, Decision] = decide_many(histories)
                return {s: (decisions[s], None) for s in histories}
            except StrategyTargetError as exc:
                reason = f"refused: {exc}"
                return {
                    s: (self._holding_decision(h, reason), reason) for s, h in histories.items()
                }
        return {s: self._decide(h) for s, h in items}

    def _decide(self, history: BarSeries) -> tuple[Decision, str | None]:
        try:
            return self.decider.decide(history), None
        except StrategyTargetError as exc:
            reason = f"refused: {exc}"
            return self._holding_decision(history, reason), reason

    def _holding_decision(self, history: BarSeries, rationale: str) -> Decision:
        return Decision(
            ts=ts_from_ns(history.ts[-1]),
            symbol=history.symbol,
            target_position=self.acted[history.symbol],
            signals=(),
            bull_case="",
            bear_case="",
            rationale=rationale,
        )

    def _venue_failed(self, action: str, exc: ExecutionError) -> None:
        """An exchange-side or order-level error: risk counts it (a burst pauses
        trading); the session goes on with the next bar instead of stopping."""
        self.risk.on_venue_error(self.clock(), f"{action}: {type(exc).__name__}: {exc}")

    def _fills_for_step(self, histories: list[BarSeries]) -> dict[str, list[Fill]]:
        """The fills of every symbol's new bar (one venue call when the venue can)."""
        fills_for_bars = getattr(self.venue, "fills_for_bars", None)
        try:
            if fills_for_bars is not None and len(histories) > 1:
                found: list[Fill] = fills_for_bars(histories)
            else:
                found = [f for h in histories for f in self.venue.fills_for_bar(h)]
        except VenueError as exc:
            self._venue_failed("fetch fills", exc)
            return {}
        by_symbol: dict[str, list[Fill]] = {}
        for fill in found:
            by_symbol.setdefault(fill.symbol, []).append(fill)
        return by_symbol

    def _book_fill(self, fill: Fill) -> LedgerEntry:
        entry = self.book.apply(fill)
        # Risk keeps (and persists) the recent fill ids: a bar replayed after a restart
        # hands its fills again, and they were published the first time.
        if self.risk.on_fill(fill):
            self._emit("fill", fill_data(fill))
        return entry

    def order_id(self, symbol: str, bar_ts_ns: int) -> str:
        """One order per symbol and bar at most, named by them: a bar processed again
        after a restart finds its order sent and leaves it (and the orders it replaced)
        as they are. A one-symbol session's ids leave the symbol out."""
        if len(self.config.symbols) == 1:
            return f"{self.config.session_id}-{bar_ts_ns}"
        return f"{self.config.session_id}-{symbol.replace('/', '')}-{bar_ts_ns}"

    def _trade(
        self, history: BarSeries, decision: Decision, held: dict[str, Decimal], equity: float
    ) -> tuple[OrderRequest | None, RiskVerdict | None]:
        symbol = history.symbol
        previous_target, self.acted[symbol] = self.acted[symbol], decision.target_position
        cid = self.order_id(symbol, int(history.ts[-1]))
        sent = self.sent_order(cid) if self.sent_order is not None else None
        if sent is not None:
            return sent.request, SENT_BEFORE
        price = self.marks[symbol]
        target = Target(
            cid,
            symbol,
            decision.target_position,
            self.config.unit,
            held[symbol],
            price,
            equity,
            ts_from_ns(int(history.ts[-1]) + self.step_ns.get(symbol, 0)),
            self.config.weight(symbol),
            self._book(held) if len(self.config.symbols) > 1 else None,
            own_prefix=f"{self.config.session_id}-",
        )
        approval = self.config.mode == "approval"

        def announce(request: OrderRequest) -> None:
            if not approval:
                data = proposal_data(decision, request, target.held, price, equity, previous_target)
                self._emit("proposal", data)

        send = self._proposer(decision, price) if approval else None
        outcome = rebalance(
            target, self.config.sizing, self.venue, self.risk, announce, send, order_errors=True
        )
        return self._after_rebalance(outcome, symbol, previous_target, approval)

    def _after_rebalance(
        self, outcome: Outcome, symbol: str, previous_target: float, approval: bool
    ) -> tuple[OrderRequest | None, RiskVerdict | None]:
        if outcome.error is not None:  # the target is acted on again next bar
            self._venue_failed(outcome.failed, outcome.error)
            self.acted[symbol] = previous_target
        request, verdict = outcome.request, outcome.verdict
        if request is None or verdict is None:
            return None, None
        if not approval or not verdict.approved:
            self._emit("order", order_data(request, verdict, outcome.placed))
        return request, verdict

    def _proposer(self, decision: Decision, price: Decimal) -> Send:
        """Approval mode: an order risk passes becomes a proposal (checked again when
        approved); nothing reaches the venue now."""
        assert self.proposals is not None
        proposals, ttl = self.proposals, self.config.proposal_ttl_s

        def propose(request: OrderRequest, verdict: RiskVerdict, ts: datetime, _: Decimal) -> None:
            proposals.propose(decision, request, verdict, price, ttl)

        return propose

    def _book(self, held: dict[str, Decimal]) -> dict[str, Decimal]:
        """Signed notional of every symbol: its position plus its working orders, at
        its last close (what portfolio risk limits judge an order against)."""
        qty = dict(held)
        for order in self.venue.open_orders():
            symbol = order.request.symbol
            working = order.request.side.sign * order.remaining_qty
            qty[symbol] = qty.get(symbol, Decimal(0)) + working
        return {s: q * self.marks[s] for s, q in qty.items() if s in self.marks}
