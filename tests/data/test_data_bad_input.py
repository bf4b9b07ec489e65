"""Each kind of bad data gives a DataError naming the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sigmax.data import DataError, load_bars, load_bars_report

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD_ROWS = [
    "2024-01-01 00:00,100,110,95,105,1.5",
    "2024-01-01 01:00,105,112,101,108,2.0",
    "2024-01-01 02:00,108,109,100,102,0.5",
    "2024-01-01 03:00,102,106,99,104,3.0",
]


def write(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "bars.csv") -> str:
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n")
    return str(path)


def with_row(index: int, row: str) -> list[str]:
    rows = list(GOOD_ROWS)
    rows[index] = row
    return rows


def test_good_file_loads(tmp_path: Path) -> None:
    series = load_bars(write(tmp_path, GOOD_ROWS), "BTC/USDT")
    assert series.symbol == "BTC/USDT" and series.timeframe == "1h" and len(series) == 4
    np.testing.assert_array_equal(series.close, [105, 108, 102, 104])


@pytest.mark.parametrize(
    ("rows", "pattern"),
    [
        (
            with_row(2, "2024-01-01 01:00,108,109,100,102,0.5"),
            r"line 4: duplicate timestamp 2024-01-01 01:00, already at line 3",
        ),
        (
            [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[1], GOOD_ROWS[3]],
            r"line 4: timestamp 2024-01-01 01:00 is out of order",
        ),
        (
            [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[3]],
            r"line 4: gap of 1 missing 1h bar.*fill_gaps=True \(CLI: --fill-gaps\)",
        ),
        (
            with_row(1, "2024-01-01 01:00,105,,101,108,2.0"),
            r"line 3: empty or NaN cell in column 'high'",
        ),
        (
            with_row(1, "2024-01-01 01:00,105,112,NaN,108,2.0"),
            r"line 3: empty or NaN cell in column 'low'",
        ),
        (
            with_row(2, "2024-01-01 02:00,108,109,100,1o2,0.5"),
            r"line 4: close '1o2' is not a finite number",
        ),
        (with_row(3, "2024-01-01 03:00,0,106,99,104,3.0"), r"line 5: non-positive price"),
        (with_row(3, "2024-01-01 03:00,102,106,99,104,-3.0"), r"line 5: negative volume"),
        (with_row(1, "2024-01-01 01:00,105,100,101,100.5,2.0"), r"line 3: high is below low"),
        (
            with_row(1, "2024-01-01 01:00,105,112,101,113,2.0"),
            r"line 3: high is below open or close",
        ),
        (
            with_row(1, "2024-01-01 01:00,105,112,106,108,2.0"),
            r"line 3: low is above open or close",
        ),
        (
            with_row(2, "2024-01-01 2am,108,109,100,102,0.5"),
            r"line 4: timestamp '2024-01-01 2am' cannot be parsed",
        ),
        (
            with_row(2, "2024-01-01 02:20,108,109,100,102,0.5"),
            r"line 4: timestamp 2024-01-01 02:20 is not a whole number of 1h bars",
        ),
    ],
    ids=[
        "duplicate",
        "out-of-order",
        "gap",
        "empty-cell",
        "nan-cell",
        "bad-number",
        "non-positive",
        "negative-volume",
        "high-below-low",
        "high-below-close",
        "low-above-open",
        "bad-timestamp",
        "off-grid",
    ],
)
def test_bad_row_is_named(tmp_path: Path, rows: list[str], pattern: str) -> None:
    path = write(tmp_path, rows)
    with pytest.raises(DataError, match=rf"^{tmp_path}/bars\.csv: {pattern}"):
        load_bars(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path, [r.rsplit(",", 1)[0] for r in GOOD_ROWS], header="timestamp,open,high,low,close\n"
    )
    with pytest.raises(DataError, match=r"bars\.csv: line 1: missing column\(s\) volume"):
        load_bars(path)


def test_missing_time_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS, header="when,open,high,low,close,volume\n")
    with pytest.raises(DataError, match=r"line 1: missing timestamp column"):
        load_bars(path)


def test_comment_line_shifts_reported_line_numbers(tmp_path: Path) -> None:
    rows = with_row(1, "2024-01-01 01:00,105,112,101,113,2.0")
    path = write(tmp_path, rows, header="# exported by hand\n" + HEADER)
    with pytest.raises(DataError, match=r"line 4: high is below open or close"):
        load_bars(path)


def test_newest_first_is_reversed_not_rejected(tmp_path: Path) -> None:
    report = load_bars_report(write(tmp_path, GOOD_ROWS[::-1]))
    assert report.reversed
    np.testing.assert_array_equal(report.series.close, [105, 108, 102, 104])


def test_fill_gaps_inserts_flat_bars_at_previous_close(tmp_path: Path) -> None:
    rows = [
        GOOD_ROWS[0],
        "2024-01-01 03:00,102,106,99,104,3.0",
        "2024-01-01 04:00,104,105,103,104,1",
    ]
    report = load_bars_report(write(tmp_path, rows), timeframe="1h", fill_gaps=True)
    series = report.series
    assert report.gaps_filled == 2 and len(series) == 5
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(series, name)[1:3], [105.0, 105.0])
    np.testing.assert_array_equal(series.volume, [1.5, 0.0, 0.0, 3.0, 1.0])


def test_given_timeframe_is_checked_against_the_data(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROWS)
    four_hour = load_bars(path, timeframe="4h")
    assert four_hour.timeframe == "4h" and len(four_hour) == 1
    assert (
        four_hour.open[0],
        four_hour.high[0],
        four_hour.low[0],
        four_hour.close[0],
        four_hour.volume[0],
    ) == (100, 112, 95, 104, 7.0)
    with pytest.raises(DataError, match=r"90m is not a whole multiple of 1h"):
        load_bars(path, timeframe="90m")
    with pytest.raises(DataError, match=r"holds 1h bars; cannot give the finer 30m"):
        load_bars(path, timeframe="30m")


def test_symbol_column_must_match_the_requested_symbol(tmp_path: Path) -> None:
    header = "date,symbol,open,high,low,close,volume\n"
    rows = [f"{r.split(',', 1)[0]},ETHUSD,{r.split(',', 1)[1]}" for r in GOOD_ROWS]
    path = write(tmp_path, rows, header=header)
    assert load_bars(path, "eth-usd").symbol == "ETH/USD"
    with pytest.raises(DataError, match="holds ETH/USD, not the requested BTC/USD"):
        load_bars(path, "BTCUSD")


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_bars(str(tmp_path / "absent.csv"))
    (tmp_path / "bars.txt").write_text(HEADER)
    with pytest.raises(DataError, match="unsupported file type"):
        load_bars(str(tmp_path / "bars.txt"))


def test_epoch_millisecond_timestamps(tmp_path: Path) -> None:
    rows = [
        f"{1704067200000 + i * 3_600_000},{r.split(',', 1)[1]}" for i, r in enumerate(GOOD_ROWS)
    ]
    series = load_bars(write(tmp_path, rows, name="BTC-USDT-1h.csv"))
    assert series.symbol == "BTC/USDT" and str(series.bar(0).ts) == "2024-01-01 00:00:00+00:00"
