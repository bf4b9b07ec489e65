"""Backtest, optimisation and training jobs: Ray tasks tracked by one named job board.

Every API replica submits and looks up jobs through the same detached actor (role
:data:`~actors.options.JOB_BOARD`, ``api-jobs`` in namespace ``sigmax``), so a job
started on one replica is followed on any other. Each kind runs the same code as its
CLI command and returns ``{"document": JSON, "report_html": HTML or None}``; the board
keeps the last ``keep`` jobs. Optimisations run through the ``optimiser`` actor, which
keeps the last result for ``GET /api/v1/quantum/last``.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ray

from actors import options
from sigmax.tracing import traced_actor


@ray.remote(**options.BACKTEST_JOB.options())
def backtest_task(params: dict[str, Any]) -> dict[str, Any]:
    """One backtest, as the CLI runs it; returns ``{"document", "report_html"}``."""
    from sigmax.backtest.runner import BacktestRequest, run_backtest, save_reports
    from sigmax.config import get_settings

    limits = get_settings().risk
    request = BacktestRequest.from_params(
        {**params, "progress": False, "risk_limits": limits, "graph": get_settings().graph}
    )
    outcome = run_backtest(request)
    with tempfile.TemporaryDirectory(prefix="sigmax-job-") as tmp:
        html = Path(tmp) / "report.html"
        save_reports(outcome, None, html, float(request.fee_bps))
        report = html.read_text(encoding="utf-8")
    return {"document": outcome.document, "report_html": report}


@ray.remote(**options.TRAINING_JOB.options())
def training_task(params: dict[str, Any]) -> dict[str, Any]:
    """PPO training as ``sigmax train`` runs it; returns the iterations and checkpoints."""
    from sigmax.rl.config import EnvConfig, TrainConfig
    from sigmax.rl.train import train

    env = EnvConfig.model_validate(params.get("env") or {})
    config = TrainConfig.model_validate(params.get("train") or {})
    checkpoint_dir = Path(params.get("checkpoint_dir") or tempfile.mkdtemp(prefix="sigmax-rl-"))
    outcome = train(env, config, checkpoint_dir)
    document = {
        "checkpoint_dir": str(outcome.checkpoint_dir),
        "checkpoints": [str(c) for c in outcome.checkpoints],
        "iterations": outcome.iterations_done,
        "summaries": outcome.summaries,
    }
    return {"document": document, "report_html": None}


@ray.remote(**options.OPTIMISE_JOB.options())
def optimise_task(optimiser: Any, config: Any) -> dict[str, Any]:
    """Optimise through the optimiser actor (it remembers the result for the API)."""
    from sigmax.portfolio.report import render_html

    result = ray.get(optimiser.optimise.remote(config))
    return {"document": json.loads(result.to_json()), "report_html": render_html(result)}


# The parameters that say what a job is, in its task name.
JOB_TAGS = ("strategy", "data", "symbol", "symbols", "timeframe")


def task_name(kind: str, job_id: str, params: dict[str, Any]) -> str:
    """The job's task name in the Ray dashboard: kind, job id and what it runs on."""
    described = " ".join(f"{key}={params[key]}" for key in JOB_TAGS if params.get(key))
    return f"{kind}:{job_id} {described}".strip()


def _start(kind: str, job_id: str, params: dict[str, Any]) -> Any:
    """The ObjectRef of a job's result."""
    named = {"name": task_name(kind, job_id, params)}
    if kind == "backtest":
        return backtest_task.options(**named).remote(params)
    if kind == "optimize":
        from actors.optimiser import spawn_optimiser
        from sigmax.portfolio import OptimiserConfig

        config = OptimiserConfig.model_validate(params)
        return optimise_task.options(**named).remote(spawn_optimiser(), config)
    if kind == "train":
        return training_task.options(**named).remote(params)
    raise ValueError(f"unknown job kind {kind!r}")


@ray.remote
@traced_actor
class JobBoard:
    """Jobs by id: submitted task, status, result and report."""

    def __init__(self, keep: int = 100) -> None:
        self.keep = keep
        self.jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def submit(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        job_id = uuid.uuid4().hex
        self.jobs[job_id] = {
            "job_id": job_id,
            "kind": kind,
            "status": "running",
            "submitted_at": datetime.now(UTC),
            "finished_at": None,
            "error": None,
            "ref": _start(kind, job_id, params),
            "result": None,
        }
        while len(self.jobs) > self.keep:
            self.jobs.popitem(last=False)
        return self._public(self.jobs[job_id])

    def _settle(self, job: dict[str, Any]) -> None:
        if job["status"] != "running":
            return
        ready, _ = ray.wait([job["ref"]], timeout=0)
        if not ready:
            return
        try:
            job["result"] = ray.get(ready[0])
            job["status"] = "succeeded"
        except Exception as exc:  # the task's error is the job's result
            cause = getattr(exc, "cause", None) or exc
            job["status"] = "failed"
            job["error"] = f"{type(cause).__name__}: {cause}"
        job["finished_at"] = datetime.now(UTC)
        job["ref"] = None

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if k not in ("ref", "result")}

    def status(self, job_id: str) -> dict[str, Any] | None:
        job = self.jobs.get(job_id)
        if job is None:
            return None
        self._settle(job)
        return self._public(job)

    def list(self) -> list[dict[str, Any]]:
        for job in self.jobs.values():
            self._settle(job)
        return [self._public(j) for j in reversed(self.jobs.values())]

    def result(self, job_id: str, part: str) -> Any:
        job = self.jobs.get(job_id)
        if job is None:
            return None
        self._settle(job)
        if job["result"] is None:
            return None
        return job["result"][part]


def job_board() -> Any:
    """The job board actor (created on first use, else found by name); detached, so it
    outlives the API replica that created it."""
    return options.spawn(JobBoard, options.JOB_BOARD, "", detached=True)
