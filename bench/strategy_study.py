"""Walk-forward study of the default SIGMAX strategy after costs (issue 16).

Every bundled data set runs through the backtest engine once per strategy, with a 10 bps
fee and 5 bps slippage on every fill (no spread), from the first bar to the last:

* ``sigmax``: the agent graph with its default configuration, which decides on 4-hour
  bars (``GraphConfig.cadence``, the setting this study chose);
* ``sigmax-every-bar``: the same graph deciding on every bar of the data (``cadence``
  None, the default before); on daily data it is the same as ``sigmax``;
* ``sigmax-legacy``: the graph as it was before roles, turnover control and the
  cadence (every analyst votes, no holding time, no budget, a decision every bar), for
  comparison;
* ``trend-vt``: a plain trend-following reference: long while the 20-day EMA is above
  the 50-day EMA, sized to 60 % annualised volatility (30-day window), on a 0.25 grid;
* ``buy-and-hold``: all cash in at the first bar's open.

Nothing here is fitted: the parameters are fixed before the run (calendar-time periods,
so the same rule serves 30-minute and daily bars), so the whole run is out of sample
for them. The run is then cut into consecutive calendar windows (``--window-days``) and
each window is scored on its own slice of the equity curves (walk-forward scoring of a
fixed rule): return, Sharpe and max drawdown, against buy-and-hold over the same slice.

Aims (issue 16), judged on the whole run of each set: max drawdown at most half of
buy-and-hold's; Sharpe at least buy-and-hold's, averaged over the sets; turnover at
most 60x a year; fees at most a quarter of gross profit.

    .venv/bin/python bench/strategy_study.py [--sets NAME ...] [--json OUT.json]
        [--html OUT.html] [--window-days 182]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import talib
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sigmax.agents.config import ArbitratorConfig, GraphConfig, TurnoverConfig
from sigmax.agents.indicators import realized_vol, series_bars_per_year
from sigmax.backtest.metrics import buy_and_hold, compute_metrics, curve_metrics
from sigmax.backtest.runner import BacktestRequest, run_engine
from sigmax.data.loader import load_bars
from sigmax.data.timeframes import DAY_NS
from sigmax.model import BarSeries
from sigmax.strategies.agent_graph import AgentGraphStrategy
from sigmax.strategies.base import Strategy, StrategyParams

FEE_BPS = Decimal(10)
SLIPPAGE_BPS = Decimal(5)
BUNDLED_INDEX = Path(__file__).resolve().parents[1] / "sigmax" / "data" / "bundled" / "index.json"


class TrendVolTargetParams(StrategyParams):
    fast_days: float = 20.0
    slow_days: float = 50.0
    vol_days: float = 30.0
    target_vol: float = 0.6
    step: float = 0.25


class TrendVolTarget(Strategy):
    """Reference: long while the fast EMA is above the slow one, vol-targeted."""

    name = "trend-vt"
    unit = "equity_fraction"
    Params = TrendVolTargetParams

    def targets(self, bars: BarSeries) -> np.ndarray:
        p = self.params
        assert isinstance(p, TrendVolTargetParams)
        per_day = series_bars_per_year(bars) / 365.25
        fast = talib.EMA(bars.close, timeperiod=max(2, round(p.fast_days * per_day)))
        slow = talib.EMA(bars.close, timeperiod=max(3, round(p.slow_days * per_day)))
        vol_window = max(2, round(p.vol_days * per_day))
        vol = realized_vol(bars.close, vol_window, series_bars_per_year(bars))
        scale = np.where(np.isfinite(vol) & (vol > 0), np.minimum(1.0, p.target_vol / vol), 0.0)
        long = np.isfinite(fast) & np.isfinite(slow) & (fast > slow)
        raw = np.where(long, scale, 0.0)
        return np.asarray(np.floor(raw / p.step + 1e-9) * p.step, dtype=np.float64)


def legacy_graph() -> GraphConfig:
    """The graph before issue 16: every analyst votes, no hold time, no budget, a
    decision every bar."""
    return GraphConfig(
        arbitrator=ArbitratorConfig(roles={}),
        turnover=TurnoverConfig(min_hold_hours=0.0, max_per_year=None),
        cadence=None,
    )


STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "sigmax": lambda: AgentGraphStrategy(None, GraphConfig()),
    "sigmax-every-bar": lambda: AgentGraphStrategy(None, GraphConfig(cadence=None)),
    "sigmax-legacy": lambda: AgentGraphStrategy(None, legacy_graph()),
    "trend-vt": lambda: TrendVolTarget(),
}


def bundled_sets() -> list[str]:
    return [entry["name"] for entry in json.loads(BUNDLED_INDEX.read_text())]


def window_edges(bars: BarSeries, days: float) -> list[tuple[int, int]]:
    """Consecutive [start, stop) bar ranges of ``days`` calendar days (the last may be
    shorter; one under a quarter of a window joins the one before)."""
    span = int(days * DAY_NS)
    first = int(bars.ts[0])
    index = (bars.ts - first) // span
    edges = [int(i) for i in np.flatnonzero(np.diff(index)) + 1]
    bounds = [0, *edges, len(bars)]
    ranges = list(zip(bounds[:-1], bounds[1:], strict=True))
    if len(ranges) > 1 and ranges[-1][1] - ranges[-1][0] < 0.25 * (ranges[0][1] - ranges[0][0]):
        ranges[-2:] = [(ranges[-2][0], ranges[-1][1])]
    return ranges


def _slice_metrics(equity: np.ndarray, bars: BarSeries, start: int, stop: int) -> dict[str, float]:
    before = float(equity[start - 1]) if start > 0 else float(equity[0])
    m = curve_metrics(equity[start:stop], before, bars[start:stop])
    return {k: m[k] for k in ("total_return", "sharpe", "max_drawdown")}


def run_set(name: str, window_days: float) -> dict[str, Any]:
    bars = load_bars(f"bundled:{name}")
    request = BacktestRequest(
        data=f"bundled:{name}",
        fee_bps=FEE_BPS,
        slippage_bps=SLIPPAGE_BPS,
        spread_bps=Decimal(0),
        progress=False,
    )
    config, risk = request.engine_config(), request.risk_config()
    cash = float(config.cash)
    hold = buy_and_hold(bars, cash, float(FEE_BPS))
    curves = {"buy-and-hold": hold}
    whole: dict[str, dict[str, float]] = {
        "buy-and-hold": curve_metrics(hold, cash, bars) | {"turnover_per_year": 0.0}
    }
    for label, make in STRATEGIES.items():
        result = run_engine(bars, make(), config, FEE_BPS, SLIPPAGE_BPS, risk)
        metrics = compute_metrics(result, float(FEE_BPS))
        curves[label] = result.equity
        whole[label] = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    windows = []
    for start, stop in window_edges(bars, window_days):
        row: dict[str, Any] = {
            "first": str(np.datetime64(int(bars.ts[start]), "ns"))[:10],
            "last": str(np.datetime64(int(bars.ts[stop - 1]), "ns"))[:10],
        }
        for label, equity in curves.items():
            row[label] = _slice_metrics(equity, bars, start, stop)
        windows.append(row)
    return {
        "set": name,
        "timeframe": bars.timeframe,
        "bars": len(bars),
        "whole": whole,
        "windows": windows,
    }


def aims(results: Sequence[dict[str, Any]], label: str) -> dict[str, Any]:
    """The issue's four aims for ``label``, each met or not, with the numbers."""
    per_set = []
    for r in results:
        s, b = r["whole"][label], r["whole"]["buy-and-hold"]
        gross = s.get("gross_pnl", float("nan"))
        fees = s.get("fees_paid", float("nan"))
        per_set.append(
            {
                "set": r["set"],
                "max_dd": s["max_drawdown"],
                "bh_max_dd": b["max_drawdown"],
                "dd_ok": abs(s["max_drawdown"]) <= 0.5 * abs(b["max_drawdown"]),
                "turnover_per_year": s["turnover_per_year"],
                "turnover_ok": s["turnover_per_year"] <= 60.0,
                "fees_over_gross": fees / gross if gross > 0 else math.inf,
                "fees_ok": gross > 0 and fees <= 0.25 * gross,
            }
        )
    sharpe = float(np.mean([r["whole"][label]["sharpe"] for r in results]))
    bh_sharpe = float(np.mean([r["whole"]["buy-and-hold"]["sharpe"] for r in results]))
    return {
        "strategy": label,
        "mean_sharpe": sharpe,
        "bh_mean_sharpe": bh_sharpe,
        "sharpe_ok": sharpe >= bh_sharpe,
        "sets": per_set,
        "dd_ok_all": all(p["dd_ok"] for p in per_set),
        "turnover_ok_all": all(p["turnover_ok"] for p in per_set),
        "fees_ok_all": all(p["fees_ok"] for p in per_set),
    }


