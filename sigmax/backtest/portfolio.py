"""Backtest of several symbols in one account: shared cash, one ledger, one risk engine.

Each symbol (a *leg*) has its own bars and its own strategy instance, whose wants are
computed once, vectorised, over the leg's bars, as in the single-symbol engine. The
loop runs over the union of all legs' timestamps; at each one, in this order:

1. every leg with a bar there has its working orders filled against that bar;
2. equity is marked (each leg at its last close) and given to the risk engine;
3. every leg with a bar there compares its want with the book and may send an order,
   checked by the risk engine with the whole book in view: every leg's position plus
   its orders still working (sent, not filled yet), marked at its last close, so two
   orders of one bar cannot both pass a limit that only one of them fits.

Legs are always visited in the order they were given (the command line's). A leg with
no bar at a timestamp is marked at its last close and makes no decision there.

``equity_fraction`` wants are fractions of the portfolio's equity times the leg's
weight; ``qty`` wants are quantities and ignore the weight. With fixed-quantity
strategies and no binding limit, each leg trades exactly as its single-symbol run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import QUIET_LOOP_MIN, QUIET_RUN_MIN, BacktestResult, Rejection
from sigmax.execution import PaperExchange
from sigmax.ledger import Ledger
from sigmax.model import BarSeries, Decision, Order, OrderRequest, to_decimal, ts_from_ns
from sigmax.risk import RiskEngine
from sigmax.strategies.base import Strategy
from sigmax.strategies.validation import validated_targets
from sigmax.trading.rebalance import Target, cancel_working, rebalance


@dataclass(frozen=True)
class PortfolioLeg:
    """One symbol of a portfolio: its bars, its strategy and its equity weight."""

    bars: BarSeries
    strategy: Strategy
    weight: float = 1.0


def equal_weights(count: int) -> list[float]:
    """``count`` equal weights summing to 1 (the default allocation)."""
    return [1.0 / count] * count


def union_timeline(series: list[BarSeries]) -> np.ndarray:
    """Every bar open time of any series, sorted, once."""
    return np.unique(np.concatenate([bars.ts for bars in series]))


class _LegRun:
    """One leg's state during a run, laid out on the portfolio's timeline."""

    def __init__(self, leg: PortfolioLeg, timeline: np.ndarray, wants: np.ndarray) -> None:
        bars = leg.bars
        self.leg = leg
        self.symbol = bars.symbol
        self.bars = bars
        self.weight = leg.weight
        at = np.searchsorted(timeline, bars.ts)
        index_at = np.full(len(timeline), -1, dtype=np.int64)
        index_at[at] = np.arange(len(bars))
        self.index_at: list[int] = index_at.tolist()
        marks = _marks_on(timeline, bars, at)
        self.close_array = marks
        self.close_at: list[float] = marks.tolist()
        self.want_list: list[float] = wants.tolist()
        # timeline positions of the leg's bars whose target differs from the bar before's
        self.changes = at[np.flatnonzero(np.diff(wants, prepend=0.0) != 0)]
        self.step_ns = int(np.median(np.diff(bars.ts))) if len(bars) > 1 else 0
        self.qty = 0.0
        self.acted_want = 0.0
        self._mark_of = (float("nan"), Decimal(0))  # the last close made exact, and it
        self.position = np.zeros(len(timeline))
        self.decisions: list[Decision] = []
        self.result = BacktestResult(
            bars=aligned_bars(timeline, bars, at),
            strategy=leg.strategy.name,
            params=leg.strategy.params.model_dump(),
            config=BacktestConfig(),
            equity=np.empty(0),
            position=self.position,
            decisions=self.decisions,
        )

    def mark(self, j: int) -> Decimal:
        """The leg's last close at timeline index ``j``, exact (made once per price)."""
        close = self.close_at[j]
        last, exact = self._mark_of
        if close != last:
            exact = to_decimal(close)
            self._mark_of = (close, exact)
        return exact

    def close_time(self, k: int) -> datetime:
        return ts_from_ns(int(self.bars.ts[k]) + self.step_ns)


