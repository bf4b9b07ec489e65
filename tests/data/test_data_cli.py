"""The ``sigmax data`` typer app, driven through CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sigmax.cli import data_commands
from sigmax.cli.data_commands import app
from sigmax.data import load_bars

runner = CliRunner()


def test_list_shows_every_bundled_set() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("BTC-USD-1h", "bitstamp-LTC-USD-1d", "EOS-USD-30m"):
        assert name in result.output


def test_validate_good_source_prints_summary() -> None:
    result = runner.invoke(app, ["validate", "bundled:BTC-USD-1d"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "1782" in result.output and "BTC/USD" in result.output


def test_validate_bad_file_exits_1_with_the_reason(fixtures: Path) -> None:
    path = str(fixtures / "coinbase_d_gap.csv")
    result = runner.invoke(app, ["validate", path], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert "line 53: gap of 12 missing 1d bar(s)" in result.output
    repaired = runner.invoke(app, ["validate", path, "--fill-gaps"], env={"COLUMNS": "200"})
    assert repaired.exit_code == 0 and "112" in repaired.output


def test_resample_writes_parquet(tmp_path: Path) -> None:
    out = tmp_path / "eth-1d.parquet"
    result = runner.invoke(
        app, ["resample", "bundled:ETH-USD-30m", "--timeframe", "1d", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    series = load_bars(str(out))
    assert (series.symbol, series.timeframe, len(series)) == ("ETH/USD", "1d", 730)


def test_download_passes_options_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[object, ...]] = []

    def record(*args: object, **kwargs: object) -> object:
        calls.append((*args, kwargs))
        raise data_commands.DataError("binance: no market 'BTC/XYZ'")

    monkeypatch.setattr(data_commands, "download_ohlcv", record)
    out = tmp_path / "x.parquet"
    result = runner.invoke(
        app,
        [
            "download",
            "--exchange",
            "binance",
            "--symbol",
            "BTC/XYZ",
            "--timeframe",
            "1h",
            "--since",
            "2024-01-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1 and "no market 'BTC/XYZ'" in result.output
    assert calls == [("binance", "BTC/XYZ", "1h", "2024-01-01", out, {"until": None})]
