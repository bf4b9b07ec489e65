"""Event-driven backtest engine over one symbol, reusing the live risk and execution code.

Each bar, in this order:

1. the paper exchange fills working orders against the bar (an order decided at
   the previous bar's close fills at this bar's open at the earliest);
2. fills are booked in the :class:`~sigmax.ledger.Ledger` and shown to the risk
   engine (slippage monitor), judged against the price the exchange expected them at
   (``Fill.expected_price``: the open of the bar a market order fills in), not the
   close they were decided at;
3. equity is marked at the close and given to the risk engine (drawdown and daily
   loss breakers);
4. the strategy's wanted position for this bar is compared with the book; a
   difference becomes an order that must pass the risk engine before it reaches
   the exchange.

Only bars with something to do touch Decimal or build objects, so the loop stays
cheap; the strategy's wants are computed once, vectorised, before the loop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial

import numpy as np
from rich.progress import Progress

from sigmax.backtest.config import BacktestConfig
from sigmax.execution import PaperExchange
from sigmax.execution.orders import OrderEvent
from sigmax.lazy import LazySequence
from sigmax.ledger import Ledger, LedgerEntry
from sigmax.model import (
    Bar,
    BarSeries,
    Decision,
    Order,
    OrderRequest,
    RiskVerdict,
    to_decimal,
    ts_from_ns,
)
from sigmax.risk import RiskEngine
from sigmax.risk.audit_record import AuditRecord
from sigmax.strategies.base import Strategy
from sigmax.strategies.validation import validated_targets
from sigmax.trading.rebalance import Target, cancel_working, rebalance

PROGRESS_STEP = 10_000
QUIET_RUN_MIN = 128  # bars: below it, a plain loop beats numpy's per-call overhead
QUIET_LOOP_MIN = 8  # bars: below it, stepping bar by bar beats setting up that loop


@dataclass(frozen=True, slots=True)
class Rejection:
    """An order the risk engine refused, with its verdict."""

    ts: datetime
    request: OrderRequest
    verdict: RiskVerdict


@dataclass(slots=True)
class BacktestResult:
    """Everything a run produced; metrics and reports are derived from it."""

    bars: BarSeries
    strategy: str
    params: dict[str, object]
    config: BacktestConfig
    equity: np.ndarray
    position: np.ndarray
    entries: list[LedgerEntry] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    decisions: Sequence[Decision] = field(default_factory=list)  # built when first read
    events: list[OrderEvent] = field(default_factory=list)
    audit: Sequence[AuditRecord] = field(default_factory=list)  # read when first used
    risk_state: str = "running"
    risk_state_reason: str | None = None
    final_equity: Decimal = Decimal(0)
    fees_paid: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    elapsed_s: float = 0.0
    # A portfolio run's own view of each symbol (see sigmax.backtest.portfolio);
    # empty for a single-symbol run.
    legs: dict[str, BacktestResult] = field(default_factory=dict)


class BacktestEngine:
    """Runs one strategy over one BarSeries through a RiskEngine and a PaperExchange."""

    def __init__(self, config: BacktestConfig, risk: RiskEngine, exchange: PaperExchange) -> None:
        self.config = config
        self.risk = risk
        self.exchange = exchange

    def run(self, bars: BarSeries, strategy: Strategy) -> BacktestResult:
        started = time.perf_counter()
        if len(bars) == 0:
            raise ValueError("backtest: the bar series is empty")
        wants = validated_targets(strategy, bars)
        run = _Run(self, bars, strategy, wants)
        run.loop()
        result = run.finish()
        result.elapsed_s = time.perf_counter() - started
        return result


class _Run:
    """The mutable state of one backtest; kept apart so the engine stays reusable."""

    def __init__(
        self, engine: BacktestEngine, bars: BarSeries, strategy: Strategy, wants: np.ndarray
    ) -> None:
        self.engine = engine
        self.bars = bars
        self.strategy = strategy
        self.wants = wants
        self.symbol = bars.symbol
        self.ledger = Ledger(engine.config.cash)
        self.cash = float(self.ledger.cash)
        self.qty = 0.0
        self.acted_want = 0.0
        self.order_seq = 0
        self.submitted: list[str] = []
        self.close_list: list[float] = bars.close.tolist()
        self.ts_list: list[int] = bars.ts.tolist()
        self.want_list: list[float] = wants.tolist()
        self.decision_maker = strategy.decision_maker()
        self.decided: list[int] = []  # the bars whose decision the maker gives
        self.decisions: list[Decision] = []  # or the decisions themselves
        # for each bar, the first bar at or after it whose target differs from the one
        # before (the first bar's: from flat), or n: where a quiet run must end
        changes = np.append(np.flatnonzero(np.diff(wants, prepend=0.0) != 0), len(wants))
        self.next_change: list[int] = changes[
            np.searchsorted(changes, np.arange(len(wants)))
        ].tolist()
        steps = np.diff(bars.ts)
        self.step_ns = int(np.median(steps)) if len(bars) > 1 else 0
        self.increasing = bool((steps > 0).all())  # lets risk take a quiet run in one step
        self.stamp: tuple[int, datetime] = (-1, ts_from_ns(0))  # the last close time made
        self.sizing = engine.config.sizing_rules
        n = len(bars)
        self.equity = np.empty(n)
        self.position = np.empty(n)
        self.result = BacktestResult(
            bars=bars,
            strategy=strategy.name,
            params=strategy.params.model_dump(),
            config=engine.config,
            equity=self.equity,
            position=self.position,
            decisions=self.decisions,
        )

    def loop(self) -> None:
        cfg = self.engine.config
        n = len(self.bars)
        if cfg.progress and n >= cfg.progress_min_bars:
            with Progress(transient=True) as progress:
                task = progress.add_task(f"backtest {self.strategy.name}", total=n)
                for start in range(0, n, PROGRESS_STEP):
                    self._loop_range(start, min(start + PROGRESS_STEP, n))
                    progress.update(task, completed=min(start + PROGRESS_STEP, n))
        else:
            self._loop_range(0, n)

    def _loop_range(self, start: int, stop: int) -> None:
        """Bars with something to do (working orders, a new target) go one by one through
        :meth:`_steps`; a quiet run between them (no working order, one target) is marked
        and shown to risk in one plain loop, or in bulk with numpy when it is long (the
        same floats either way; a short one is cheaper bar by bar than either)."""
        i = start
        exchange, symbol, next_change = self.engine.exchange, self.symbol, self.next_change
        while i < stop:
            if exchange.has_open_orders(symbol):
                i = self._steps(i, i + 1)  # orders to fill first
                continue
            change = min(stop, next_change[i])
            if change - i >= QUIET_RUN_MIN:
                i += self._quiet_run(i, change)
                if i < change:  # stopped at a bar where something happens
                    i = self._steps(i, i + 1)
            elif change - i >= QUIET_LOOP_MIN:
                self._quiet_loop(i, change)
                i = change
            else:
                i = self._steps(i, min(change + 1, stop))

    def _steps(self, start: int, stop: int) -> int:
        """:meth:`_step` over bars ``start``..``stop``, inlined (the hot loop); returns stop."""
        exchange, risk, symbol = self.engine.exchange, self.engine.risk, self.symbol
        # Python lists index several times faster than numpy arrays in a scalar loop.
        close, ts, wants = self.close_list, self.ts_list, self.want_list
        equity_out, position_out = self.equity, self.position
        for i in range(start, stop):
            if exchange.has_open_orders(symbol):
                self._fill(i)
            equity = self.cash + self.qty * close[i]
            equity_out[i] = equity
            position_out[i] = self.qty
            risk.on_equity(ts[i], equity)
            if wants[i] != self.acted_want:
                self._rebalance(i, wants[i])
        return stop

    def _quiet_run(self, start: int, stop: int) -> int:
        """Mark bars ``start``..``stop`` (no orders, one target) in bulk and show them
        to risk up to its first event; returns how many it took."""
        equity = self.cash + self.qty * self.bars.close[start:stop]
        taken = self.engine.risk.on_equity_run(self.bars.ts[start:stop], equity)
        self.equity[start : start + taken] = equity[:taken]
        self.position[start : start + taken] = self.qty
        return taken

    def _quiet_loop(self, start: int, stop: int) -> None:
        """Mark bars ``start``..``stop`` (no orders, one target) and show them to risk, as
        :meth:`_steps` would, without its per-bar calls."""
        cash, qty = self.cash, self.qty
        equity = [cash + qty * c for c in self.close_list[start:stop]]
        self.equity[start:stop] = equity
        self.position[start:stop] = qty
        self.engine.risk.on_equities(self.ts_list[start:stop], equity, increasing=self.increasing)

    def _fill(self, i: int) -> None:
        bars, ns = self.bars, self.ts_list[i]
        stamp_ns, stamp = self.stamp  # an order decided at the last close fills now
        bar = Bar(
            self.symbol,
            bars.timeframe,
            stamp if ns == stamp_ns else ts_from_ns(ns),
            bars.open.item(i),
            bars.high.item(i),
            bars.low.item(i),
            self.close_list[i],
            bars.volume.item(i),
        )  # bars.bar(i), from what the run holds already
        entries, ledger, risk = self.result.entries, self.ledger, self.engine.risk
        for fill in self.engine.exchange.on_bar(bar):
            entry = ledger.apply(fill)
            entries.append(entry)
            risk.on_fill(fill)
            # the books after it, as floats for the marks (this symbol only: one per run)
            self.cash, self.qty = float(entry.cash_after), float(entry.position_after)

    def _rebalance(self, i: int, want: float) -> None:
        """Send the order that moves the book from its position to ``want``."""
        self.acted_want = want
        risk = self.engine.risk
        price = self.close_list[i]
        mark = to_decimal(price)
        # Size from the exact books, as a live session does, not the float mark.
        equity = float(self.ledger.equity({self.symbol: mark}))
        self.order_seq += 1
        target = Target(
            f"bt-{self.strategy.name}-{self.order_seq}",
            self.symbol,
            want,
            self.strategy.unit,
            self.ledger.position(self.symbol).qty,
            mark,
            equity,
            self._close_time(i),
        )

        def record_decision(_: OrderRequest) -> None:
            if self.decision_maker is not None:  # built when read, if ever
                self.decided.append(i)
                risk.record_decision_later(partial(self.decision_maker, i))
                return
            decision = self.strategy.decision_at(i)
            if decision is not None:
                self.decisions.append(decision)
                risk.record_decision(decision)

        outcome = rebalance(target, self.sizing, self.engine.exchange, risk, record_decision)
        if outcome.request is None or outcome.verdict is None:
            return
        if not outcome.verdict.approved:
            self.result.rejections.append(Rejection(target.ts, outcome.request, outcome.verdict))
            return
        self.submitted.append(outcome.request.client_order_id)

    def _close_time(self, i: int) -> datetime:
        """When bar ``i`` closes: orders decided on it are stamped with this time."""
        ns = self.ts_list[i] + self.step_ns
        self.stamp = (ns, ts_from_ns(ns))
        return self.stamp[1]

    def _cancel_working(self, ts: datetime) -> None:
        if self.engine.exchange.has_open_orders(self.symbol):
            cancel_working(self.engine.exchange, self.symbol, ts)

    def finish(self) -> BacktestResult:
        self._cancel_working(
            self._close_time(len(self.bars) - 1)
        )  # a want formed at the last close has no next bar
        result = self.result
        last_price = to_decimal(float(self.bars.close[-1]))
        result.final_equity = self.ledger.equity({self.symbol: last_price})
        result.fees_paid = self.ledger.fees_paid
        result.realized_pnl = self.ledger.realized_pnl
        result.orders = [self.engine.exchange.order(cid) for cid in self.submitted]
        result.events = list(self.engine.exchange.events)
        result.audit = self.engine.risk.audit.view()
        if self.decision_maker is not None:
            maker, bars = self.decision_maker, self.decided
            result.decisions = LazySequence(lambda: [maker(i) for i in bars], len(bars))
        result.risk_state = str(self.engine.risk.state.value)
        result.risk_state_reason = self.engine.risk.state_reason
        return result
