"""Parameter search with a walk-forward objective: the pure parts of ``sigmax tune``.

No Ray here (``actors.tune`` drives the search on Ray Tune); everything a trial does
and everything the report says is computed by this module:

* :func:`parse_space` turns ``--space`` items into :class:`Dimension` objects checked
  against the strategy's ``Params`` model (unknown parameter, empty range, a value
  the model refuses: a :class:`TuneError` before anything runs).
* :func:`run_trial` is one trial: one parameter set over the folds of a
  :class:`~sigmax.backtest.folds.FoldPlan`, fold by fold, each window a
  :func:`~sigmax.backtest.sweep.run_case` (the grid sweep's one case, so a trial and
  a sweep give the same number for the same parameters and window). After each fold
  it yields what a scheduler needs to stop it early: the running mean of the metric
  over the test windows so far (the objective).
* :func:`build_report` picks the best completed trial, runs it once over the whole
  in-sample part and once over the holdout, and measures the search's luck: the
  deflated Sharpe ratio and the probability of backtest overfitting
  (:mod:`sigmax.backtest.overfitting`).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from pydantic import TypeAdapter, ValidationError

from sigmax.backtest.folds import FoldPlan
from sigmax.backtest.overfitting import (
    OverfittingInputError,
    block_sums,
    deflated_sharpe_ratio,
    pbo_from_block_sums,
)
from sigmax.backtest.report import STYLE, write_atomic
from sigmax.backtest.sweep import LOWER_IS_BETTER, Fold, SweepError, check_metric, run_case
from sigmax.data.timeframes import bars_per_year
from sigmax.model import BarSeries, iso_from_ns
from sigmax.strategies import StrategyParams

Kind = Literal["int", "float", "choice"]
Status = Literal["running", "complete", "stopped", "error"]


class TuneError(SweepError):
    """A search was specified wrongly (space, folds, metric) or gave nothing to report."""


# ------------------------------------------------------------------------- space


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched parameter: an integer or float range (inclusive), or choices."""

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "choice":
            return ",".join(self.choices)
        low, high = _num(self.low, self.kind), _num(self.high, self.kind)
        extra = (
            ":log" if self.log else ("" if self.step is None else f":{_num(self.step, self.kind)}")
        )
        return f"{low}:{high}{extra}"

    def contains(self, value: str) -> bool:
        """Whether the search can propose ``value`` (a parameter string)."""
        if self.kind == "choice":
            return value in self.choices
        try:
            x = float(value)
        except ValueError:
            return False
        if not self.low <= x <= self.high:
            return False
        if self.kind == "int" and x != int(x):
            return False
        if self.step is not None:
            k = (x - self.low) / self.step
            return abs(k - round(k)) < 1e-9
        return True


def _num(value: float, kind: Kind) -> str:
    return str(int(value)) if kind == "int" else repr(float(value))


SPACE_FORMS = "KEY=LOW:HIGH, KEY=LOW:HIGH:log, KEY=LOW:HIGH:STEP or KEY=V1,V2,..."


def parse_space(
    items: Sequence[str],
    params_model: type[StrategyParams],
    strategy: str,
    fixed: Mapping[str, str] | None = None,
) -> dict[str, Dimension]:
    """``--space`` items → one :class:`Dimension` per parameter, each checked against the
    strategy's ``Params`` model: the parameter exists, is not also fixed by ``--param``,
    its range is not empty and its bounds (or every choice) are values the model takes."""
    fields = params_model.model_fields
    fixed = fixed or {}
    if not items:
        raise TuneError(f"--space: nothing to search; give at least one {SPACE_FORMS}")
    space: dict[str, Dimension] = {}
    for item in items:
        key, sep, spec = item.partition("=")
        key, spec = key.strip(), spec.strip()
        if not sep or not key:
            raise TuneError(f"--space: expected {SPACE_FORMS}, got {item!r}")
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise TuneError(
                f"--space: strategy {strategy} has no parameter {key!r} (its parameters: {known})"
            )
        if key in space:
            raise TuneError(f"--space: {key!r} given twice")
        if key in fixed:
            raise TuneError(f"--space: {key!r} is also fixed by --param; give it once")
        if not spec:
            raise TuneError(f"--space {key}: empty range; expected {SPACE_FORMS}")
        annotated = cast(Any, Annotated[fields[key].annotation, fields[key]])
        adapter: TypeAdapter[Any] = TypeAdapter(annotated)
        dim = (
            _parse_range(key, spec, _numeric_kind(fields[key].annotation))
            if ":" in spec
            else _parse_choices(key, spec)
        )
        for label, value in _values_to_check(dim):
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                problem = "; ".join(e["msg"] for e in exc.errors())
                raise TuneError(
                    f"--space {key}: {label} {value} is not a valid {key} ({problem})"
                ) from None
        space[key] = dim
    return space


