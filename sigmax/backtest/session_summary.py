"""A finished session's reports as a run result, so it gets the backtest's metrics and report.

A portfolio session becomes a portfolio result, as the portfolio backtest makes it:
the account's equity per step, and each symbol's own view (``legs``) on the steps'
timeline, its bars marked at its last close where it had none.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import numpy as np

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestResult, Rejection
from sigmax.backtest.portfolio import aligned_bars, timeline_bars
from sigmax.model import BarSeries
from sigmax.risk.context import datetime_to_ns
from sigmax.trading.session import BarReport


def session_result(
    reports: list[BarReport],
    histories: dict[str, BarSeries],
    cash: Decimal,
    final_equity: Decimal,
    risk_status: dict[str, Any],
    name: str = "sigmax (paper session)",
) -> BacktestResult:
    """The session's result: one symbol's, or a portfolio's with a leg per symbol.
    ``histories`` holds each symbol's bars up to the last one traded."""
    symbols = list(dict.fromkeys(r.symbol for r in reports))
    if len(symbols) == 1:
        return _one_symbol(reports, histories[symbols[0]], cash, final_equity, risk_status, name)
    timeline = np.array(sorted({_ns(r) for r in reports}), dtype=np.int64)
    steps = {int(ts): j for j, ts in enumerate(timeline)}
    equity = np.empty(len(timeline))
    for r in reports:
        equity[steps[_ns(r)]] = r.equity
    legs = {}
    for symbol in symbols:
        own = [r for r in reports if r.symbol == symbol]
        leg = _one_symbol(own, histories[symbol], cash, final_equity, risk_status, name)
        legs[symbol] = _on_timeline(leg, timeline, own, steps, equity)
    result = _one_symbol(reports, histories[symbols[0]], cash, final_equity, risk_status, name)
    result.bars = timeline_bars(timeline, [leg.bars for leg in legs.values()])
    result.equity = equity
    result.position = np.sum([leg.position != 0 for leg in legs.values()], axis=0, dtype=float)
    result.legs = legs
    return result


def _ns(report: BarReport) -> int:
    return datetime_to_ns(report.ts)


def _on_timeline(
    leg: BacktestResult,
    timeline: np.ndarray,
    own: list[BarReport],
    steps: dict[int, int],
    equity: np.ndarray,
) -> BacktestResult:
    """A symbol's result laid on the portfolio's steps: bars marked at the last close
    where it had none, its position carried, the account's equity."""
    at = np.array([steps[_ns(r)] for r in own], dtype=np.int64)
    leg.bars = aligned_bars(timeline, leg.bars, at)
    held = np.full(len(timeline), np.nan)
    held[at] = [r.position for r in own]
    held[: at[0]] = 0.0
    filled = np.where(np.isnan(held), 0, np.arange(len(held)))
    leg.position = held[np.maximum.accumulate(filled)]
    leg.equity = equity
    return leg


def _one_symbol(
    reports: list[BarReport],
    history: BarSeries,
    cash: Decimal,
    final_equity: Decimal,
    risk_status: dict[str, Any],
    name: str,
) -> BacktestResult:
    """The traded bars (the last ``len(reports)`` of ``history``) with what happened on each."""
    bars = history[len(history) - len(reports) :]
    entries = [e for r in reports for e in r.entries]
    result = BacktestResult(
        bars=bars,
        strategy=name,
        params={},
        config=BacktestConfig(cash=cash, progress=False),
        equity=np.array([r.equity for r in reports]),
        position=np.array([r.position for r in reports]),
        entries=entries,
        decisions=[r.decision for r in reports if r.order is not None],
        rejections=[
            Rejection(r.ts, r.order, r.verdict)
            for r in reports
            if r.order is not None and r.verdict is not None and not r.verdict.approved
        ],
        risk_state=str(risk_status.get("state", "unknown")),
        risk_state_reason=risk_status.get("reason"),
        final_equity=final_equity,
        fees_paid=sum((e.fill.fee for e in entries), start=Decimal(0)),
        realized_pnl=sum((e.realized_pnl for e in entries), start=Decimal(0)),
    )
    return result


def session_counts(reports: list[BarReport]) -> dict[str, int]:
    """How many decisions, orders, approvals, rejections and fills a session produced."""
    counts: Counter[str] = Counter()
    for r in reports:
        counts["bars"] += 1
        counts["decisions"] += 1
        counts["missing_signals"] += len(r.decision.missing)
        counts["fills"] += len(r.fills)
        if r.order is not None:
            counts["orders"] += 1
            approved = r.verdict is not None and r.verdict.approved
            counts["orders_approved" if approved else "orders_rejected"] += 1
    return dict(counts)
