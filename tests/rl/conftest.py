"""Fixtures of the RL tests: a small env config on the bundled candles."""

from __future__ import annotations

import numpy as np
import pytest

from sigmax.data import load_bars
from sigmax.model import BarSeries


@pytest.fixture(scope="session")
def btc() -> BarSeries:
    return load_bars("bundled:BTC-USD-1h")


def make_bars(open_: list[float], close: list[float]) -> BarSeries:
    """A hand-made series (hourly); high/low bracket open and close."""
    o, c = np.array(open_, dtype=np.float64), np.array(close, dtype=np.float64)
    ts = np.arange(len(o), dtype=np.int64) * 3_600_000_000_000 + 1_600_000_000_000_000_000
    return BarSeries(
        "TEST/USD",
        "1h",
        ts,
        o,
        np.maximum(o, c) * 1.01,
        np.minimum(o, c) * 0.99,
        c,
        np.ones(len(o)),
    )