def _numeric_kind(annotation: Any) -> Kind | None:
    """``int`` or ``float`` for those annotations, also when optional (``int | None``)."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    return None


def _parse_range(key: str, spec: str, kind: Kind | None) -> Dimension:
    parts = [p.strip() for p in spec.split(":")]
    if kind is None:
        raise TuneError(
            f"--space {key}: a LOW:HIGH range needs an int or float parameter; give choices "
            "V1,V2,... instead"
        )
    if len(parts) not in (2, 3) or not all(parts):
        raise TuneError(f"--space {key}: expected LOW:HIGH[:log|:STEP], got {spec!r}")
    low, high = (_number(key, p, kind) for p in parts[:2])
    if not low < high:
        raise TuneError(f"--space {key}: empty range {spec!r}; LOW must be below HIGH")
    step: float | None = None
    log = False
    if len(parts) == 3:
        if parts[2].lower() == "log":
            if low <= 0:
                raise TuneError(f"--space {key}: a log range needs LOW > 0, got {parts[0]}")
            log = True
        else:
            step = _number(key, parts[2], kind)
            if step <= 0 or step > high - low:
                raise TuneError(
                    f"--space {key}: STEP {parts[2]} must be > 0 and at most HIGH - LOW"
                )
            span = (high - low) / step
            if abs(span - round(span)) > 1e-9:
                raise TuneError(
                    f"--space {key}: HIGH - LOW ({_num(high - low, kind)}) is not a whole "
                    f"number of STEPs ({parts[2]})"
                )
    return Dimension(key, kind, low, high, step if step is not None or kind != "int" else 1, log)


def _number(key: str, text: str, kind: Kind) -> float:
    try:
        if kind == "int":
            return float(int(text))
        value = float(text)
    except ValueError:
        raise TuneError(
            f"--space {key}: {text!r} is not {'an integer' if kind == 'int' else 'a number'}"
        ) from None
    if not math.isfinite(value):
        raise TuneError(f"--space {key}: {text!r} is not a finite number")
    return value


def _parse_choices(key: str, spec: str) -> Dimension:
    values = [v.strip() for v in spec.split(",")]
    if any(not v for v in values):
        raise TuneError(f"--space {key}: empty value in {spec!r}")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise TuneError(f"--space {key}: value(s) {', '.join(repeated)} repeated")
    if len(values) < 2:
        raise TuneError(
            f"--space {key}: one value is not a search; give it as --param {key}={values[0]}"
        )
    return Dimension(key, "choice", choices=tuple(values))


def _values_to_check(dim: Dimension) -> list[tuple[str, str]]:
    if dim.kind == "choice":
        return [("choice", v) for v in dim.choices]
    return [("LOW", _num(dim.low, dim.kind)), ("HIGH", _num(dim.high, dim.kind))]


def param_strings(config: Mapping[str, Any], space: Mapping[str, Dimension]) -> dict[str, str]:
    """A sampler's values as the ``k=v`` strings a strategy is built from (ints as ints)."""
    out = {}
    for key, value in config.items():
        dim = space.get(key)
        if dim is not None and dim.kind == "int":
            out[key] = str(int(value))
        elif isinstance(value, float):
            out[key] = repr(value)
        else:
            out[key] = str(value)
    return out


# ------------------------------------------------------------------------ trials


def mode_of(metric: str) -> Literal["max", "min"]:
    return "min" if metric in LOWER_IS_BETTER else "max"


