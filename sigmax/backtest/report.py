"""Backtest reports: a JSON document for machines and an HTML page with plots for people.

The JSON holds ``metrics``, ``trades`` (ts, symbol, side, qty, price, fee) and
``equity`` (ts, value) — a stable contract other tools read — plus ``symbols`` (each
symbol's own trades, fees, exposure, gross and net P&L, slippage paid, turnover per
year, gross edge per unit traded and buy-and-hold P&L), the decisions acted on, risk rejections and
the run's settings, with ``meta.costs``: the fee, slippage and spread charged (bps).
A portfolio's ``metrics`` and ``equity`` are the whole account's.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sigmax.backtest.engine import BacktestResult
from sigmax.backtest.metrics import drawdown_series, portfolio_buy_and_hold, symbol_metrics
from sigmax.model import Side, iso_from_ns
from sigmax.serialize import decision_json

COST_KEYS = ("fee_bps", "slippage_bps", "spread_bps")


def _fee_bps(meta: Mapping[str, Any]) -> float:
    return float(meta.get("fee_bps", 0))


def report_json(
    result: BacktestResult, metrics: Mapping[str, Any], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """The whole JSON report as a dict (see the module docstring for the contract)."""
    ts = result.bars.ts
    return {
        "meta": dict(meta),
        "metrics": dict(metrics),
        "trades": [
            {
                "ts": e.fill.ts.isoformat(),
                "symbol": e.fill.symbol,
                "side": e.fill.side.value,
                "qty": float(e.fill.qty),
                "price": float(e.fill.price),
                "fee": float(e.fill.fee),
                "client_order_id": e.fill.client_order_id,
                "realized_pnl": float(e.realized_pnl),
            }
            for e in result.entries
        ],
        "equity": [
            {"ts": iso_from_ns(t), "value": float(v)}
            for t, v in zip(ts, result.equity, strict=True)
        ],
        "symbols": symbol_metrics(result, _fee_bps(meta)),
        "decisions": [decision_json(d) for d in result.decisions],
        "rejections": [
            {
                "ts": r.ts.isoformat(),
                "client_order_id": r.request.client_order_id,
                "symbol": r.request.symbol,
                "side": r.request.side.value,
                "qty": float(r.request.qty),
                "reason": r.verdict.reason,
            }
            for r in result.rejections
        ],
        "risk": {"state": result.risk_state, "reason": result.risk_state_reason},
        "ledger": {
            "final_equity": str(result.final_equity),
            "fees_paid": str(result.fees_paid),
            "realized_pnl": str(result.realized_pnl),
        },
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file, so a crash leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    write_atomic(path, json.dumps(document, indent=1, allow_nan=True))


def _figure(result: BacktestResult, fee_bps: float) -> go.Figure:
    """Price and trades, equity, drawdown and position. A portfolio's prices are each
    symbol's rebased to 100 at its first bar, and its positions are each symbol's."""
    x = pd.to_datetime(result.bars.ts, unit="ns", utc=True)
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.4, 0.25, 0.15, 0.2],
        subplot_titles=("Price and trades", "Equity", "Drawdown", "Position"),
    )
    legs = result.legs or {result.bars.symbol: result}
    for symbol, leg in legs.items():
        scale = 100.0 / leg.bars.close[0] if len(legs) > 1 else 1.0
        label = symbol if len(legs) > 1 else ""
        fig.add_trace(
            go.Scattergl(x=x, y=leg.bars.close * scale, name=f"{label} close".strip()), 1, 1
        )
        _add_fills(fig, leg, scale, label)
        fig.add_trace(
            go.Scattergl(
                x=x, y=leg.position, name=f"{label} position".strip(), line={"shape": "hv"}
            ),
            4,
            1,
        )
    baseline = portfolio_buy_and_hold(result, float(result.config.cash), fee_bps)
    fig.add_trace(go.Scattergl(x=x, y=result.equity, name="strategy"), 2, 1)
    fig.add_trace(go.Scattergl(x=x, y=baseline, name="buy & hold", line={"dash": "dot"}), 2, 1)
    fig.add_trace(
        go.Scattergl(
            x=x, y=drawdown_series(result.equity) * 100, name="drawdown %", fill="tozeroy"
        ),
        3,
        1,
    )
    fig.update_layout(
        height=1000, margin={"t": 40, "l": 60, "r": 20, "b": 30}, hovermode="x unified"
    )
    return fig


def _add_fills(fig: go.Figure, leg: BacktestResult, scale: float, label: str) -> None:
    for side, colour, marker in (
        (Side.BUY, "#16a34a", "triangle-up"),
        (Side.SELL, "#dc2626", "triangle-down"),
    ):
        fills = [e.fill for e in leg.entries if e.fill.side is side]
        fig.add_trace(
            go.Scattergl(
                x=[f.ts for f in fills],
                y=[float(f.price) * scale for f in fills],
                mode="markers",
                name=f"{label} {side.value}".strip(),
                marker={"color": colour, "symbol": marker, "size": 8},
            ),
            1,
            1,
        )


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    baseline = metrics.get("buy_and_hold", {})
    rows = []
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            continue
        base = baseline.get(key) if isinstance(baseline, Mapping) else None
        rows.append(
            f"<tr><td>{html.escape(key)}</td><td>{_fmt(value)}</td>"
            f"<td>{_fmt(base) if base is not None else ''}</td></tr>"
        )
    return (
        "<table><thead><tr><th>metric</th><th>strategy</th><th>buy &amp; hold</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


PNL_COLUMNS = (
    ("gross_pnl", "gross P&L"),
    ("fees_paid", "fees"),
    ("slippage_paid", "slippage + spread"),
    ("net_pnl", "net P&L"),
    ("buy_and_hold_pnl", "buy &amp; hold P&L"),
    ("turnover_per_year", "turnover / year"),
    ("gross_edge_bps", "gross edge (bps traded)"),
    ("cost_bps", "costs (bps traded)"),
)


def _pnl_table(metrics: Mapping[str, Any], symbols: Mapping[str, Mapping[str, Any]]) -> str:
    """Gross P&L, costs, net, buy and hold, turnover and edge: each symbol, then the
    portfolio."""
    head = "".join(f"<th>{label}</th>" for _, label in PNL_COLUMNS)
    rows = [("portfolio", metrics)] if len(symbols) > 1 else []
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{_fmt(values.get(key))}</td>" for key, _ in PNL_COLUMNS)
        + "</tr>"
        for name, values in [*symbols.items(), *rows]
    )
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not np.isfinite(value):
            return html.escape(str(value))
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.2f}"
    return html.escape(str(value))


def _decisions_table(result: BacktestResult, limit: int = 50) -> str:
    rows = []
    for d in result.decisions[-limit:]:
        signals = "<br>".join(
            f"<b>{html.escape(s.agent)}</b> {s.score:+.2f} (conf {s.confidence:.2f}): "
            f"{html.escape(s.rationale)}"
            for s in d.signals
        )
        rows.append(
            f"<tr><td>{d.ts:%Y-%m-%d %H:%M}</td><td>{d.target_position:+.2f}</td>"
            f"<td>{html.escape(d.rationale)}</td><td>{signals}</td></tr>"
        )
    if not rows:
        return "<p>This strategy records no agent decisions.</p>"
    return (
        f"<p>The last {len(rows)} of {len(result.decisions)} decisions acted on.</p>"
        "<table><thead><tr><th>ts</th><th>target</th><th>rationale</th><th>signals</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#111}
table{border-collapse:collapse;margin:12px 0;font-size:13px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6} h1{margin-bottom:4px} .meta{color:#555}
"""


