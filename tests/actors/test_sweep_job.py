"""The Ray job entry point ``python -m sigmax.jobs.backtest``, in-process.

Submitted with ``ray job submit``, as docs/JOBS.md says (the paper job too):
tests/ops/test_ops_jobs_doc.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sigmax.data import load_bars
from sigmax.jobs.backtest import connect, main


@pytest.fixture(scope="module")
def csv_bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 real hourly BTC/USD bars as a CSV file."""
    bars = load_bars("bundled:BTC-USD-1h", "BTC/USD", "1h")[:2000]
    path = tmp_path_factory.mktemp("job") / "btc.csv"
    bars.to_frame().reset_index().to_csv(path, index=False)
    return path


def _args(data: Path, *extra: str) -> list[str]:
    return ["--data", str(data), "--symbol", "BTC/USD", "--timeframe", "1h",
            "--strategy", "sma_cross", "--param", "size=0.3", "--no-progress", *extra]  # fmt: skip


def test_job_main_runs_a_sweep_on_the_clusters_ray(
    ray_cluster: Any, csv_bars: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert connect() is False  # already connected: the job reuses this Ray
    out, page = tmp_path / "sweep.json", tmp_path / "sweep.html"
    code = main(
        _args(csv_bars, "--sweep", "fast=5,10", "--sweep", "slow=30,60", "--select-by",
              "total_return", "--json", str(out), "--report", str(page))
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "grid" and doc["meta"]["executor"] == "ray"
    assert sorted((r["params"]["fast"], r["params"]["slow"]) for r in doc["runs"]) == [
        ("10", "30"), ("10", "60"), ("5", "30"), ("5", "60"),
    ]  # fmt: skip
    best = max(doc["runs"], key=lambda r: r["metrics"]["total_return"])
    assert doc["best"]["params"] == best["params"]
    assert page.read_text().startswith("<!doctype html>")


def test_job_main_walk_forward_and_exit_codes(
    ray_cluster: Any, csv_bars: Path, tmp_path: Path
) -> None:
    out = tmp_path / "wf.json"
    code = main(_args(csv_bars, "--sweep", "fast=5,40", "--sweep", "slow=20,60",
                      "--walk-forward", "2", "--json", str(out)))  # fmt: skip
    assert code == 1  # fast=40 slow=20 fails in every train window: reported, exit 1
    doc = json.loads(out.read_text())
    assert doc["kind"] == "walk_forward" and len(doc["folds"]) == 2
    assert {f["fold"] for f in doc["failures"]} == {0, 1}
    assert all(f["params"]["fast"] == "40" and f["params"]["slow"] == "20" for f in doc["failures"])
    assert main(_args(csv_bars, "--sweep", "fast=5,5")) == 2  # bad grid: clear error, no run
    assert main(_args(csv_bars, "--sweep", "fast=5", "--select-by", "sharp")) == 2


def test_job_main_without_sweep_is_the_plain_backtest(csv_bars: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    assert main(_args(csv_bars, "--param", "fast=5", "--param", "slow=30", "--json", str(out))) == 0
    doc = json.loads(out.read_text())
    assert {"metrics", "trades", "equity"} <= doc.keys()
    assert doc["meta"]["params"]["fast"] == 5
