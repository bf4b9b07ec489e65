"""The README's main job, `sigmax paper` of a portfolio, end to end in its own process
and Ray; and what it refuses before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sigmax.cli import app


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
            "--data",
            "bundled:BTC-USD-1h",
            "--symbol",
            "BTC/USD",
            "--data",
            "bundled:ETH-USD-30m",
            "--symbol",
            "ETH/USD",
            "--timeframe",
            "1h",
            "--start",
            "7150",  # both symbols change target in these 60 bars at the 4h cadence
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
    assert doc["meta"]["bars"] == 60 and doc["meta"]["decisions"] == 120  # 2 symbols
    assert len(doc["equity"]) == 60  # the account's, one point per step
    assert doc["portfolio"]["fills"] == len(doc["trades"]) > 0
    assert set(doc["symbols"]) == {"BTC/USD", "ETH/USD"}
    assert {t["symbol"] for t in doc["trades"]} <= {"BTC/USD", "ETH/USD"}
    assert "per symbol" in done.stdout
    assert "plotly" in report.read_text()
    assert (tmp_path / "home" / "postgres").is_dir()  # persisted in the embedded server


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--data", "bundled:BTC-USD-1h", "--data", "bundled:ETH-USD-30m"], "--symbol 0 times"),
        (
            ["--data", "bundled:ETH-USD-30m", "--symbol", "ETH/USD"] * 2,
            "given twice: ETH/USD",
        ),
        (["--data", "bundled:BTC-USD-1h", "--timeframe", "30m"], "bundled:BTC-USD-1h"),
        (["--reoptimise-every", "5"], "two or more --data/--symbol pairs"),
    ],
)
def test_sigmax_paper_refuses_legs_it_cannot_trade(args: list[str], words: str) -> None:
    """Mismatched counts, a symbol twice, a timeframe finer than the data: refused with
    a clear error before Ray or PostgreSQL start (in this process: the refusal is the
    command's own, the process around it is shown by the test above)."""
    done = CliRunner().invoke(app, ["paper", *args, "--no-dashboard"])
    assert done.exit_code == 2, done.output
    message = " ".join(done.output.split())
    assert words in message, message
    assert "Ray" not in done.stdout
