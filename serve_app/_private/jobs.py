"""Backtest jobs: Ray tasks (``num_cpus=1``) tracked by one named job-board actor.

Every API replica submits and looks up jobs through the same actor (``api-jobs`` in
namespace ``sigmax``), so a job started on one replica is followed on any other.
The task runs :func:`sigmax.backtest.runner.run_backtest` and returns the JSON
report and the HTML report; the board keeps the last ``keep`` jobs.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ray

from actors.options import NAMESPACE

BOARD_NAME = "api-jobs"


@ray.remote(num_cpus=1, max_retries=0)
def backtest_task(params: dict[str, Any]) -> dict[str, Any]:
    """One backtest, as the CLI runs it; returns ``{"document", "report_html"}``."""
    from sigmax.backtest.runner import BacktestRequest, run_backtest, save_reports

    request = BacktestRequest(
        data=params["data"],
        symbol=params.get("symbol"),
        timeframe=params.get("timeframe"),
        strategy=params["strategy"],
        params=dict(params.get("params") or {}),
        cash=Decimal(str(params["cash"])),
        fee_bps=Decimal(str(params["fee_bps"])),
        slippage_bps=Decimal(str(params["slippage_bps"])),
        progress=False,
    )
    outcome = run_backtest(request)
    with tempfile.TemporaryDirectory(prefix="sigmax-job-") as tmp:
        html = Path(tmp) / "report.html"
        save_reports(outcome, None, html, float(request.fee_bps))
        report = html.read_text(encoding="utf-8")
    return {"document": outcome.document, "report_html": report}


@ray.remote(num_cpus=0, max_restarts=-1)
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
            "ref": backtest_task.remote(params),
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


def board() -> Any:
    """The job board actor, created on first use."""
    return JobBoard.options(  # type: ignore[attr-defined]
        name=BOARD_NAME, namespace=NAMESPACE, get_if_exists=True, lifetime="detached"
    ).remote()
