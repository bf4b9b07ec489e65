"""A self-contained HTML report of one optimisation (plotly.js inlined: opens offline)."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go

from sigmax.portfolio.result import OptimisationResult


def _weights_figure(result: OptimisationResult) -> go.Figure:
    assets = result.assets
    fig = go.Figure(
        go.Bar(
            x=assets,
            y=[result.weights[a] for a in assets],
            marker_color=["#1f77b4" if a in result.selection else "#c7c7c7" for a in assets],
            text=[f"{result.weights[a]:.1%}" for a in assets],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=f"Weights (solver: {result.solver}, budget K={result.config.budget})",
        yaxis={"tickformat": ".0%", "range": [0, 1.1]},
        height=380,
        margin={"t": 50, "b": 40},
    )
    return fig


def _alternatives_figure(result: OptimisationResult) -> go.Figure:
    alts = result.alternatives
    chosen = set(result.selection)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[a.volatility for a in alts],
            y=[a.expected_return for a in alts],
            mode="markers",
            marker={
                "size": 10,
                "color": [a.cost for a in alts],
                "colorscale": "Viridis",
                "colorbar": {"title": "cost"},
            },
            text=["+".join(a.assets) for a in alts],
            name="equal-weight K-subsets",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[result.volatility],
            y=[result.expected_return],
            mode="markers",
            marker={"size": 16, "symbol": "star", "color": "crimson"},
            text=["+".join(sorted(chosen))],
            name="chosen, optimised weights",
        )
    )
    fig.update_layout(
        title="Chosen portfolio vs the best alternative selections (annualised)",
        xaxis={"title": "volatility", "tickformat": ".0%"},
        yaxis={"title": "expected return", "tickformat": ".0%"},
        height=420,
    )
    return fig


def render_html(result: OptimisationResult) -> str:
    figs = [_weights_figure(result), _alternatives_figure(result)]
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{html.escape(' + '.join(a.assets))}</td>"
        f"<td>{a.cost:.5f}</td><td>{a.expected_return:.1%}</td><td>{a.volatility:.1%}</td></tr>"
        for i, a in enumerate(result.alternatives)
    )
    q = result.quantum
    quantum = "<p>No quantum solve ran.</p>"
    if q is not None:
        ratio = "n/a" if q.approximation_ratio is None else f"{q.approximation_ratio:.4f}"
        p_opt = "n/a" if q.p_optimum is None else f"{q.p_optimum:.3f}"
        quantum = (
            f"<p>{html.escape(q.method.upper())}: {q.qubits} qubits, depth {q.depth}, "
            f"{q.parameters} parameters, shots {q.shots or 'statevector'}, "
            f"{q.iterations} evaluations in {q.runtime_s:.2f} s on {q.device}; "
            f"approximation ratio {ratio}, P(optimum) {p_opt}, "
            f"P(feasible) {q.p_feasible:.3f}, warm start {q.warm_start}, "
            f"CVaR alpha {q.cvar_alpha}, penalty {q.penalty:.4g}.</p>"
            f"<pre>{html.escape(q.drawing)}</pre>"
            f"<details><summary>OpenQASM 3</summary><pre>{html.escape(q.qasm)}</pre></details>"
        )
    est = result.estimate
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>SIGMAX portfolio optimisation</title>
<style>body{{font-family:sans-serif;margin:2em}}pre{{font-size:11px;overflow-x:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px}}</style>
</head><body>
<h1>Portfolio optimisation</h1>
<p>Assets {html.escape(", ".join(result.assets))}; budget {result.config.budget};
risk aversion {result.config.risk_aversion}; {est.get("observations")} {
        html.escape(str(result.data.get("timeframe")))
    } returns {html.escape(str(result.data.get("first_ts")))}
to {html.escape(str(result.data.get("last_ts")))}; shrinkage {
        html.escape(str(est.get("shrinkage")))
    } (intensity {est.get("intensity", 0):.3f}).</p>
<p><b>Selection</b> {html.escape(", ".join(result.selection))} by
<b>{html.escape(result.solver)}</b>: {html.escape(result.reason)}.
Weighting: {html.escape(result.weighting)}. Expected return {result.expected_return:.1%},
volatility {result.volatility:.1%}, utility {result.utility:.4f}, gap to exact
{result.gap:.3g}.</p>
{parts[0]}
{parts[1]}
<h2>Best selections (equal weights)</h2>
<table><tr><th>#</th><th>assets</th><th>cost</th><th>return</th><th>vol</th></tr>{rows}</table>
<h2>Quantum circuit</h2>
{quantum}
</body></html>
"""


def write_html(result: OptimisationResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