def window_returns(equity: np.ndarray, cash: float) -> np.ndarray:
    """Per-bar returns of one window's equity curve that started from ``cash``."""
    curve = np.concatenate(([cash], np.asarray(equity, dtype=np.float64)))
    return curve[1:] / curve[:-1] - 1.0


@dataclass(frozen=True, slots=True)
class FoldScore:
    """One fold of one trial: the full metrics of its train and test runs."""

    fold: int
    train: dict[str, float]
    test: dict[str, float]


def run_trial(
    bars: BarSeries,
    setup: Mapping[str, Any],
    params: Mapping[str, str],
    plan: FoldPlan,
    metric: str,
    pbo_blocks: int,
) -> Iterator[dict[str, Any]]:
    """One trial, fold by fold; after each, the result a scheduler sees.

    Each fold runs the set on its train window (in-sample) and on its test window,
    each from flat on its own bars (:func:`run_case`). ``objective`` is the mean of
    ``metric`` over the test windows so far (NaN counts as the worst value); ``sr_*``
    accumulate the count, sum and sum of squares of the test windows' per-bar returns.
    The last fold's result adds ``block_sums`` (those sums per PBO block) and the
    skewness and kurtosis of all the test returns.
    """
    cash = float(setup["engine"]["cash"])
    worst = math.inf if mode_of(metric) == "min" else -math.inf
    test_values: list[float] = []
    returns: list[np.ndarray] = []
    for fold in plan.folds:
        train = run_case(bars, setup, params, fold.train_start, fold.train_stop)
        test = run_case(bars, setup, params, fold.test_start, fold.test_stop, detail=True)
        value = float(test["metrics"][metric])
        test_values.append(worst if math.isnan(value) else value)
        r = window_returns(test["equity"], cash)
        returns.append(r)
        done = np.concatenate(returns)
        result: dict[str, Any] = {
            "objective": float(np.mean(test_values)),
            "fold": fold.index,
            "train_value": float(train["metrics"][metric]),
            "test_value": value,
            "train_metrics": train["metrics"],
            "test_metrics": test["metrics"],
            "sr_count": int(done.size),
            "sr_sum": float(done.sum()),
            "sr_sumsq": float(np.sum(done**2)),
            "complete": fold.index == plan.folds[-1].index,
        }
        if result["complete"]:
            result["block_sums"] = block_sums(done[:, None], pbo_blocks)[:, 0, :].tolist()
            centred = done - done.mean()
            m2 = float(np.mean(centred**2))
            result["skew"] = float(np.mean(centred**3)) / m2**1.5 if m2 > 0 else 0.0
            result["kurtosis"] = float(np.mean(centred**4)) / m2**2 if m2 > 0 else 3.0
        yield result


def check_plan(plan: FoldPlan, pbo_blocks: int) -> None:
    """Raise :class:`TuneError` unless the plan's test windows can make ``pbo_blocks``."""
    if pbo_blocks < 2 or pbo_blocks % 2:
        raise TuneError(f"--pbo-blocks must be an even number >= 2, got {pbo_blocks}")
    if plan.validation_bars < 2 * pbo_blocks:
        raise TuneError(
            f"--pbo-blocks {pbo_blocks}: the test windows hold {plan.validation_bars} bars, "
            f"fewer than 2 per block"
        )


@dataclass(slots=True)
class TrialRecord:
    """What one trial reported, in order: its folds, and how it ended."""

    trial_id: str
    params: dict[str, str]
    results: list[dict[str, Any]] = field(default_factory=list)
    status: Status = "running"
    error: str | None = None

    @property
    def complete(self) -> bool:
        return bool(self.results) and bool(self.results[-1].get("complete"))

    @property
    def objective(self) -> float:
        return float(self.results[-1]["objective"]) if self.results else math.nan

    @property
    def per_bar_sharpe(self) -> float | None:
        """Per-bar Sharpe ratio over the test bars this trial ran; None before any."""
        if not self.results:
            return None
        last = self.results[-1]
        n, s1, s2 = last["sr_count"], last["sr_sum"], last["sr_sumsq"]
        if n < 2:
            return None
        var = max(s2 - s1 * s1 / n, 0.0) / (n - 1)
        return 0.0 if var <= 1e-14 * (s2 / n) else (s1 / n) / math.sqrt(var)

    def to_json(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "params": self.params,
            "status": self.status,
            "error": self.error,
            "objective": None if not self.results else self.objective,
            "folds_run": len(self.results),
            "per_bar_sharpe": self.per_bar_sharpe,
            "folds": [
                {
                    "fold": r["fold"],
                    "train_value": r["train_value"],
                    "test_value": r["test_value"],
                    "objective": r["objective"],
                    "train_metrics": r["train_metrics"],
                    "test_metrics": r["test_metrics"],
                }
                for r in self.results
            ],
        }