def _costs_line(costs: Mapping[str, Any] | None) -> str:
    """The costs the run was charged, in words (none stated: nothing)."""
    if not costs:
        return ""
    fee, slip, spread = (html.escape(str(costs[k])) for k in COST_KEYS)
    return (
        f"<p class='costs'>Costs charged: fee <b>{fee} bps</b> of notional per fill, "
        f"slippage <b>{slip} bps</b> and half the <b>{spread} bps</b> spread on market "
        "fills.</p>"
    )


def write_html(
    path: Path,
    result: BacktestResult,
    metrics: Mapping[str, Any],
    meta: Mapping[str, Any],
    fee_bps: float,
) -> None:
    """A self-contained HTML report (plotly.js inlined: it opens offline)."""
    figure = _figure(result, fee_bps).to_html(full_html=False, include_plotlyjs=True)
    symbols = symbol_metrics(result, fee_bps)
    title = f"SIGMAX backtest: {result.strategy} on {result.bars.symbol} {result.bars.timeframe}"
    shown = {k: v for k, v in meta.items() if k != "costs"}
    meta_line = " · ".join(
        f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in shown.items()
    )
    risk = f"risk state at end: <b>{html.escape(result.risk_state)}</b>"
    if result.risk_state_reason:
        risk += f" ({html.escape(result.risk_state_reason)})"
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='meta'>{meta_line}</p>{_costs_line(meta.get('costs'))}"
        f"<p>{risk}; {len(result.rejections)} orders rejected by risk.</p>"
        f"<h2>Metrics</h2>{_metrics_table(metrics)}"
        f"<h2>P&amp;L, costs and edge</h2>{_pnl_table(metrics, symbols)}{figure}"
        f"<h2>Decisions</h2>{_decisions_table(result)}</body></html>"
    )
    write_atomic(path, page)
