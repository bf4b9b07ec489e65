"""/api/v1/jobs: backtests, portfolio optimisations and PPO training as Ray jobs, tracked
by the shared job board (``serve_app._private.jobs``); results and reports by job id."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from serve_app._private import versioning
from serve_app._private.backend import Backend
from serve_app._private.deps import BackendDep, JobKey, ReadKey
from serve_app._private.job_inputs import allowed_checkpoint, allowed_data
from serve_app.exceptions import Conflict, NotFound, ServiceUnavailable, Unprocessable
from serve_app.schema import BacktestIn, JobOut, OptimizeIn, TrainIn

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("/backtest", response_model=JobOut, status_code=202)
async def submit_backtest(backend: BackendDep, _: JobKey, body: BacktestIn) -> JobOut:
    """Start a backtest as a Ray task (1 CPU); follow it at the returned URLs. Built-in
    strategies only: the API imports no file or module a request names. ``data`` is a
    bundled set or a file under the job data directory; a ``checkpoint`` parameter
    (rl_policy) a folder under the job checkpoint directory."""
    from sigmax.strategies import is_user_spec, strategy_names

    if is_user_spec(body.strategy):
        raise Unprocessable(
            f"strategy {body.strategy!r}: user strategies (PATH.py:ClassName, "
            "module:ClassName) run from the command line only (sigmax backtest, "
            f"python -m sigmax.jobs.backtest); the API runs {', '.join(strategy_names())}"
        )
    if body.strategy not in strategy_names():
        raise Unprocessable(
            f"unknown strategy {body.strategy!r}; choose one of {', '.join(strategy_names())}"
        )
    params = body.model_dump()
    params["data"] = allowed_data(body.data, backend.config.data_dir())
    if "checkpoint" in body.params:
        checkpoint_dir = backend.config.checkpoint_dir()
        params["params"]["checkpoint"] = allowed_checkpoint(
            body.params["checkpoint"], checkpoint_dir
        )
    return await _submit(backend, "backtest", params)


@router.get("", response_model=list[JobOut])
async def jobs(backend: BackendDep, _: ReadKey) -> list[JobOut]:
    return [_job_out(j) for j in await backend.call(await _board(backend), "list")]


@router.get("/{job_id}", response_model=JobOut)
async def job_status(backend: BackendDep, _: ReadKey, job_id: JobId) -> JobOut:
    return _job_out((await _job(backend, job_id))[1])


@router.get("/{job_id}/result", response_model=dict[str, Any])
async def job_result(backend: BackendDep, _: ReadKey, job_id: JobId) -> dict[str, Any]:
    """The backtest's JSON report (metrics, trades, meta)."""
    result: dict[str, Any] = await _job_part(backend, job_id, "document")
    return result


@router.get(
    "/{job_id}/report",
    response_model=None,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def job_report(backend: BackendDep, _: ReadKey, job_id: JobId) -> HTMLResponse:
    """The backtest's HTML report."""
    return HTMLResponse(await _job_part(backend, job_id, "report_html"))


@router.post("/optimize", response_model=JobOut, status_code=202)
async def submit_optimisation(backend: BackendDep, _: JobKey, body: OptimizeIn) -> JobOut:
    """Start a portfolio optimisation (exact, QAOA or VQE) through the optimiser actor."""
    params = body.model_dump()
    params["assets"] = tuple(params["assets"])
    return await _submit(backend, "optimize", params)


@router.post("/train", response_model=JobOut, status_code=202)
async def submit_training(backend: BackendDep, _: JobKey, body: TrainIn) -> JobOut:
    """Start PPO training (RLlib) as a Ray task; the result lists its checkpoints."""
    params = {
        "env": {
            "data": allowed_data(body.data, backend.config.data_dir()),
            "continuous": body.continuous,
        },
        "train": {"iterations": body.iterations, "env_runners": body.env_runners},
    }
    return await _submit(backend, "train", params)


def _job_out(job: dict[str, Any]) -> JobOut:
    base = f"{versioning.PREFIX}/jobs/{job['job_id']}"
    return JobOut(**job, result_url=f"{base}/result", report_url=f"{base}/report")


async def _board(backend: Backend) -> Any:
    if not backend.ray_ready():
        raise ServiceUnavailable("jobs run on Ray: start the API under Ray Serve (serve run)")
    from serve_app._private.jobs import board

    return await asyncio.to_thread(board)


async def _submit(backend: Backend, kind: str, params: dict[str, Any]) -> JobOut:
    return _job_out(await backend.call(await _board(backend), "submit", kind, params))


async def _job(backend: Backend, job_id: str) -> tuple[Any, dict[str, Any]]:
    board = await _board(backend)
    job = await backend.call(board, "status", job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found (the board keeps the last 100 jobs)")
    return board, job


async def _job_part(backend: Backend, job_id: str, part: str) -> Any:
    board, job = await _job(backend, job_id)
    if job["status"] == "running":
        raise Conflict(f"job {job_id} is still running")
    if job["status"] == "failed":
        raise Conflict(f"job {job_id} failed: {job['error']}")
    return await backend.call(board, "result", job_id, part)