# ------------------------------------------------------------------------ report

_SHOWN = ("total_return", "sharpe", "sortino", "max_drawdown", "turnover_per_year", "fees_paid")


@dataclass
class TuneReport:
    """The search's result: chosen set, in- and out-of-sample figures, DSR, PBO, trials."""

    meta: dict[str, Any]
    space: dict[str, str]
    plan: dict[str, Any]
    best: dict[str, Any]
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any] | None
    dsr: dict[str, Any]
    pbo: dict[str, Any]
    trials: list[dict[str, Any]]
    holdout_equity: dict[str, Any] | None = None
    pbo_logits: list[float] = field(default_factory=list)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [t for t in self.trials if t["status"] == "error"]

    def counts(self) -> dict[str, int]:
        statuses = [t["status"] for t in self.trials]
        return {
            "trials": len(statuses),
            "complete": statuses.count("complete"),
            "stopped_early": statuses.count("stopped"),
            "failed": statuses.count("error"),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "tune",
            "meta": self.meta,
            "space": self.space,
            "folds": self.plan,
            "counts": self.counts(),
            "best": self.best,
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
            "dsr": self.dsr,
            "pbo": self.pbo,
            "trials": self.trials,
            "failures": self.failures,
        }

    def write_json(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_json(), indent=1, allow_nan=True))

    def write_html(self, path: Path) -> None:
        write_atomic(path, tune_html(self))


def build_report(
    bars: BarSeries,
    setup: Mapping[str, Any],
    records: Sequence[TrialRecord],
    plan: FoldPlan,
    space: Mapping[str, Dimension],
    base_params: Mapping[str, str],
    metric: str,
    pbo_blocks: int,
    meta: Mapping[str, Any] | None = None,
) -> TuneReport:
    """Choose the best completed trial and measure it in and out of sample."""
    check_metric(metric)
    complete = [r for r in records if r.complete]
    if not complete:
        first = next((r for r in records if r.error), None)
        why = f"; first failure: {first.params} → {first.error}" if first else ""
        raise TuneError(f"no trial ran all {len(plan.folds)} folds{why}")
    sign = -1.0 if mode_of(metric) == "min" else 1.0
    best = max(complete, key=lambda r: -math.inf if math.isnan(r.objective) else sign * r.objective)
    params = dict(best.params)
    cash = float(setup["engine"]["cash"])
    in_run = run_case(bars, setup, params, 0, plan.tuning_stop)
    in_sample = {
        "window": _window(bars, 0, plan.tuning_stop),
        "metrics": in_run["metrics"],
        "mean_train": float(np.mean([r["train_value"] for r in best.results])),
        "mean_test": best.objective,
    }
    out_of_sample = None
    holdout_equity = None
    if plan.holdout_start is not None and plan.holdout_stop is not None:
        out_run = run_case(bars, setup, params, plan.holdout_start, plan.holdout_stop, detail=True)
        out_of_sample = {
            "window": _window(bars, plan.holdout_start, plan.holdout_stop),
            "metrics": out_run["metrics"],
        }
        holdout_equity = {
            "ts": [int(t) for t in bars.ts[plan.holdout_start : plan.holdout_stop]],
            "equity": [float(v) for v in out_run["equity"]],
            "buy_and_hold": [
                float(cash * c / bars.close[plan.holdout_start])
                for c in bars.close[plan.holdout_start : plan.holdout_stop]
            ],
        }
    dsr = _dsr(best, records, bars)
    pbo, logits = _pbo(complete, pbo_blocks)
    report_meta = {
        **(meta or {}),
        "metric": metric,
        "mode": mode_of(metric),
        "base_params": dict(base_params),
        "pbo_blocks": pbo_blocks,
    }
    return TuneReport(
        meta=report_meta,
        space={k: d.describe() for k, d in space.items()},
        plan={**plan.to_json(), "windows": _fold_windows(bars, plan.folds)},
        best={
            "trial_id": best.trial_id,
            "params": params,
            "objective": best.objective,
            "folds": [
                {"fold": r["fold"], "train_value": r["train_value"], "test_value": r["test_value"]}
                for r in best.results
            ],
        },
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        dsr=dsr,
        pbo=pbo,
        trials=[r.to_json() for r in records],
        holdout_equity=holdout_equity,
        pbo_logits=logits,
    )


