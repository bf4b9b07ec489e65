"""``sigmax tune`` on Ray Tune: Optuna's sampler proposes parameter sets, each trial
walks the folds, ASHA stops the weak ones early.

Each trial is a Tune function trainable taking one CPU; the bar series, the case
settings and the fold plan reach it once through ``tune.with_parameters`` (the object
store). A trial runs :func:`sigmax.backtest.tuning.run_trial` and reports after each
fold (``tune.report``: the fold is Tune's training iteration), so the ASHA scheduler
compares trials at fold milestones and stops those below the rung's quantile. The
sampler is Optuna's TPE (``OptunaSearch`` with the space as Optuna distributions).

The driver collects every trial's reports through a Tune callback, which also drives
a rich progress bar, then :func:`~sigmax.backtest.tuning.build_report` chooses the
best completed trial and measures it in and out of sample, with the deflated Sharpe
ratio and the probability of backtest overfitting.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.logger import JsonLoggerCallback
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.search.optuna import OptunaSearch
from rich.progress import Progress

from actors.sweep import progress_bar, ray_session
from sigmax.backtest.folds import FoldPlan
from sigmax.backtest.runner import BacktestRequest
from sigmax.backtest.sweep import case_setup
from sigmax.backtest.tuning import (
    Dimension,
    TrialRecord,
    TuneReport,
    build_report,
    check_plan,
    mode_of,
    param_strings,
    run_trial,
)
from sigmax.gc_freeze import freeze_once
from sigmax.model import BarSeries, iso_from_ns
from sigmax.risk import RiskConfig


@dataclass(frozen=True, slots=True)
class TuneSettings:
    """How the search runs: trials, metric, early stopping, PBO blocks, sampler seed."""

    trials: int = 50
    metric: str = "sharpe"
    pbo_blocks: int = 16
    early_stop: bool = True
    grace_folds: int = 1
    reduction_factor: float = 3.0
    seed: int | None = 0
    max_concurrent: int | None = None


def optuna_space(
    space: Mapping[str, Dimension],
) -> dict[str, optuna.distributions.BaseDistribution]:
    """The search space as Optuna distributions (ranges inclusive of both ends)."""
    out: dict[str, optuna.distributions.BaseDistribution] = {}
    for name, d in space.items():
        if d.kind == "choice":
            out[name] = optuna.distributions.CategoricalDistribution(d.choices)
        elif d.kind == "int":
            step = 1 if d.log or d.step is None else int(d.step)
            out[name] = optuna.distributions.IntDistribution(
                int(d.low), int(d.high), log=d.log, step=step
            )
        else:
            out[name] = optuna.distributions.FloatDistribution(
                d.low, d.high, log=d.log, step=None if d.log else d.step
            )
    return out


def _trial(
    config: dict[str, Any],
    *,
    bars: BarSeries,
    setup: dict[str, Any],
    plan: FoldPlan,
    base: dict[str, str],
    space: dict[str, Dimension],
    metric: str,
    pbo_blocks: int,
) -> None:
    """One Tune trial: report after every fold (Tune may stop it between folds)."""
    # Tune starts a trial in its own directory; a relative PATH.py strategy spec is
    # relative to where the search was started.
    home = os.environ.get("TUNE_ORIG_WORKING_DIR")
    if home:
        os.chdir(home)
    params = {**base, **param_strings(config, space)}
    for result in run_trial(bars, setup, params, plan, metric, pbo_blocks):
        tune.report(result)
        freeze_once()  # after the first fold: what the worker imported stays out of collections


_OWN_KEYS = (
    "objective", "fold", "train_value", "test_value", "train_metrics", "test_metrics",
    "sr_count", "sr_sum", "sr_sumsq", "complete", "block_sums", "skew", "kurtosis",
)  # fmt: skip


class _Collector(tune.Callback):
    """Keeps every trial's reports and status, and shows a progress bar in the driver."""

    def __init__(
        self, space: Mapping[str, Dimension], base: Mapping[str, str], metric: str, total: int,
        progress: Progress,
    ) -> None:  # fmt: skip
        self.space, self.base, self.metric = space, dict(base), metric
        self.records: dict[str, TrialRecord] = {}
        self.progress: Progress | None = progress
        self.task = progress.add_task("tune", total=total)
        self.sign = -1.0 if mode_of(metric) == "min" else 1.0
        self.best: TrialRecord | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its run config (callbacks included) for a later resume; the
        # live progress bar (locks, a terminal) stays behind.
        return {k: v for k, v in self.__dict__.items() if k != "progress"} | {"progress": None}

    def _record(self, trial: Trial) -> TrialRecord:
        if trial.trial_id not in self.records:
            params = {**self.base, **param_strings(trial.config, self.space)}
            self.records[trial.trial_id] = TrialRecord(trial.trial_id, params)
        return self.records[trial.trial_id]

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._record(trial)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:  # fmt: skip
        record = self._record(trial)
        record.results.append({k: result[k] for k in _OWN_KEYS if k in result})
        self._describe()

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        record = self._record(trial)
        record.status = "complete" if record.complete else "stopped"
        better = self.best is None or self.sign * record.objective > self.sign * self.best.objective
        if record.complete and not math.isnan(record.objective) and better:
            self.best = record
        self._advance()
        self._describe()

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        record = self._record(trial)
        record.status = "error"
        record.error = _error_text(trial)
        self._advance()
        self._describe()

    def _describe(self) -> None:
        statuses = [r.status for r in self.records.values()]
        text = f"tune: {statuses.count('running')} running"
        if self.best is not None:
            shown = " ".join(f"{k}={self.best.params[k]}" for k in self.space)
            text += f" · best {self.metric} {self.best.objective:.4f} ({shown})"
        if statuses.count("stopped"):
            text += f" · {statuses.count('stopped')} stopped early"
        if statuses.count("error"):
            text += f" · {statuses.count('error')} failed"
        if self.progress is not None:
            self.progress.update(self.task, description=text)

    def _advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)


