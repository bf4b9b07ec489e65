"""Parameter sweeps and walk-forward analysis over one bar series (pure domain, no Ray).

A *case* is one backtest: the strategy with one parameter set over one window
``[start, stop)`` of the series. :func:`run_case` runs one case from plain,
picklable arguments and returns plain data (a dict of metrics and small arrays),
so a Ray task, a process pool and a plain loop all run it the same way. The
procedures (:func:`run_grid`, :func:`run_walk_forward`) take an *executor*: a
callable that runs a batch of :class:`CaseSpec` and returns one :class:`CaseResult`
per spec, in order. :class:`LocalExecutor` runs them in this process;
``actors.sweep`` runs them as Ray tasks.

Walk-forward: the series is cut into consecutive, non-overlapping out-of-sample
*test* windows, each preceded by its in-sample *train* window. For each fold the
whole grid runs on the train window, the best parameter set by a named metric is
picked, and that set alone runs on the test window. Each test run sees the test
window's bars only (no warm-up from earlier bars): indicators warm up inside the
window, so nothing computed before the window can leak into it, at the cost of a
few idle bars at each window's start. Each test window starts flat with the
starting cash; the stitched out-of-sample equity compounds the windows' returns,
an open position at a window's end being marked at that window's last close.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sigmax.agents.config import GraphConfig
from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.metrics import compute_metrics, curve_metrics
from sigmax.backtest.report import STYLE, write_atomic
from sigmax.backtest.runner import BacktestRequest, run_engine
from sigmax.errors import InvalidInputError
from sigmax.model import BarSeries, iso_from_ns
from sigmax.risk import RiskConfig
from sigmax.strategies import make_strategy

MAX_CASES = 1_000
"""The largest grid :func:`parse_sweep` expands (a typo like ``fast=1,...,999`` stops here)."""

LOWER_IS_BETTER = frozenset(
    {
        "max_drawdown_duration_bars",
        "max_drawdown_duration_days",
        "fees_paid",
        "rejected_orders",
        "slippage_paid",
        "cost_bps",
    }
)
"""Metrics where a smaller value is the better run; every other metric: larger is better."""

Phase = Literal["grid", "train", "test"]


class SweepError(InvalidInputError):
    """A sweep or walk-forward was specified wrongly, or no case of it succeeded."""


# --------------------------------------------------------------------------- grid


def parse_sweep(items: list[str], max_cases: int = MAX_CASES) -> list[dict[str, str]]:
    """``["fast=5,10", "slow=30,60"]`` → the cartesian grid of ``{key: value}`` dicts.

    Keys keep the order given; the last key varies fastest. No items → ``[{}]`` (one
    case with no swept parameter).
    """
    axes: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SweepError(f"--sweep: expected KEY=V1,V2,..., got {item!r}")
        if key in axes:
            raise SweepError(f"--sweep: {key!r} given twice; list all its values in one item")
        parts = [v.strip() for v in values.split(",")]
        if any(not v for v in parts):
            raise SweepError(f"--sweep: empty value in {item!r}")
        duplicates = sorted({v for v in parts if parts.count(v) > 1})
        if duplicates:
            raise SweepError(f"--sweep: {key}: value(s) {', '.join(duplicates)} repeated")
        axes[key] = parts
    size = math.prod(len(v) for v in axes.values())
    if size > max_cases:
        shape = " x ".join(f"{len(v)} {k}" for k, v in axes.items())
        raise SweepError(
            f"--sweep: the grid has {size:,} cases ({shape}), more than the limit of "
            f"{max_cases:,}; sweep fewer values"
        )
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]


def merge_params(base: Mapping[str, str], case: Mapping[str, str]) -> dict[str, str]:
    """Fixed ``--param`` values plus one grid case; a key in both is an error."""
    both = sorted(set(base) & set(case))
    if both:
        raise SweepError(f"{', '.join(both)} given both as --param and as --sweep")
    return {**base, **case}


# ------------------------------------------------------------------------- folds


@dataclass(frozen=True, slots=True)
class Fold:
    """One walk-forward fold: bar index windows ``[start, stop)`` of the series."""

    index: int
    train_start: int
    train_stop: int
    test_start: int
    test_stop: int

    @property
    def train_bars(self) -> int:
        return self.train_stop - self.train_start

    @property
    def test_bars(self) -> int:
        return self.test_stop - self.test_start


def walk_forward_folds(
    n_bars: int,
    folds: int,
    *,
    train_fraction: float | None = None,
    train_bars: int | None = None,
    anchored: bool = False,
    min_bars: int = 2,
) -> list[Fold]:
    """Consecutive test windows tiling the end of the series, each after its train window.

    Give exactly one of ``train_bars`` (length of every train window) or
    ``train_fraction`` (share of train in each train+test span). The first train
    window starts at bar 0; the test windows split the remaining bars evenly (the
    last takes the remainder). Rolling by default (each train window is the
    ``train_bars`` just before its test window); ``anchored`` grows it from bar 0.
    A test window starts exactly where its train window stops, never before.
    """
    if folds < 1:
        raise SweepError(f"walk-forward: folds must be >= 1, got {folds}")
    if (train_fraction is None) == (train_bars is None):
        raise SweepError("walk-forward: give exactly one of train_fraction or train_bars")
    if train_fraction is not None:
        if not 0.0 < train_fraction < 1.0:
            raise SweepError(
                f"walk-forward: train_fraction must be in (0, 1), got {train_fraction}"
            )
        train_bars = round(
            n_bars * train_fraction / (folds * (1.0 - train_fraction) + train_fraction)
        )
    assert train_bars is not None
    test_bars = (n_bars - train_bars) // folds
    if train_bars < min_bars or test_bars < min_bars:
        raise SweepError(
            f"walk-forward: {n_bars} bars in {folds} folds leave {train_bars} train and "
            f"{max(test_bars, 0)} test bars per fold; each needs at least {min_bars}"
        )
    out = []
    for k in range(folds):
        test_start = train_bars + k * test_bars
        test_stop = n_bars if k == folds - 1 else test_start + test_bars
        train_start = 0 if anchored else test_start - train_bars
        out.append(Fold(k, train_start, test_start, test_start, test_stop))
    return out


# ---------------------------------------------------------------------- one case


def case_setup(
    request: BacktestRequest, strategy: str | None = None, risk: RiskConfig | None = None
) -> dict[str, Any]:
    """The settings shared by every case, as plain data (strings, dicts) for any worker.

    The risk config (``risk``, else the request's backtest profile), the engine config
    and the agent graph's config are resolved here, in the driver, so workers do not
    depend on their own environment's settings.
    """
    engine = request.engine_config().model_copy(update={"progress": False})  # cases run quietly
    return {
        "strategy": strategy or request.strategy,
        "engine": engine.model_dump(mode="json"),
        "fee_bps": str(request.fee_bps),
        "slippage_bps": str(request.slippage_bps),
        "spread_bps": str(request.spread_bps),
        "risk": (risk or request.risk_config()).model_dump(mode="json"),
        "graph": request.graph.model_dump(mode="json"),
    }


def run_case(
    bars: BarSeries,
    setup: Mapping[str, Any],
    params: Mapping[str, str],
    start: int = 0,
    stop: int | None = None,
    detail: bool = False,
) -> dict[str, Any]:
    """Run one case over ``bars[start:stop]`` alone; return plain, picklable data.

    Runs the same :func:`~sigmax.backtest.runner.run_engine` as ``run_backtest``
    but skips its full JSON document (a third of a short run's time). ``detail``
    adds the equity curve and the fills.
    Errors (bad parameters, too few bars) propagate to the caller.
    """
    window = bars[start:stop]
    graph = GraphConfig.model_validate(setup["graph"])
    strategy = make_strategy(str(setup["strategy"]), dict(params), graph)
    fee = Decimal(setup["fee_bps"])
    result = run_engine(
        window,
        strategy,
        BacktestConfig.model_validate(setup["engine"]),
        fee,
        Decimal(setup["slippage_bps"]),
        RiskConfig.model_validate(setup["risk"]),
        Decimal(setup["spread_bps"]),
    )
    full = compute_metrics(result, float(fee))
    metrics = {k: float(v) for k, v in full.items() if isinstance(v, int | float)}
    baseline = full["buy_and_hold"]
    assert isinstance(baseline, dict)
    metrics["buy_and_hold_return"] = float(baseline["total_return"])
    trades = [
        (
            e.fill.ts.isoformat(),
            e.fill.side.value,
            str(e.fill.qty),
            str(e.fill.price),
            str(e.fill.fee),
        )
        for e in result.entries
    ]
    out: dict[str, Any] = {
        "params": dict(params),
        "start": start,
        "stop": start + len(window),
        "metrics": metrics,
        "final_equity": str(result.final_equity),
        "trades": len(trades),
        "trades_sha256": hashlib.sha256(repr(trades).encode()).hexdigest(),
        "elapsed_s": result.elapsed_s,
    }
    if detail:
        out["equity"] = np.array(result.equity, dtype=np.float64)
        out["fills"] = trades
    return out


# ---------------------------------------------------------------------- batches


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """One case to run: parameters and window; ``phase``/``fold`` label it in reports."""

    params: dict[str, str]
    start: int
    stop: int
    phase: Phase = "grid"
    fold: int | None = None
    detail: bool = False


@dataclass(slots=True)
class CaseResult:
    """What one case gave: ``data`` from :func:`run_case`, or the ``error`` it raised."""

    spec: CaseSpec
    data: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Executor = Callable[[Sequence[CaseSpec]], list[CaseResult]]
"""Runs a batch of cases (in any order, in parallel or not); results in the specs' order."""


def describe_error(exc: BaseException) -> str:
    """``Type: message`` and the innermost frame, short enough for a table cell."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class LocalExecutor:
    """Runs cases one after another in this process (tests, small sweeps, baselines)."""

    def __init__(self, bars: BarSeries, setup: Mapping[str, Any]) -> None:
        self.bars = bars
        self.setup = setup

    def __call__(self, specs: Sequence[CaseSpec]) -> list[CaseResult]:
        results = []
        for spec in specs:
            try:
                data = run_case(
                    self.bars, self.setup, spec.params, spec.start, spec.stop, spec.detail
                )
                results.append(CaseResult(spec, data=data))
            except Exception as exc:  # reported with its params in the SweepReport
                results.append(CaseResult(spec, error=describe_error(exc)))
        return results


# --------------------------------------------------------------------- selection


def metric_value(data: Mapping[str, Any], metric: str) -> float:
    metrics = data["metrics"]
    if metric not in metrics:
        raise SweepError(f"unknown metric {metric!r}; choose one of {', '.join(sorted(metrics))}")
    return float(metrics[metric])


def best_result(results: Sequence[CaseResult], metric: str) -> CaseResult:
    """The successful case with the best ``metric`` (NaN ranks last; ties: first in grid)."""
    ok = [r for r in results if r.ok and r.data is not None]
    if not ok:
        first = results[0] if results else None
        detail = f"; first: {first.spec.params} → {first.error}" if first else ""
        raise SweepError(f"no case succeeded{detail}")
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0

    def score(r: CaseResult) -> float:
        assert r.data is not None
        value = metric_value(r.data, metric)
        return -math.inf if math.isnan(value) else sign * value

    return max(ok, key=score)  # max keeps the first of equal scores


# ------------------------------------------------------------------------ report


def _row(result: CaseResult, bars: BarSeries) -> dict[str, Any]:
    spec = result.spec
    row: dict[str, Any] = {
        "phase": spec.phase,
        "fold": spec.fold,
        "params": dict(spec.params),
        "start": spec.start,
        "stop": spec.stop,
        "first_bar": iso_from_ns(bars.ts[spec.start]),
        "last_bar": iso_from_ns(bars.ts[min(spec.stop, len(bars)) - 1]),
        "status": "ok" if result.ok else "error",
    }
    if result.data is not None:
        data = result.data
        row.update(
            metrics=data["metrics"],
            final_equity=data["final_equity"],
            trades=data["trades"],
            trades_sha256=data["trades_sha256"],
            elapsed_s=round(data["elapsed_s"], 4),
        )
    else:
        row["error"] = result.error
    return row


@dataclass
class SweepReport:
    """Every run of a sweep or walk-forward, the best choice(s) and the stitched OOS equity.

    ``runs`` holds one row per case (params, window, metrics or error); ``best`` is
    the grid's best row; for walk-forward, ``folds`` holds each fold's windows and
    chosen params and ``oos`` the stitched out-of-sample equity and its metrics.
    """

    kind: Literal["grid", "walk_forward"]
    meta: dict[str, Any]
    runs: list[dict[str, Any]]
    best: dict[str, Any] | None = None
    folds: list[dict[str, Any]] = field(default_factory=list)
    oos: dict[str, Any] | None = None

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["status"] == "error"]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "meta": self.meta,
            "best": self.best,
            "folds": self.folds,
            "oos": self.oos,
            "runs": self.runs,
            "failures": self.failures,
        }

    def write_json(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_json(), indent=1, allow_nan=True))

    def write_html(self, path: Path) -> None:
        write_atomic(path, sweep_html(self))


def _meta(
    bars: BarSeries, setup: Mapping[str, Any], base: Mapping[str, str], select_by: str
) -> dict[str, Any]:
    return {
        "symbol": bars.symbol,
        "timeframe": bars.timeframe,
        "bars": len(bars),
        "first_bar": iso_from_ns(bars.ts[0]),
        "last_bar": iso_from_ns(bars.ts[-1]),
        "strategy": setup["strategy"],
        "base_params": dict(base),
        "cash": setup["engine"]["cash"],
        "fee_bps": setup["fee_bps"],
        "slippage_bps": setup["slippage_bps"],
        "spread_bps": setup["spread_bps"],
        "select_by": select_by,
    }


def check_metric(select_by: str) -> None:
    """Raise :class:`SweepError` unless ``select_by`` is a metric every case reports."""
    known = set(_METRIC_NAMES)
    if select_by not in known:
        raise SweepError(
            f"--select-by: unknown metric {select_by!r}; choose one of {', '.join(sorted(known))}"
        )


# The scalar metrics run_case reports (checked before any case runs).
_METRIC_NAMES = (
    "total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown",
    "max_drawdown_duration_bars", "max_drawdown_duration_days", "final_equity",
    "round_trips", "fills", "win_rate", "profit_factor", "exposure", "avg_gross_leverage",
    "turnover", "fees_paid", "rejected_orders", "bars", "buy_and_hold_return",
    "gross_pnl", "slippage_paid", "net_pnl", "traded_notional", "turnover_per_year",
    "gross_edge_bps", "cost_bps", "buy_and_hold_pnl", "excess_return",
)  # fmt: skip


def run_grid(
    bars: BarSeries,
    setup: Mapping[str, Any],
    grid: Sequence[Mapping[str, str]],
    executor: Executor,
    base_params: Mapping[str, str] | None = None,
    select_by: str = "sharpe",
) -> SweepReport:
    """Every grid case over the whole series; ``best`` by ``select_by``."""
    check_metric(select_by)
    base = dict(base_params or {})
    specs = [CaseSpec(merge_params(base, case), 0, len(bars)) for case in grid]
    started = time.perf_counter()
    results = executor(specs)
    meta = _meta(bars, setup, base, select_by)
    meta.update(cases=len(specs), elapsed_s=round(time.perf_counter() - started, 3))
    best = best_result(results, select_by)
    return SweepReport("grid", meta, [_row(r, bars) for r in results], best=_row(best, bars))


def stitch_equity(curves: Sequence[np.ndarray], cash: float) -> np.ndarray:
    """Chain per-window equity curves that each start from ``cash`` into one curve.

    Window ``k`` is scaled by the equity the previous windows ended with over
    ``cash``, so the stitched curve compounds the windows' returns and has no jump
    at a boundary beyond the new window's own first-bar return.
    """
    out, level = [], 1.0
    for curve in curves:
        scaled = np.asarray(curve, dtype=np.float64) * level
        out.append(scaled)
        level = float(scaled[-1]) / cash
    return np.concatenate(out) if out else np.empty(0)


def run_walk_forward(
    bars: BarSeries,
    setup: Mapping[str, Any],
    grid: Sequence[Mapping[str, str]],
    folds: Sequence[Fold],
    executor: Executor,
    base_params: Mapping[str, str] | None = None,
    select_by: str = "sharpe",
) -> SweepReport:
    """Grid on each train window, best by ``select_by``, that set on the test window; stitch.

    All folds' train cases go to the executor as one batch, then all test cases, so a
    parallel executor keeps every worker busy.
    """
    check_metric(select_by)
    base = dict(base_params or {})
    for fold in folds:
        if fold.test_start < fold.train_stop or fold.test_stop > len(bars):
            raise SweepError(
                f"fold {fold.index}: test window overlaps its train window or runs past the series"
            )
    started = time.perf_counter()
    train_specs = [
        CaseSpec(merge_params(base, case), f.train_start, f.train_stop, "train", f.index)
        for f in folds
        for case in grid
    ]
    train = executor(train_specs)
    chosen: list[CaseResult] = []
    for f in folds:
        fold_results = [r for r in train if r.spec.fold == f.index]
        try:
            chosen.append(best_result(fold_results, select_by))
        except SweepError as exc:
            raise SweepError(f"walk-forward fold {f.index}: {exc}") from None
    test_specs = [
        CaseSpec(dict(c.spec.params), f.test_start, f.test_stop, "test", f.index, detail=True)
        for f, c in zip(folds, chosen, strict=True)
    ]
    test = executor(test_specs)
    failed = [r for r in test if not r.ok]
    if failed:
        r = failed[0]
        raise SweepError(
            f"walk-forward fold {r.spec.fold}: test run with {r.spec.params} failed: {r.error}"
        )
    cash = float(setup["engine"]["cash"])
    curves = [r.data["equity"] for r in test if r.data is not None]
    equity = stitch_equity(curves, cash)
    span = bars[folds[0].test_start : folds[-1].test_stop]
    oos_metrics = curve_metrics(equity, cash, span)
    fold_rows = []
    for f, c, t in zip(folds, chosen, test, strict=True):
        assert c.data is not None and t.data is not None
        fold_rows.append(
            {
                **asdict(f),
                "train_first_bar": iso_from_ns(bars.ts[f.train_start]),
                "test_first_bar": iso_from_ns(bars.ts[f.test_start]),
                "test_last_bar": iso_from_ns(bars.ts[f.test_stop - 1]),
                "params": dict(c.spec.params),
                "train_metric": metric_value(c.data, select_by),
                "test_metric": metric_value(t.data, select_by),
                "test_metrics": t.data["metrics"],
            }
        )
    meta = _meta(bars, setup, base, select_by)
    meta.update(
        cases=len(train_specs) + len(test_specs),
        folds=len(folds),
        elapsed_s=round(time.perf_counter() - started, 3),
        oos_note="each test window runs on its own bars from flat (no warm-up bars)",
    )
    return SweepReport(
        "walk_forward",
        meta,
        [_row(r, bars) for r in [*train, *test]],
        folds=fold_rows,
        oos={
            "ts": [int(t) for t in span.ts],
            "equity": [float(v) for v in equity],
            "metrics": oos_metrics,
        },
    )


# -------------------------------------------------------------------------- HTML

_TABLE_METRICS = ("total_return", "sharpe", "sortino", "max_drawdown", "round_trips", "fees_paid")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.2f}"
    return html.escape(str(value))


def _runs_table(report: SweepReport) -> str:
    metrics = list(dict.fromkeys([report.meta["select_by"], *_TABLE_METRICS]))
    head = "".join(
        f"<th>{html.escape(h)}</th>" for h in ["phase", "fold", "params", "window", *metrics]
    )
    rows = []
    for run in report.runs:
        params = ", ".join(f"{k}={v}" for k, v in run["params"].items())
        cells = [run["phase"], "" if run["fold"] is None else run["fold"], params,
                 f"{run['first_bar'][:16]} → {run['last_bar'][:16]}"]  # fmt: skip
        if run["status"] == "ok":
            cells += [run["metrics"][m] for m in metrics]
            tail = "".join(f"<td>{_fmt(c)}</td>" for c in cells)
        else:
            tail = "".join(f"<td>{_fmt(c)}</td>" for c in cells)
            tail += f"<td colspan='{len(metrics)}' style='color:#b91c1c'>"
            tail += f"{html.escape(str(run['error']))}</td>"
        rows.append(f"<tr>{tail}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _grid_figure(report: SweepReport) -> go.Figure:
    """Heatmap of the selection metric over two swept keys, else a bar per case."""
    metric = report.meta["select_by"]
    runs = [r for r in report.runs if r["status"] == "ok" and r["phase"] in ("grid", "train")]
    base = set(report.meta["base_params"])
    keys = [k for k in (runs[0]["params"] if runs else {}) if k not in base]
    if report.kind == "grid" and len(keys) == 2:
        xs = list(dict.fromkeys(r["params"][keys[0]] for r in runs))
        ys = list(dict.fromkeys(r["params"][keys[1]] for r in runs))
        z = np.full((len(ys), len(xs)), np.nan)
        for r in runs:
            z[ys.index(r["params"][keys[1]]), xs.index(r["params"][keys[0]])] = r["metrics"][metric]
        fig = go.Figure(go.Heatmap(x=xs, y=ys, z=z, colorbar={"title": metric}))
        fig.update_layout(xaxis_title=keys[0], yaxis_title=keys[1])
    else:
        labels = [
            (f"f{r['fold']} " if r["fold"] is not None else "")
            + " ".join(f"{k}={r['params'][k]}" for k in keys)
            for r in runs
        ]
        fig = go.Figure(go.Bar(x=labels, y=[r["metrics"][metric] for r in runs]))
        fig.update_layout(yaxis_title=metric)
    fig.update_layout(title=f"{metric} across the grid", height=450)
    return fig


def _oos_figure(report: SweepReport) -> go.Figure:
    assert report.oos is not None
    x = pd.to_datetime(report.oos["ts"], unit="ns", utc=True)
    fig = go.Figure(go.Scattergl(x=x, y=report.oos["equity"], name="stitched OOS equity"))
    for f in report.folds:
        params = ", ".join(f"{k}={v}" for k, v in f["params"].items())
        fig.add_vline(x=pd.Timestamp(f["test_first_bar"]), line={"dash": "dot", "width": 1})
        fig.add_annotation(
            x=pd.Timestamp(f["test_first_bar"]), y=1.02, yref="paper", text=f"fold {f['index']}",
            hovertext=params, showarrow=False, xanchor="left",
        )  # fmt: skip
    fig.update_layout(title="Out-of-sample equity, stitched", height=450)
    return fig


def _folds_table(report: SweepReport) -> str:
    metric = report.meta["select_by"]
    rows = "".join(
        f"<tr><td>{f['index']}</td><td>{f['train_first_bar'][:16]}</td>"
        f"<td>{f['test_first_bar'][:16]} → {f['test_last_bar'][:16]}</td>"
        f"<td>{html.escape(', '.join(f'{k}={v}' for k, v in f['params'].items()))}</td>"
        f"<td>{_fmt(f['train_metric'])}</td><td>{_fmt(f['test_metric'])}</td></tr>"
        for f in report.folds
    )
    return (
        "<table><thead><tr><th>fold</th><th>train from</th><th>test window</th><th>chosen</th>"
        f"<th>train {html.escape(metric)}</th><th>test {html.escape(metric)}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def sweep_html(report: SweepReport) -> str:
    """A self-contained HTML page (plotly.js inlined once) for a :class:`SweepReport`."""
    meta = report.meta
    title = (
        f"SIGMAX {'walk-forward' if report.kind == 'walk_forward' else 'sweep'}: "
        f"{meta['strategy']} on {meta['symbol']} {meta['timeframe']}"
    )
    meta_line = " · ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in meta.items())
    parts = [f"<h1>{html.escape(title)}</h1><p class='meta'>{meta_line}</p>"]
    figures = [_grid_figure(report)]
    if report.kind == "walk_forward":
        assert report.oos is not None
        oos = report.oos["metrics"]
        parts.append(
            "<h2>Walk-forward folds</h2>" + _folds_table(report)
            + "<p>Out of sample: "
            + " · ".join(f"{k} {_fmt(oos[k])}" for k in ("total_return", "sharpe", "max_drawdown"))
            + "</p>"
        )  # fmt: skip
        figures.insert(0, _oos_figure(report))
    elif report.best is not None:
        best = report.best
        parts.append(
            f"<h2>Best by {html.escape(meta['select_by'])}</h2><p>"
            + html.escape(", ".join(f"{k}={v}" for k, v in best["params"].items()))
            + f": {_fmt(best['metrics'][meta['select_by']])}</p>"
        )
    if report.failures:
        parts.append(f"<p style='color:#b91c1c'>{len(report.failures)} case(s) failed.</p>")
    plots = "".join(
        fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)
    )
    parts.append(plots + "<h2>Every run</h2>" + _runs_table(report))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
