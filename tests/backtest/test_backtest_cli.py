"""The ``sigmax backtest`` command-line contract."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from sigmax.cli import app
from sigmax.storage.embedded_postgres import stop_embedded_postgres
from sigmax.storage.postgres_config import PostgresConfig

runner = CliRunner()


def _csv(bars, path: Path) -> Path:
    bars.to_frame().reset_index().to_csv(path, index=False)
    return path


def test_contract_flags_write_json_and_html(btc_1h_small, tmp_path: Path) -> None:
    data = _csv(btc_1h_small[:1500], tmp_path / "btc.csv")
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "backtest",
            "--data",
            str(data),
            "--symbol",
            "BTC/USD",
            "--timeframe",
            "1h",
            "--strategy",
            "sma_cross",
            "--param",
            "fast=5",
            "--param",
            "slow=20",
            "--param",
            "size=0.2",
            "--cash",
            "10000",
            "--fee-bps",
            "10",
            "--slippage-bps",
            "0",
            "--json",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert {"metrics", "trades", "equity"} <= doc.keys()
    for key in (
        "total_return",
        "cagr",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "max_drawdown_duration_bars",
        "win_rate",
        "profit_factor",
        "exposure",
        "turnover",
        "fees_paid",
        "buy_and_hold",
    ):
        assert key in doc["metrics"], key
    trade = doc["trades"][0]
    assert {"ts", "side", "qty", "price", "fee"} <= trade.keys()
    assert (
        trade["fee"] == trade["qty"] * trade["price"] * 10 / 10_000
        or abs(trade["fee"] - trade["qty"] * trade["price"] * 0.001) < 1e-9
    )
    assert len(doc["equity"]) == 1500 and {"ts", "value"} == doc["equity"][0].keys()
    assert pd.Timestamp(doc["equity"][0]["ts"]) == pd.Timestamp(btc_1h_small.bar(0).ts)
    page = report.read_text()
    assert "plotly" in page and "Drawdown" in page and "buy &amp; hold" in page
    assert "sharpe" in result.output


def test_unknown_param_is_a_clear_error(btc_1h_small, tmp_path: Path) -> None:
    data = _csv(btc_1h_small[:300], tmp_path / "btc.csv")
    result = runner.invoke(
        app, ["backtest", "--data", str(data), "--strategy", "sma_cross", "--param", "fats=3"]
    )
    assert result.exit_code == 2
    assert "fats" in result.output


def test_unknown_strategy_lists_the_known_ones(tmp_path: Path, btc_1h_small) -> None:
    data = _csv(btc_1h_small[:300], tmp_path / "btc.csv")
    result = runner.invoke(app, ["backtest", "--data", str(data), "--strategy", "nope"])
    assert result.exit_code == 2
    assert "sma_cross" in result.output and "sigmax" in result.output


def test_bad_data_file_names_file_and_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ts,open,high,low,close,volume\n"
        "2024-01-01 00:00:00,10,11,9,10,1\n"
        "2024-01-01 01:00:00,10,9,11,10,1\n"
    )
    result = runner.invoke(app, ["backtest", "--data", str(bad), "--strategy", "sma_cross"])
    assert result.exit_code == 2
    assert "bad.csv" in result.output and "3" in result.output


def test_risk_override_trips_the_drawdown_breaker(btc_1h_small, tmp_path: Path) -> None:
    data = _csv(btc_1h_small, tmp_path / "btc.csv")
    out = tmp_path / "out.json"
    result = runner.invoke(
        app,
        [
            "backtest",
            "--data",
            str(data),
            "--strategy",
            "sma_cross",
            "--param",
            "size=2",
            "--risk",
            "max_drawdown_pct=0.02",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["risk"]["state"] == "paused"
    assert "drawdown" in doc["risk"]["reason"]


def test_persist_flag_stores_the_run(btc_1h_small, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIGMAX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SIGMAX_POSTGRES_DSN", raising=False)
    monkeypatch.delenv("SIGMAX_CLICKHOUSE_URL", raising=False)
    data = _csv(btc_1h_small[:800], tmp_path / "btc.csv")
    result = runner.invoke(
        app,
        [
            "backtest",
            "--data",
            str(data),
            "--strategy",
            "sma_cross",
            "--param",
            "size=0.2",
            "--persist",
            "--run-id",
            "cli-run",
        ],
    )
    stop_embedded_postgres(PostgresConfig())  # this test's server, not left to atexit
    assert result.exit_code == 0, result.output
    assert "stored run cli-run: PostgreSQL" in result.output
    assert (tmp_path / "home" / "postgres").is_dir() and (tmp_path / "home" / "clickhouse").is_dir()