def _pct(x: float) -> str:
    return f"{x:+.1%}" if math.isfinite(x) else "n/a"


def print_tables(console: Console, results: Sequence[dict[str, Any]]) -> None:
    labels = ["buy-and-hold", *STRATEGIES]
    table = Table(title="Whole run per set (10 bps fee, 5 bps slippage)")
    table.add_column("set")
    for label in labels:
        table.add_column(f"{label}\nret / Sharpe / maxDD / turn/yr", justify="right")
    for r in results:
        cells = []
        for label in labels:
            m = r["whole"][label]
            cells.append(
                f"{_pct(m['total_return'])} / {m['sharpe']:+.2f} / {_pct(m['max_drawdown'])}"
                f" / {m['turnover_per_year']:.0f}"
            )
        table.add_row(r["set"], *cells)
    console.print(table)
    for r in results:
        wt = Table(title=f"{r['set']}: windows (return / Sharpe / maxDD)")
        wt.add_column("window")
        for label in labels:
            wt.add_column(label, justify="right")
        for w in r["windows"]:
            wt.add_row(
                f"{w['first']}..{w['last']}",
                *(
                    f"{_pct(w[lb]['total_return'])} / {w[lb]['sharpe']:+.2f} / "
                    f"{_pct(w[lb]['max_drawdown'])}"
                    for lb in labels
                ),
            )
        console.print(wt)