def _window(bars: BarSeries, start: int, stop: int) -> dict[str, Any]:
    return {
        "start": start,
        "stop": stop,
        "first_bar": iso_from_ns(bars.ts[start]),
        "last_bar": iso_from_ns(bars.ts[stop - 1]),
    }


def _fold_windows(bars: BarSeries, folds: Sequence[Fold]) -> list[dict[str, Any]]:
    return [
        {
            "fold": f.index,
            "train": _window(bars, f.train_start, f.train_stop),
            "test": _window(bars, f.test_start, f.test_stop),
        }
        for f in folds
    ]


def _dsr(best: TrialRecord, records: Sequence[TrialRecord], bars: BarSeries) -> dict[str, Any]:
    sharpes = [s for s in (r.per_bar_sharpe for r in records) if s is not None]
    last = best.results[-1]
    chosen = best.per_bar_sharpe
    assert chosen is not None
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
    try:
        d = deflated_sharpe_ratio(
            chosen, int(last["sr_count"]), float(last["skew"]), float(last["kurtosis"]),
            len(sharpes), variance,
        )  # fmt: skip
    except OverfittingInputError as exc:
        return {"dsr": None, "reason": str(exc)}
    per_year = _bars_per_year(bars)
    return {
        "dsr": d.dsr,
        "sharpe_per_bar": d.sharpe,
        "expected_max_sharpe_per_bar": d.expected_max_sharpe,
        "sharpe_annualised": d.sharpe * math.sqrt(per_year),
        "expected_max_sharpe_annualised": d.expected_max_sharpe * math.sqrt(per_year),
        "trials": d.n_trials,
        "sharpe_variance_per_bar": d.sharpe_variance,
        "returns": d.n_obs,
        "skew": d.skew,
        "kurtosis": d.kurtosis,
    }


def _bars_per_year(bars: BarSeries) -> float:
    step = int(np.median(np.diff(bars.ts))) if len(bars) > 1 else 0
    return float(bars_per_year(step)) if step > 0 else 1.0


def _pbo(complete: Sequence[TrialRecord], blocks: int) -> tuple[dict[str, Any], list[float]]:
    if len(complete) < 2:
        return {"pbo": None, "reason": f"{len(complete)} complete trial(s); CSCV needs 2"}, []
    sums = np.stack([np.asarray(r.results[-1]["block_sums"], dtype=np.float64) for r in complete])
    try:
        result = pbo_from_block_sums(np.transpose(sums, (1, 0, 2)))
    except OverfittingInputError as exc:
        return {"pbo": None, "reason": str(exc)}, []
    return result.summary(), [float(x) for x in result.logits]


# -------------------------------------------------------------------------- HTML


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.2f}"
    if value is None:
        return "–"
    return html.escape(str(value))


def _trials_figure(report: TuneReport) -> go.Figure:
    metric = report.meta["metric"]
    fig = go.Figure()
    for t in report.trials:
        if not t["folds"]:
            continue
        label = " ".join(f"{k}={v}" for k, v in t["params"].items())
        fig.add_trace(
            go.Scatter(
                x=[f["fold"] for f in t["folds"]], y=[f["objective"] for f in t["folds"]],
                mode="lines+markers", name=label, showlegend=False,
                line={"width": 3 if t["trial_id"] == report.best["trial_id"] else 1},
                hovertext=f"{label} ({t['status']})",
            )
        )  # fmt: skip
    fig.update_layout(
        title=f"Objective (mean test {metric}) after each fold; a line that ends early was stopped",
        xaxis_title="fold", yaxis_title=metric, height=420,
    )  # fmt: skip
    return fig


