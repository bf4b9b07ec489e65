"""Performance metrics of an equity curve and its trades, and the buy-and-hold baseline.

Conventions (crypto trades around the clock): returns are per bar; annualisation
uses the number of bars in 365.25 days at the series' median bar spacing
(:func:`sigmax.data.timeframes.bars_per_year`, as the agent graph's sizer); the
risk-free rate is 0. Drawdowns are
measured on marked equity at each bar's close.

A portfolio run (``result.legs``) is measured on the portfolio's equity; its gross
notional sums every leg's, its buy-and-hold baseline splits the cash equally over the
legs, and :func:`symbol_metrics` gives each leg's own trades, fees and exposure.
:func:`pnl_metrics` splits the P&L into gross, fees and slippage paid, with turnover
per year and the gross edge per unit traded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from sigmax.backtest.engine import BacktestResult
from sigmax.data.timeframes import YEAR_NS, bars_per_year
from sigmax.ledger import LedgerEntry
from sigmax.model import BarSeries, Side


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A position from flat back to flat, with its P&L net of every fee paid in it."""

    entry_ts_ns: int
    exit_ts_ns: int
    pnl: Decimal


def bar_seconds(bars: BarSeries) -> float:
    if len(bars) < 2:
        raise ValueError("metrics need at least two bars")
    return float(np.median(np.diff(bars.ts))) / 1e9


def curve_metrics(equity: np.ndarray, start_value: float, bars: BarSeries) -> dict[str, float]:
    """Return, CAGR, Sharpe, Sortino, Calmar and drawdown of one equity curve."""
    curve = np.concatenate(([start_value], equity))
    returns = curve[1:] / curve[:-1] - 1.0
    step = bar_seconds(bars)
    per_year = bars_per_year(round(step * 1e9))
    years = span_years(bars)
    total = curve[-1] / start_value - 1.0
    cagr = (curve[-1] / start_value) ** (1.0 / years) - 1.0 if curve[-1] > 0 else -1.0
    std = float(np.std(returns, ddof=1)) if len(returns) > 1 else 0.0
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    mean = float(np.mean(returns))
    max_dd, dd_bars = _drawdown(curve)
    return {
        "total_return": float(total),
        "cagr": float(cagr),
        "sharpe": mean / std * math.sqrt(per_year) if std > 0 else 0.0,
        "sortino": mean / downside * math.sqrt(per_year) if downside > 0 else 0.0,
        "calmar": float(cagr / abs(max_dd)) if max_dd < 0 else 0.0,
        "max_drawdown": float(max_dd),
        "max_drawdown_duration_bars": float(dd_bars),
        "max_drawdown_duration_days": dd_bars * step / 86400.0,
        "final_equity": float(curve[-1]),
    }


def span_years(bars: BarSeries) -> float:
    """Years the series covers, its last bar included."""
    step_ns = bar_seconds(bars) * 1e9
    return (float(bars.ts[-1] - bars.ts[0]) + step_ns) / YEAR_NS


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    """Fractional drawdown from the running peak at every bar (0 at a new high)."""
    return equity / np.maximum.accumulate(equity) - 1.0


def _drawdown(curve: np.ndarray) -> tuple[float, int]:
    """Deepest drawdown and the longest time (bars) spent below a previous peak."""
    dd = drawdown_series(curve)
    underwater = dd < 0
    longest = run = 0
    for flag in underwater:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return float(dd.min()), longest


def round_trips(result: BacktestResult) -> list[RoundTrip]:
    """Split the fills into flat-to-flat round trips (a flip closes one, opens the next);
    a portfolio's are its legs', symbol by symbol."""
    if result.legs:
        return [trip for leg in result.legs.values() for trip in round_trips(leg)]
    trips: list[RoundTrip] = []
    pnl, entry_ns = Decimal(0), None
    for entry in result.entries:
        fill_ns = int(entry.fill.ts.timestamp() * 1e9)
        if entry_ns is None:
            entry_ns = fill_ns
        pnl += entry.realized_pnl - entry.fill.fee
        if entry.position_after == 0 or _flipped(entry):
            trips.append(RoundTrip(entry_ns, fill_ns, pnl))
            pnl, entry_ns = Decimal(0), (fill_ns if entry.position_after != 0 else None)
    return trips


def _flipped(entry: LedgerEntry) -> bool:
    fill, after = entry.fill, entry.position_after
    before = after - (fill.qty if fill.side is Side.BUY else -fill.qty)
    return before != 0 and after != 0 and (before > 0) != (after > 0)


def trade_metrics(result: BacktestResult) -> dict[str, float]:
    """Win rate, profit factor, exposure, turnover and fees of a run."""
    trips = round_trips(result)
    wins = [float(t.pnl) for t in trips if t.pnl > 0]
    losses = [float(t.pnl) for t in trips if t.pnl < 0]
    gross_loss = -sum(losses)
    traded = sum(float(e.fill.notional) for e in result.entries)
    mean_equity = float(np.mean(result.equity))
    notional = gross_notional(result)
    return {
        "round_trips": float(len(trips)),
        "fills": float(len(result.entries)),
        "win_rate": len(wins) / len(trips) if trips else 0.0,
        "profit_factor": sum(wins) / gross_loss
        if gross_loss > 0
        else float("inf")
        if wins
        else 0.0,
        "exposure": float(np.mean(result.position != 0)),
        "avg_gross_leverage": float(np.mean(notional / result.equity)),
        "turnover": traded / mean_equity if mean_equity > 0 else 0.0,
        "fees_paid": float(result.fees_paid),
        "rejected_orders": float(len(result.rejections)),
    }