def write_html(
    path: Path, results: Sequence[dict[str, Any]], verdicts: list[dict[str, Any]]
) -> None:
    import plotly.graph_objects as go

    parts = [
        "<html><head><meta charset='utf-8'><title>SIGMAX strategy study</title></head><body>",
        "<h1>SIGMAX strategy study</h1>",
        "<p>10 bps fee, 5 bps slippage; fixed parameters, scored per window.</p>",
    ]
    for r in results:
        fig = go.Figure()
        x = [f"{w['first']}" for w in r["windows"]]
        for label in ["buy-and-hold", *STRATEGIES]:
            fig.add_bar(name=label, x=x, y=[w[label]["sharpe"] for w in r["windows"]])
        fig.update_layout(title=f"{r['set']}: Sharpe per window", barmode="group")
        parts.append(fig.to_html(full_html=False, include_plotlyjs="cdn"))
    parts.append("<pre>" + json.dumps(verdicts, indent=1) + "</pre></body></html>")
    path.write_text("\n".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", help="bundled set names (default: all)")
    parser.add_argument("--window-days", type=float, default=182.0)
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--html", type=Path, help="write an HTML report with plots")
    args = parser.parse_args(argv)
    names = args.sets or bundled_sets()
    console = Console(width=160)
    results = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("strategy study", total=len(names))
        for name in names:
            progress.update(task, description=f"strategy study: {name}")
            results.append(run_set(name, args.window_days))
            progress.advance(task)
    print_tables(console, results)
    verdicts = [aims(results, label) for label in STRATEGIES]
    for v in verdicts:
        console.print(
            f"[bold]{v['strategy']}[/]: mean Sharpe {v['mean_sharpe']:+.2f} vs buy-and-hold "
            f"{v['bh_mean_sharpe']:+.2f} ({'met' if v['sharpe_ok'] else 'NOT met'}); "
            f"max DD <= half B&H's on every set: {'met' if v['dd_ok_all'] else 'NOT met'} "
            f"({sum(p['dd_ok'] for p in v['sets'])}/{len(v['sets'])}); turnover <= 60/yr: "
            f"{'met' if v['turnover_ok_all'] else 'NOT met'}; fees <= 1/4 gross: "
            f"{'met' if v['fees_ok_all'] else 'NOT met'} "
            f"({sum(p['fees_ok'] for p in v['sets'])}/{len(v['sets'])})"
        )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "aims": verdicts}, indent=1))
    if args.html:
        write_html(args.html, results, verdicts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
