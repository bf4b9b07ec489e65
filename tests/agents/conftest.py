"""Shared fixtures of the agents tests: 1,500 real hourly BTC-USD bars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigmax.model import BarSeries

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "btcusd_1h_2018q1.csv"


def load_fixture_bars() -> BarSeries:
    frame = pd.read_csv(FIXTURE, comment="#", parse_dates=["ts"]).set_index("ts")
    return BarSeries.from_frame(frame, "BTC/USD", "1h")


@pytest.fixture(scope="session")
def bars() -> BarSeries:
    series = load_fixture_bars()
    assert len(series) == 1500 and np.all(np.diff(series.ts) > 0)
    return series


def _synthetic_bars(close: np.ndarray, volume: float = 10.0) -> BarSeries:
    """Synthetic hourly bars around the given closes (high/low 0.5 % away)."""
    n = close.shape[0]
    ts = np.arange(n, dtype=np.int64) * 3_600_000_000_000
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) * 1.005
    low = np.minimum(open_, close) * 0.995
    return BarSeries("TEST/USD", "1h", ts, open_, high, low, close, np.full(n, volume))


@pytest.fixture(scope="session")
def make_bars() -> Callable[..., BarSeries]:
    """Factory of synthetic bars from a close array."""
    return _synthetic_bars