def _params_figure(report: TuneReport) -> go.Figure:
    keys = list(report.space)
    ok = [t for t in report.trials if t["objective"] is not None]
    colours = ["#15803d" if t["status"] == "complete" else "#9ca3af" for t in ok]
    fig = go.Figure()
    for i, key in enumerate(keys):
        fig.add_trace(
            go.Scatter(
                x=[t["params"].get(key) for t in ok], y=[t["objective"] for t in ok],
                mode="markers", name=key, xaxis=f"x{i + 1}" if i else "x",
                marker={"color": colours},
            )
        )  # fmt: skip
    n = max(len(keys), 1)
    layout: dict[str, Any] = {
        "title": "Objective by parameter (grey: stopped early)",
        "height": 380,
    }
    for i, key in enumerate(keys):
        axis = "xaxis" if i == 0 else f"xaxis{i + 1}"
        layout[axis] = {"domain": [i / n + 0.02, (i + 1) / n - 0.02], "title": key, "anchor": "y"}
    fig.update_layout(**layout)
    return fig


def _holdout_figure(report: TuneReport) -> go.Figure:
    assert report.holdout_equity is not None
    x = pd.to_datetime(report.holdout_equity["ts"], unit="ns", utc=True)
    fig = go.Figure(go.Scattergl(x=x, y=report.holdout_equity["equity"], name="chosen set"))
    fig.add_trace(go.Scattergl(x=x, y=report.holdout_equity["buy_and_hold"], name="buy and hold"))
    fig.update_layout(title="Holdout (never seen by the search): equity", height=400)
    return fig


def _logit_figure(report: TuneReport) -> go.Figure:
    fig = go.Figure(go.Histogram(x=report.pbo_logits, nbinsx=40))
    fig.add_vline(x=0, line={"dash": "dot"})
    fig.update_layout(
        title="CSCV: logit of the in-sample best's out-of-sample rank (left of 0: overfit)",
        height=380,
    )
    return fig


def _compare_table(report: TuneReport) -> str:
    head = "<tr><th>metric</th><th>in sample</th><th>out of sample (holdout)</th></tr>"
    ins = report.in_sample["metrics"]
    outs = report.out_of_sample["metrics"] if report.out_of_sample else {}
    rows = "".join(
        f"<tr><td>{m}</td><td>{_fmt(ins.get(m))}</td><td>{_fmt(outs.get(m))}</td></tr>"
        for m in _SHOWN
    )
    return f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>"


def tune_html(report: TuneReport) -> str:
    """A self-contained HTML page (plotly.js inlined once) for a :class:`TuneReport`."""
    meta = report.meta
    title = f"SIGMAX tune: {meta.get('strategy')} on {meta.get('symbol')} {meta.get('timeframe')}"
    counts = report.counts()
    best = ", ".join(f"{k}={v}" for k, v in report.best["params"].items())
    lines = [
        f"<h1>{html.escape(title)}</h1>",
        "<p class='meta'>"
        + " · ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in meta.items())
        + "</p>",
        "<p>" + " · ".join(f"{k} {v}" for k, v in counts.items()) + "</p>",
        f"<h2>Chosen set</h2><p>{html.escape(best)}: mean test {html.escape(meta['metric'])} "
        f"{_fmt(report.best['objective'])}</p>",
        _compare_table(report),
        f"<p>Deflated Sharpe ratio: {_fmt(report.dsr.get('dsr'))} · probability of backtest "
        f"overfitting: {_fmt(report.pbo.get('pbo'))}</p>",
    ]
    figures = [_trials_figure(report), _params_figure(report)]
    if report.holdout_equity is not None:
        figures.insert(0, _holdout_figure(report))
    if report.pbo_logits:
        figures.append(_logit_figure(report))
    plots = "".join(
        fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(lines)}{plots}</body></html>"
    )
