"""A backtest started as the API's job gives exactly what ``sigmax backtest`` gives."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from serve_app.schema import BacktestIn
from sigmax.cli import app


def _cli_document(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "cli.json"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--data",
            "bundled:BTC-USD-1h",
            "--strategy",
            "sma_cross",
            "--no-progress",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def _job_document(board: Any, params: dict[str, Any]) -> dict[str, Any]:
    import ray

    job = ray.get(board.submit.remote("backtest", params))
    deadline = time.monotonic() + 300
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        job = ray.get(board.status.remote(job["job_id"]))
    assert job["status"] == "succeeded", job
    document: dict[str, Any] = ray.get(board.result.remote(job["job_id"], "document"))
    return document


def test_api_backtest_job_equals_the_cli_backtest(ray_cluster: Any, tmp_path: Path) -> None:
    from serve_app._private.jobs import board

    params = BacktestIn(data="bundled:BTC-USD-1h", strategy="sma_cross").model_dump()
    handle = board()
    try:
        job = _job_document(handle, params)
    finally:
        ray_cluster.kill(handle)  # the board is detached: leave no actor behind
    cli = _cli_document(tmp_path)
    assert len(job["trades"]) == len(cli["trades"])
    assert job["trades"] == cli["trades"]
    assert job["metrics"]["final_equity"] == cli["metrics"]["final_equity"]
    assert job["risk"] == cli["risk"]
