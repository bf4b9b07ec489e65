"""A finished session's reports as a run result, so it gets the backtest's metrics and report."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import numpy as np

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestResult, Rejection
from sigmax.model import BarSeries
from sigmax.trading.session import BarReport


def session_result(
    reports: list[BarReport],
    history: BarSeries,
    cash: Decimal,
    final_equity: Decimal,
    risk_status: dict[str, Any],
    name: str = "sigmax (paper session)",
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
