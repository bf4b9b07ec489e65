"""The Ray job entry points ``python -m sigmax.jobs.backtest`` / ``.paper``: in-process and
submitted with ``ray job submit``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sigmax.data import load_bars
from sigmax.jobs.backtest import connect, main

REPO = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")


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


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_for_dashboard(url: str, head: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if head.poll() is not None:
            pytest.fail(f"ray start exited with {head.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/version", timeout=2):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the Ray dashboard at {url} did not come up:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_ray_job_submit_end_to_end(tmp_path: Path) -> None:
    """``ray start --head`` on free ports, ``ray job submit`` the sweep job, check its JSON."""
    gcs, dashboard, client, agent = _free_ports(4)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled",
           "PATH": f"{RAY.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    env.pop("RAY_ADDRESS", None)
    log = tmp_path / "head.log"
    # Its own short temp dir (unix socket paths are limited to ~107 bytes): `ray start`
    # records its address in TEMP/ray_current_cluster, and in the default /tmp/ray that
    # file would make every later plain ray.init() on this machine try to join it.
    temp_dir = tempfile.mkdtemp(prefix="sxray", dir="/tmp")
    url = f"http://127.0.0.1:{dashboard}"
    with log.open("w") as sink:
        # --block keeps the head in this one process: terminating it stops the whole
        # cluster it started (``ray stop`` would stop every Ray on the machine).
        head = subprocess.Popen(
            [str(RAY), "start", "--head", "--block", "--port", str(gcs), "--num-cpus", "2",
             "--include-dashboard=true", "--dashboard-host", "127.0.0.1",
             "--dashboard-port", str(dashboard), "--ray-client-server-port", str(client),
             "--dashboard-agent-listen-port", str(agent), "--disable-usage-stats",
             "--temp-dir", temp_dir],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_for_dashboard(url, head, log)
        out = tmp_path / "job.json"
        submit = subprocess.run(
            [str(RAY), "job", "submit", "--address", url, "--submission-id", "sigmax-e2e",
             "--runtime-env", "cluster/runtime_env.yaml", "--",
             "python", "-m", "sigmax.jobs.backtest", "--data", "bundled:BTC-USD-1h",
             "--timeframe", "1d", "--strategy", "sma_cross", "--param", "size=0.5",
             "--sweep", "fast=5,10", "--sweep", "slow=20,40", "--no-progress",
             "--json", str(out)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
        from ray.job_submission import JobStatus, JobSubmissionClient

        assert JobSubmissionClient(url).get_job_status("sigmax-e2e") == JobStatus.SUCCEEDED
        doc = json.loads(out.read_text())
        assert doc["kind"] == "grid" and doc["meta"]["executor"] == "ray"
        assert doc["meta"]["timeframe"] == "1d" and len(doc["runs"]) == 4
        assert not doc["failures"] and doc["best"]["status"] == "ok"

        paper_out = tmp_path / "paper.json"
        paper = subprocess.run(
            [str(RAY), "job", "submit", "--address", url, "--submission-id", "sigmax-paper",
             "--runtime-env", "cluster/runtime_env.yaml", "--",
             "python", "-m", "sigmax.jobs.paper", "--start", "6050", "--bars", "30",
             "--no-persist", "--session-id", "job-e2e", "--json", str(paper_out)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert paper.returncode == 0, paper.stdout[-3000:] + paper.stderr[-3000:]
        assert JobSubmissionClient(url).get_job_status("sigmax-paper") == JobStatus.SUCCEEDED
        paper_doc = json.loads(paper_out.read_text())
        assert paper_doc["meta"]["bars"] == 30 and paper_doc["meta"]["session"] == "job-e2e"
    finally:
        head.terminate()
        try:
            head.wait(timeout=90)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)
    default_file = Path("/tmp/ray/ray_current_cluster")
    assert not default_file.exists() or not default_file.read_text().endswith(f":{gcs}")