def _marks_on(timeline: np.ndarray, bars: BarSeries, at: np.ndarray) -> np.ndarray:
    """The leg's last close at every timestamp; its first open before its first bar
    (no position can be held there, so the mark only keeps the arrays finite)."""
    marks = np.full(len(timeline), np.nan)
    marks[at] = bars.close
    marks[: at[0]] = bars.open[0]
    filled = np.where(np.isnan(marks), 0, np.arange(len(marks)))
    return marks[np.maximum.accumulate(filled)]


def aligned_bars(timeline: np.ndarray, bars: BarSeries, at: np.ndarray) -> BarSeries:
    """``bars`` on ``timeline``: a timestamp without a bar repeats the last close as a
    flat, volume-less bar (what the leg is marked at there)."""
    close = _marks_on(timeline, bars, at)
    opened, high, low = close.copy(), close.copy(), close.copy()
    volume = np.zeros(len(timeline))
    opened[at], high[at], low[at], volume[at] = bars.open, bars.high, bars.low, bars.volume
    return BarSeries(bars.symbol, bars.timeframe, timeline, opened, high, low, close, volume)


class PortfolioEngine:
    """Runs one strategy per symbol over their union timeline in one account."""

    def __init__(self, config: BacktestConfig, risk: RiskEngine, exchange: PaperExchange) -> None:
        self.config = config
        self.risk = risk
        self.exchange = exchange

    def run(self, legs: list[PortfolioLeg]) -> BacktestResult:
        started = time.perf_counter()
        _check_legs(legs)
        timeline = union_timeline([leg.bars for leg in legs])
        run = _PortfolioRun(
            self,
            timeline,
            [_LegRun(leg, timeline, validated_targets(leg.strategy, leg.bars)) for leg in legs],
        )
        run.loop()
        result = run.finish()
        result.elapsed_s = time.perf_counter() - started
        return result


def _check_legs(legs: list[PortfolioLeg]) -> None:
    if not legs:
        raise ValueError("portfolio backtest: no symbols")
    symbols = [leg.bars.symbol for leg in legs]
    duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
    if duplicates:
        raise ValueError(f"portfolio backtest: symbol given twice: {', '.join(duplicates)}")
    for leg in legs:
        if len(leg.bars) == 0:
            raise ValueError(f"backtest: the bar series of {leg.bars.symbol} is empty")


