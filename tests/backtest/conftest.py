"""Shared fixtures of the backtest tests: real bundled candles, cut small."""

from __future__ import annotations

import pytest

from sigmax.data import load_bars
from sigmax.model import BarSeries


@pytest.fixture(scope="session")
def btc_1h() -> BarSeries:
    """The bundled Coinbase BTC/USD hourly candles (20,111 real bars)."""
    return load_bars("bundled:BTC-USD-1h", "BTC/USD", "1h")


@pytest.fixture(scope="session")
def btc_1h_small(btc_1h: BarSeries) -> BarSeries:
    """3,000 real hourly bars: enough for every agent's warm-up and some trades."""
    return btc_1h[:3000]
