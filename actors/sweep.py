"""Parameter sweeps and walk-forward analysis as Ray tasks.

Each case (:func:`sigmax.backtest.sweep.run_case`) is one Ray task taking one CPU.
The bar series is ``ray.put`` once and every task reads that one object (zero-copy,
read-only numpy arrays); results are collected with ``ray.wait`` as they finish
while a progress bar advances. The strategy travels as its spec string and each task
loads it (a relative ``PATH.py:ClassName`` resolves in the task's working directory:
the driver's in a local Ray, the job's ``--working-dir`` in a submitted job). A case
that raises is reported in the :class:`~sigmax.backtest.sweep.SweepReport` with its
parameters and error; the other cases still run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from actors.options import SWEEP_CASE
from sigmax.backtest.runner import BacktestRequest
from sigmax.backtest.sweep import (
    CaseResult,
    CaseSpec,
    Fold,
    SweepReport,
    case_setup,
    describe_error,
    run_case,
    run_grid,
    run_walk_forward,
)
from sigmax.gc_freeze import freeze_once
from sigmax.model import BarSeries
from sigmax.risk import RiskConfig


@ray.remote(**SWEEP_CASE.options())
def _case_task(
    bars: BarSeries,
    setup: dict[str, Any],
    params: dict[str, str],
    start: int,
    stop: int,
    detail: bool,
) -> dict[str, Any]:
    result = run_case(bars, setup, params, start, stop, detail)
    freeze_once()  # a worker runs many cases: keep what it imported out of collections
    return result


class RayExecutor:
    """Runs a batch of cases as Ray tasks over one shared, already ``ray.put`` series."""

    def __init__(
        self,
        bars_ref: ray.ObjectRef[BarSeries],
        setup: Mapping[str, Any],
        progress: bool = True,
        label: str = "backtests",
    ) -> None:
        self.bars_ref = bars_ref
        self.setup_ref = ray.put(dict(setup))
        self.progress = progress
        self.label = label

    def __call__(self, specs: Sequence[CaseSpec]) -> list[CaseResult]:
        refs = [
            _case_task.remote(self.bars_ref, self.setup_ref, s.params, s.start, s.stop, s.detail)
            for s in specs
        ]
        slot = {ref: i for i, ref in enumerate(refs)}
        results: list[CaseResult | None] = [None] * len(specs)
        failed = 0
        pending = list(refs)
        with progress_bar(self.progress) as bar:
            task = bar.add_task(f"{self.label} ({len(specs)})", total=len(specs))
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    i = slot[ref]
                    try:
                        results[i] = CaseResult(specs[i], data=ray.get(ref))
                    except ray.exceptions.RayTaskError as exc:
                        # The cause is the exception run_case raised in the worker.
                        results[i] = CaseResult(specs[i], error=_task_error(exc))
                        failed += 1
                    except ray.exceptions.RayError as exc:  # worker died, object lost, ...
                        results[i] = CaseResult(specs[i], error=describe_error(exc))
                        failed += 1
                    if failed:
                        bar.update(task, description=f"{self.label} ({failed} failed)")
                    bar.advance(task)
        return [r for r in results if r is not None]


def _task_error(exc: ray.exceptions.RayTaskError) -> str:
    cause = exc.cause
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return describe_error(exc)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        disable=not enabled,
    ) as progress:
        yield progress


@contextmanager
def ray_session(address: str | None = None) -> Iterator[None]:
    """Use the Ray already initialised here, else start (and afterwards stop) one.

    ``address`` connects to an existing cluster (``"auto"``, ``"ray://..."``); without
    it a local Ray starts with every CPU of this machine.
    """
    started = False
    if not ray.is_initialized():
        ray.init(address=address) if address else ray.init()
        started = True
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def run_sweep_on_ray(
    bars: BarSeries,
    strategy: str,
    grid: Sequence[Mapping[str, str]],
    request_template: BacktestRequest,
    address: str | None = None,
    *,
    risk_config: RiskConfig | None = None,
    select_by: str = "sharpe",
    progress: bool = True,
) -> SweepReport:
    """Every grid case (on top of ``request_template.params``) over ``bars``, as Ray tasks."""
    setup = case_setup(request_template, strategy, risk_config)
    with ray_session(address):
        executor = RayExecutor(ray.put(bars), setup, progress, "sweep")
        report = run_grid(bars, setup, grid, executor, request_template.params, select_by)
    report.meta["executor"] = "ray"
    return report


def run_walk_forward_on_ray(
    bars: BarSeries,
    strategy: str,
    grid: Sequence[Mapping[str, str]],
    request_template: BacktestRequest,
    folds: Sequence[Fold],
    address: str | None = None,
    *,
    risk_config: RiskConfig | None = None,
    select_by: str = "sharpe",
    progress: bool = True,
) -> SweepReport:
    """Walk-forward (grid per train window, best on the test window) with Ray tasks."""
    setup = case_setup(request_template, strategy, risk_config)
    with ray_session(address):
        executor = RayExecutor(ray.put(bars), setup, progress, "walk-forward")
        report = run_walk_forward(
            bars, setup, grid, folds, executor, request_template.params, select_by
        )
    report.meta["executor"] = "ray"
    return report