class _PortfolioRun:
    """The mutable state of one portfolio backtest."""

    def __init__(self, engine: PortfolioEngine, timeline: np.ndarray, legs: list[_LegRun]) -> None:
        self.engine = engine
        self.timeline = timeline
        self.legs = legs
        self.leg_of = {leg.symbol: leg for leg in legs}
        self.ledger = Ledger(engine.config.cash)
        self.cash = float(self.ledger.cash)
        self.order_seq = 0
        self.submitted: list[str] = []
        self.decisions: list[Decision] = []
        self.equity = np.empty(len(timeline))
        self.ts_list: list[int] = timeline.tolist()
        self.sizing = engine.config.sizing_rules
        first = legs[0].leg.strategy
        leg_bars = [leg.bars for leg in legs]
        self.result = BacktestResult(
            bars=legs[0].bars if len(legs) == 1 else timeline_bars(timeline, leg_bars),
            strategy=first.name,
            params=first.params.model_dump(),
            config=engine.config,
            equity=self.equity,
            position=legs[0].position if len(legs) == 1 else np.zeros(len(timeline)),
            decisions=self.decisions,
        )

    def loop(self) -> None:
        """Steps with something to do (a working order, a new target) one by one; a
        quiet run between them (no working order, no new target) marked and shown to
        risk in one plain loop, or in bulk with numpy when it is long, with the same
        floats (see the single-symbol engine)."""
        n = len(self.timeline)
        changes = np.unique(np.concatenate([leg.changes for leg in self.legs] + [[n]]))
        next_change: list[int] = changes[np.searchsorted(changes, np.arange(n))].tolist()
        exchange, symbols = self.engine.exchange, [leg.symbol for leg in self.legs]
        j = 0
        while j < n:
            change = next_change[j]
            if change - j < QUIET_LOOP_MIN:
                j = self._steps(j, change + 1 if change < n else n)
            elif any(exchange.has_open_orders(symbol) for symbol in symbols):
                j = self._steps(j, j + 1)  # orders to fill first
            elif change - j < QUIET_RUN_MIN:
                self._quiet_loop(j, change)
                j = change
            else:
                j += self._quiet_run(j, change)
                if j < change:  # stopped at a step where something happens
                    j = self._steps(j, j + 1)

    def _quiet_run(self, start: int, stop: int) -> int:
        """Mark steps ``start``..``stop`` (no orders, no new target) in bulk and show
        them to risk up to its first event; returns how many it took."""
        equity = np.full(stop - start, self.cash)
        for leg in self.legs:  # summed in leg order, as the step does
            equity = equity + leg.qty * leg.close_array[start:stop]
        taken = self.engine.risk.on_equity_run(self.timeline[start:stop], equity)
        self.equity[start : start + taken] = equity[:taken]
        for leg in self.legs:
            leg.position[start : start + taken] = leg.qty
        return taken

    def _quiet_loop(self, start: int, stop: int) -> None:
        """Mark steps ``start``..``stop`` (no orders, no new target) and show them to
        risk, as :meth:`_steps` would (legs summed in order), without its per-step calls."""
        equity = [self.cash] * (stop - start)
        for leg in self.legs:
            qty = leg.qty
            equity = [e + qty * c for e, c in zip(equity, leg.close_at[start:stop], strict=True)]
            leg.position[start:stop] = qty
        self.equity[start:stop] = equity
        # the union timeline strictly increases: risk may take the run in one step
        self.engine.risk.on_equities(self.ts_list[start:stop], equity, increasing=True)

    def _steps(self, start: int, stop: int) -> int:
        """Steps ``start``..``stop`` one by one (the hot loop); returns ``stop``."""
        exchange, risk, legs = self.engine.exchange, self.engine.risk, self.legs
        for j, ts in enumerate(self.ts_list[start:stop], start):
            for leg in legs:
                k = leg.index_at[j]
                if k >= 0 and exchange.has_open_orders(leg.symbol):
                    self._fill(leg, k)
            equity = self.cash
            for leg in legs:
                equity += leg.qty * leg.close_at[j]
                leg.position[j] = leg.qty
            self.equity[j] = equity
            risk.on_equity(ts, equity)
            for leg in legs:
                k = leg.index_at[j]
                if k >= 0 and leg.want_list[k] != leg.acted_want:
                    self._rebalance(leg, k, j)
        return stop

    def _fill(self, leg: _LegRun, k: int) -> None:
        bar = leg.bars.bar(k)
        for fill in self.engine.exchange.on_bar(bar):
            entry = self.ledger.apply(fill)
            self.result.entries.append(entry)
            leg.result.entries.append(entry)
            self.engine.risk.on_fill(fill)
            self.cash, leg.qty = float(entry.cash_after), float(entry.position_after)

    def _marks(self, j: int, symbols: Iterable[str]) -> dict[str, Decimal]:
        """The last close at timeline index ``j`` of each of ``symbols``, exact (only
        the symbols read: making a price exact is most of the cost)."""
        leg_of = self.leg_of
        return {symbol: leg_of[symbol].mark(j) for symbol in symbols}

    def _rebalance(self, leg: _LegRun, k: int, j: int) -> None:
        """Send the order that moves ``leg`` from its position to its want at bar ``k``."""
        want = leg.want_list[k]
        leg.acted_want = want
        risk = self.engine.risk
        exposure = self._exposure()
        marks = self._marks(j, {**exposure, leg.symbol: None})  # held, working, this one
        strategy = leg.leg.strategy
        self.order_seq += 1
        target = Target(
            f"bt-{strategy.name}-{self.order_seq}",
            leg.symbol,
            want,
            strategy.unit,
            self.ledger.position(leg.symbol).qty,
            marks[leg.symbol],
            float(self.ledger.equity(marks)),
            leg.close_time(k),
            leg.weight,
            {symbol: qty * marks[symbol] for symbol, qty in exposure.items()},
        )

        def record_decision(_: OrderRequest) -> None:
            decision = strategy.decision_at(k)
            if decision is not None:
                self.decisions.append(decision)
                leg.decisions.append(decision)
                risk.record_decision(decision)

        outcome = rebalance(target, self.sizing, self.engine.exchange, risk, record_decision)
        if outcome.request is None or outcome.verdict is None:
            return
        if not outcome.verdict.approved:
            rejection = Rejection(target.ts, outcome.request, outcome.verdict)
            self.result.rejections.append(rejection)
            leg.result.rejections.append(rejection)
            return
        self.submitted.append(outcome.request.client_order_id)

    def _exposure(self) -> dict[str, Decimal]:
        """Signed quantity of every symbol in the book: its position plus its working
        orders (the target's book is this marked)."""
        qty = {s: p.qty for s, p in self.ledger.positions.items()}
        for order in self.engine.exchange.open_orders():
            symbol = order.request.symbol
            qty[symbol] = (
                qty.get(symbol, Decimal(0)) + order.request.side.sign * order.remaining_qty
            )
        return qty

    def _cancel_working(self, leg: _LegRun, ts: datetime) -> None:
        if self.engine.exchange.has_open_orders(leg.symbol):
            cancel_working(self.engine.exchange, leg.symbol, ts)

    def finish(self) -> BacktestResult:
        for leg in self.legs:  # a want formed at a leg's last close has no next bar
            self._cancel_working(leg, leg.close_time(len(leg.bars) - 1))
        result, exchange = self.result, self.engine.exchange
        ledger = self.ledger
        result.final_equity = ledger.equity(self._marks(len(self.timeline) - 1, self.leg_of))
        result.fees_paid = ledger.fees_paid
        result.realized_pnl = ledger.realized_pnl
        orders = [exchange.order(cid) for cid in self.submitted]
        result.orders = orders
        result.events = list(exchange.events)
        result.audit = self.engine.risk.audit.view()
        result.risk_state = str(self.engine.risk.state.value)
        result.risk_state_reason = self.engine.risk.state_reason
        if len(self.legs) > 1:
            result.position[:] = sum((leg.position != 0).astype(float) for leg in self.legs)
        for leg in self.legs:
            _finish_leg(leg, result, orders)
        result.legs = {leg.symbol: leg.result for leg in self.legs}
        return result


def _finish_leg(leg: _LegRun, portfolio: BacktestResult, orders: list[Order]) -> None:
    """A leg's own view: its fills, orders and positions against the portfolio's equity."""
    own = leg.result
    own.config = portfolio.config
    own.equity = portfolio.equity
    own.orders = [o for o in orders if o.request.symbol == leg.symbol]
    own.fees_paid = sum((e.fill.fee for e in own.entries), Decimal(0))
    own.realized_pnl = sum((e.realized_pnl for e in own.entries), Decimal(0))
    own.final_equity = portfolio.final_equity
    own.risk_state, own.risk_state_reason = portfolio.risk_state, portfolio.risk_state_reason


def timeline_bars(timeline: np.ndarray, legs: list[BarSeries]) -> BarSeries:
    """The portfolio's own series: the union timeline; its prices are the legs' (NaN here)."""
    symbols = "+".join(bars.symbol for bars in legs)
    nan = np.full(len(timeline), np.nan)
    return BarSeries(symbols, legs[0].timeframe, timeline, nan, nan, nan, nan, nan)