def _error_text(trial: Trial) -> str:
    """The exception a failed trial raised, in one line (``Type: message``), read from
    the traceback Tune writes next to the driver (its last line names the exception)."""
    path = trial.error_file
    if path and Path(path).is_file():
        lines = [ln.strip() for ln in Path(path).read_text(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln]
        if lines:
            head, sep, message = lines[-1].partition(": ")
            name = head.rsplit(".", 1)[-1]
            return f"{name}: {message}" if sep and name.isidentifier() else lines[-1]
    return f"trial failed (no error text; see {path})"


# Tune's own table output off: the progress bar shows the search. Its default result
# loggers off too: the TensorBoard one imports torch in the driver (seconds per run);
# the JSON one is added back, as the result grid Tune builds at the end reads it.
_QUIET_ENV = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}


@contextmanager
def _quiet_tune() -> Iterator[str]:
    """A throwaway Tune storage directory, with Tune's and Optuna's output off."""
    saved = {k: os.environ.get(k) for k in _QUIET_ENV}
    os.environ.update(_QUIET_ENV)
    optuna_level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tune_log = logging.getLogger("ray.tune")
    tune_level = tune_log.level
    tune_log.setLevel(logging.WARNING)  # no "wrote the experiment state" lines
    storage = tempfile.mkdtemp(prefix="sigmax-tune-")
    try:
        yield storage
    finally:
        shutil.rmtree(storage, ignore_errors=True)
        optuna.logging.set_verbosity(optuna_level)
        tune_log.setLevel(tune_level)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _scheduler(settings: TuneSettings, folds: int) -> TrialScheduler:
    if not settings.early_stop or folds < 2:
        return FIFOScheduler()  # type: ignore[no-untyped-call]
    return ASHAScheduler(
        time_attr="training_iteration",
        metric="objective",
        mode=mode_of(settings.metric),
        max_t=folds,
        grace_period=min(max(settings.grace_folds, 1), folds),
        reduction_factor=settings.reduction_factor,
    )


def run_tune_on_ray(
    bars: BarSeries,
    strategy: str,
    space: Mapping[str, Dimension],
    request_template: BacktestRequest,
    plan: FoldPlan,
    address: str | None = None,
    *,
    risk_config: RiskConfig | None = None,
    settings: TuneSettings = TuneSettings(),
    progress: bool = True,
) -> TuneReport:
    """Search ``space`` (on top of ``request_template.params``) with ``settings.trials``
    Tune trials over ``plan``'s folds; the report of the best completed trial."""
    check_plan(plan, settings.pbo_blocks)
    if settings.trials < 1:
        raise ValueError(f"trials must be >= 1, got {settings.trials}")
    setup = case_setup(request_template, strategy, risk_config)
    base = dict(request_template.params)
    metric = settings.metric
    started = time.perf_counter()
    with ray_session(address), _quiet_tune() as storage, progress_bar(progress) as bar:
        trainable = tune.with_resources(
            tune.with_parameters(
                _trial, bars=bars, setup=setup, plan=plan, base=base, space=dict(space),
                metric=metric, pbo_blocks=settings.pbo_blocks,
            ),
            {"cpu": 1},
        )  # fmt: skip
        collector = _Collector(space, base, metric, settings.trials, bar)
        searcher = OptunaSearch(
            space=optuna_space(space),
            metric="objective",
            mode=mode_of(metric),
            sampler=optuna.samplers.TPESampler(seed=settings.seed),
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=_scheduler(settings, len(plan.folds)),
                num_samples=settings.trials,
                max_concurrent_trials=settings.max_concurrent,
                reuse_actors=True,  # a trial process serves many trials: no start-up each
            ),
            run_config=tune.RunConfig(
                name="sigmax-tune",
                storage_path=storage,
                verbose=0,
                callbacks=[collector, JsonLoggerCallback()],  # type: ignore[no-untyped-call]
            ),
        )
        tuner.fit()
        records = list(collector.records.values())
    elapsed = time.perf_counter() - started
    meta = {
        "symbol": bars.symbol,
        "timeframe": bars.timeframe,
        "bars": len(bars),
        "first_bar": iso_from_ns(bars.ts[0]),
        "last_bar": iso_from_ns(bars.ts[-1]),
        "strategy": strategy,
        "cash": setup["engine"]["cash"],
        "fee_bps": setup["fee_bps"],
        "slippage_bps": setup["slippage_bps"],
        "spread_bps": setup["spread_bps"],
        "trials_requested": settings.trials,
        "sampler": f"optuna TPE (seed {settings.seed})",
        "scheduler": (
            f"ASHA (grace {settings.grace_folds} fold(s), reduction {settings.reduction_factor:g})"
            if settings.early_stop and len(plan.folds) > 1
            else "none (every trial runs every fold)"
        ),
        "backtests": sum(2 * len(r.results) for r in records),
        "elapsed_s": round(elapsed, 3),
        "executor": "ray tune",
    }
    return build_report(bars, setup, records, plan, space, base, metric, settings.pbo_blocks, meta)