def pnl_metrics(result: BacktestResult) -> dict[str, float]:
    """Where the P&L went: gross (before fees, spread and slippage), fees, slippage paid
    (spread included: what fills paid over the open of their bar), net; turnover per
    year; and the gross edge and the costs per unit of notional traded, in bps, so an
    edge can be set against what trading it costs. A portfolio sums its legs'."""
    legs = list(result.legs.values()) or [result]
    net = sum(_leg_net_pnl(leg) for leg in legs)
    fees = float(sum(float(e.fill.fee) for leg in legs for e in leg.entries))
    slippage = sum(_leg_slippage_paid(leg) for leg in legs)
    traded = sum(float(e.fill.notional) for leg in legs for e in leg.entries)
    gross = net + fees + slippage
    mean_equity = float(np.mean(result.equity))
    years = span_years(legs[0].bars)
    per_unit = 10_000.0 / traded if traded > 0 else 0.0
    return {
        "gross_pnl": gross,
        "fees_paid": fees,
        "slippage_paid": slippage,
        "net_pnl": net,
        "traded_notional": traded,
        "turnover_per_year": traded / mean_equity / years if mean_equity > 0 else 0.0,
        "gross_edge_bps": gross * per_unit,
        "cost_bps": (fees + slippage) * per_unit,
    }


def _leg_net_pnl(leg: BacktestResult) -> float:
    """The leg's cash flows from its fills, fees included, plus its final position at
    the last close."""
    flows, qty = 0.0, 0.0
    for entry in leg.entries:
        fill = entry.fill
        signed = float(fill.qty) * (1.0 if fill.side is Side.BUY else -1.0)
        flows -= signed * float(fill.price) + float(fill.fee)
        qty += signed
    return flows + qty * float(leg.bars.close[-1])


def _leg_slippage_paid(leg: BacktestResult) -> float:
    """What the leg's fills paid over the open of the bar they filled in."""
    if not leg.entries:
        return 0.0
    fill_ns = [int(e.fill.ts.timestamp() * 1e9) for e in leg.entries]
    opens = leg.bars.open[np.searchsorted(leg.bars.ts, fill_ns)]
    paid = 0.0
    for entry, bar_open in zip(leg.entries, opens, strict=True):
        fill = entry.fill
        sign = 1.0 if fill.side is Side.BUY else -1.0
        paid += sign * (float(fill.price) - float(bar_open)) * float(fill.qty)
    return paid


def gross_notional(result: BacktestResult) -> np.ndarray:
    """Sum of |position notional| at every bar's close, over every leg of a portfolio."""
    if not result.legs:
        return np.asarray(np.abs(result.position * result.bars.close))
    legs = result.legs.values()
    return np.asarray(np.sum([np.abs(leg.position * leg.bars.close) for leg in legs], axis=0))


def symbol_metrics(result: BacktestResult, fee_bps: float = 0.0) -> dict[str, dict[str, object]]:
    """Each symbol's own trade count, fees, realised P&L, exposure, trade metrics
    (leverage and turnover relative to the whole account's equity), :func:`pnl_metrics`
    and its buy-and-hold P&L (the cash split equally over the symbols, as
    :func:`portfolio_buy_and_hold`)."""
    legs = result.legs or {result.bars.symbol: result}
    share = float(result.config.cash) / len(legs)
    return {
        symbol: {
            "trades": len(leg.entries),
            "fees_paid": float(leg.fees_paid),
            "realized_pnl": float(leg.realized_pnl),
            "exposure": float(np.mean(leg.position != 0)),
            "metrics": trade_metrics(leg),
            **pnl_metrics(leg),
            "buy_and_hold_pnl": float(buy_and_hold(leg.bars, share, fee_bps)[-1]) - share,
        }
        for symbol, leg in legs.items()
    }


def portfolio_buy_and_hold(result: BacktestResult, cash: float, fee_bps: float) -> np.ndarray:
    """Buy and hold of the run's symbols, the cash split equally between them."""
    if not result.legs:
        return buy_and_hold(result.bars, cash, fee_bps)
    share = cash / len(result.legs)
    legs = result.legs.values()
    return np.asarray(np.sum([buy_and_hold(leg.bars, share, fee_bps) for leg in legs], axis=0))


def buy_and_hold(bars: BarSeries, cash: float, fee_bps: float) -> np.ndarray:
    """Equity of putting all cash into the asset at the first bar's open, fee paid once."""
    qty = cash / (float(bars.open[0]) * (1.0 + fee_bps / 10_000.0))
    return qty * bars.close


def compute_metrics(result: BacktestResult, fee_bps: float) -> dict[str, object]:
    """The full metrics block of a report: the strategy's and the buy-and-hold baseline's."""
    cash = float(result.config.cash)
    metrics: dict[str, object] = {}
    curve = curve_metrics(result.equity, cash, result.bars)
    metrics.update(curve)
    metrics.update(trade_metrics(result))
    metrics["bars"] = float(len(result.bars))
    metrics.update(pnl_metrics(result))
    baseline = curve_metrics(portfolio_buy_and_hold(result, cash, fee_bps), cash, result.bars)
    metrics["buy_and_hold"] = baseline
    metrics["buy_and_hold_pnl"] = baseline["final_equity"] - cash
    metrics["excess_return"] = curve["total_return"] - baseline["total_return"]
    return metrics
