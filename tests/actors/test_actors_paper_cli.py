"""The README's main job, `sigmax paper`, end to end in its own process and Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_sigmax_paper_runs_a_session_and_reports(tmp_path: Path) -> None:
    sigmax = Path(sys.executable).parent / "sigmax"
    env = {
        **os.environ,
        "SIGMAX_HOME": str(tmp_path / "home"),
        "RAY_AUTH_MODE": "disabled",
        "RAY_ADDRESS": "",
    }
    env.pop("SIGMAX_POSTGRES_DSN", None)
    out, report = tmp_path / "paper.json", tmp_path / "paper.html"
    done = subprocess.run(
        [
            str(sigmax),
            "paper",
            "--start",
            "6050",
            "--bars",
            "60",
            "--num-cpus",
            "2",
            "--no-dashboard",
            "--json",
            str(out),
            "--report",
            str(report),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for label in ("decisions", "orders", "fills", "realized_pnl", "risk state"):
        assert label in done.stdout
    doc = json.loads(out.read_text())
    assert doc["meta"]["bars"] == 60 and doc["meta"]["decisions"] == 60
    assert len(doc["equity"]) == 60
    assert doc["portfolio"]["fills"] == len(doc["trades"]) > 0
    assert "plotly" in report.read_text()
    assert (tmp_path / "home" / "postgres").is_dir()  # persisted in the embedded server
