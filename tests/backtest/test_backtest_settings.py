"""``sigmax backtest`` (and its Ray job) takes its engine defaults from ``Settings.backtest``
(``SIGMAX_BACKTEST__*``); its flags override them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sigmax.cli import app
from sigmax.config import get_settings
from sigmax.jobs.backtest import main as backtest_job

runner = CliRunner()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """``get_settings()`` reads the environment the test sets (and forgets it after)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def data(btc_1h_small: Any, tmp_path: Path) -> Path:
    path = tmp_path / "btc.csv"
    btc_1h_small[:1500].to_frame().reset_index().to_csv(path, index=False)
    return path


def _backtest(data: Path, out: Path, *flags: str) -> dict[str, Any]:
    args = ["--data", str(data), "--strategy", "sma_cross", "--param", "size=0.3"]
    result = runner.invoke(app, ["backtest", *args, "--json", str(out), *flags])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def test_cash_and_lot_size_come_from_the_settings(
    fresh_settings: None, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_BACKTEST__CASH", "25000")
    monkeypatch.setenv("SIGMAX_BACKTEST__QTY_STEP", "0.01")
    doc = _backtest(data, tmp_path / "out.json")
    assert doc["meta"]["cash"] == "25000"
    assert doc["equity"][0]["value"] == pytest.approx(25_000)
    assert doc["trades"]
    for trade in doc["trades"]:
        assert Decimal(str(trade["qty"])) % Decimal("0.01") == 0, trade


def test_the_cash_flag_overrides_the_settings(
    fresh_settings: None, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_BACKTEST__CASH", "25000")
    doc = _backtest(data, tmp_path / "out.json", "--cash", "5000")
    assert doc["meta"]["cash"] == "5000"


def test_without_settings_the_engine_defaults_apply(
    fresh_settings: None, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIGMAX_BACKTEST__CASH", raising=False)
    assert _backtest(data, tmp_path / "out.json")["meta"]["cash"] == "10000"


def test_the_ray_job_reads_the_same_settings(
    fresh_settings: None, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a plain backtest runs in-process
    monkeypatch.setenv("SIGMAX_BACKTEST__CASH", "25000")
    out = tmp_path / "job.json"
    args = ["--data", str(data), "--strategy", "sma_cross", "--json", str(out)]
    assert backtest_job(args) == 0
    assert json.loads(out.read_text())["meta"]["cash"] == "25000"
