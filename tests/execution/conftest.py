"""Fixtures of the execution tests: the Binance spot simulator (a test double) and ccxt
venue settings that point the real ccxt client at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sigmax.execution import CcxtVenueConfig, ExchangeCredentials
from tests.doubles.binance_spot_simulator import API_KEY, SECRET, BinanceSpotSimulatorDouble

# spot only: no margin pairs, no currency list (its endpoint is outside the simulator)
SIM_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


class SimCredentials:
    """Hands out the simulator's key (or a wrong secret, to see the signature refused)."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret

    def get_exchange_credentials(self, exchange_id: str) -> ExchangeCredentials:
        assert exchange_id == "binance"
        return ExchangeCredentials(API_KEY, self.secret)


def sim_config(sim: BinanceSpotSimulatorDouble, **overrides: Any) -> CcxtVenueConfig:
    fields: dict[str, Any] = {
        "exchange_id": "binance",
        "sandbox": False,
        "base_url": sim.base_url,
        "options": SIM_OPTIONS,
        "timeout_ms": 1_000,
        "backoff_s": 0.5,
        "network_retries": 3,
    }
    return CcxtVenueConfig(**(fields | overrides))


@pytest.fixture
def sim() -> Iterator[BinanceSpotSimulatorDouble]:
    with BinanceSpotSimulatorDouble() as simulator:
        yield simulator
