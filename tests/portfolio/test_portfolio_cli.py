"""``sigmax optimize`` and ``python -m sigmax.jobs.optimize``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sigmax.cli import app
from sigmax.jobs.optimize import main as job_main

runner = CliRunner()


def test_cli_writes_json_and_report(tmp_path: Path) -> None:
    out, html = tmp_path / "opt.json", tmp_path / "opt.html"
    result = runner.invoke(
        app,
        ["optimize", "--assets", "BTC,ETH,LTC,XRP,EOS", "--budget", "3",
         "--risk-aversion", "1.0", "--solver", "qaoa", "--json", str(out),
         "--report", str(html)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["solver"] == "qaoa"
    assert set(doc["weights"]) == {"BTC", "ETH", "LTC", "XRP", "EOS"}
    assert abs(sum(doc["weights"].values()) - 1.0) < 1e-9
    assert doc["gap"] == 0.0
    assert doc["quantum"]["qasm"].startswith("OPENQASM 3")
    assert doc["quantum"]["relative_gap"] == 0.0
    page = html.read_text()
    assert "<pre>" in page and "plotly" in page.lower() and "Weights" in page


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", "--assets", "BTC,ETH", "--budget", "3"])
    assert result.exit_code == 2
    assert "budget 3 exceeds" in result.output
    result = runner.invoke(app, ["optimize", "--assets", "BTC,DOGE", "--budget", "1"])
    assert result.exit_code == 2 and "DOGE" in result.output


def test_job_module_reuses_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = tmp_path / "job.json"
    code = job_main(["--assets", "BTC,ETH,LTC", "--budget", "2", "--solver", "classical",
                     "--json", str(out)])  # fmt: skip
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["solver"] == "classical-exhaustive" and len(doc["selection"]) == 2
    assert job_main(["--budget", "0"]) == 2
