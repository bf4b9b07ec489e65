"""POST /api/v1/sessions on a venue: the body's venue fields (venue, testnet, live,
adopt_venue_state) over the server's SIGMAX_VENUE__*, every refusal a 422 naming the
field before anything starts, and the session's view showing its venue. The live
session trades on the Binance spot simulator (a test double: Binance's REST API over
local HTTP, driven by the real ccxt client through the venue's base URL)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.execution import VenueConfig
from tests.doubles.binance_spot_simulator import BinanceSpotSimulatorDouble
from tests.execution.conftest import SIM_OPTIONS
from tests.serve.conftest import KeyMaker, unique_config

START = 2_000
LEGS = [
    {"data": "bundled:ETH-USD-30m", "symbol": "ETH/USD"},
    {"data": "bundled:LTC-USD-30m", "symbol": "LTC/USD"},
]


@pytest.fixture(autouse=True)
def no_exchange_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SIGMAX_EXCHANGE_", "SIGMAX_VENUE__")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def sim() -> Iterator[BinanceSpotSimulatorDouble]:
    with BinanceSpotSimulatorDouble(
        "bundled:ETH-USD-30m",
        more_sources=("bundled:LTC-USD-30m",),
        quote="USD",
        start_bar=START,
        bars=200,
        balances={"USD": Decimal(10_000)},
    ) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def http(
    ray_cluster: Any, api_settings: Settings, sim: BinanceSpotSimulatorDouble
) -> Iterator[TestClient]:
    """An API whose server settings point the exchange at the simulator (paper stays
    the default venue)."""
    venue = VenueConfig(
        base_url=sim.base_url, options=SIM_OPTIONS, network_retries=1, backoff_s=0.2
    )
    settings = api_settings.model_copy(update={"venue": venue})
    with TestClient(create_app(settings, unique_config())) as client:
        yield client


def _body(session_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": session_id,
        "legs": LEGS,
        "timeframe": "30m",
        "start": START,
        "bars": 6,
        "strategy": "sma_cross",
        "params": {"fast": "2", "slow": "4", "size": "0.5"},
    }
    return body | changes


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"venue": "binance"}, "venue", "expected paper, dry-run or ccxt:EXCHANGE"),
        ({"venue": 3}, "venue", "string"),
        ({"live": "yes please"}, "live", "boolean"),
        ({"live": True}, "live", "the venue is paper"),
        ({"venue": "dry-run", "live": True}, "live", "the venue is dry-run"),
        ({"testnet": True}, "testnet", "not to the paper venue"),
        ({"venue": "ccxt:binance"}, "live", "trades real money"),
        ({"venue": "ccxt:binance", "testnet": False}, "live", '"live": true'),
        (
            {"venue": "ccxt:binance", "testnet": True, "live": True},
            "venue",
            "contradict each other",
        ),
        (
            {"venue": "ccxt:binance", "testnet": True},
            "venue",
            "SIGMAX_EXCHANGE_BINANCE_API_KEY",
        ),
        ({"venue": "ccxt:binance", "live": True}, "venue", "needs exchange credentials"),
    ],
)
def test_a_venue_that_cannot_start_is_a_422_naming_the_field(
    http: TestClient, make_key: KeyMaker, changes: dict[str, Any], field: str, words: str
) -> None:
    trader = {"Authorization": f"Bearer {make_key(['trade'], 'venue-bad')}"}
    sid = f"venue-bad-{uuid.uuid4().hex[:8]}"
    refused = http.post("/api/v1/sessions", json=_body(sid, **changes), headers=trader)
    assert refused.status_code == 422, refused.text
    text = str(refused.json())  # the detail unescaped
    assert field in text and words in text, text
    listed = http.get("/api/v1/sessions", headers=trader.copy())
    assert listed.status_code in (200, 403)  # nothing started under that id
    from actors.session import session_ids

    assert sid not in session_ids()


def test_a_live_venue_needs_the_trade_scope(http: TestClient, make_key: KeyMaker) -> None:
    reader = {"Authorization": f"Bearer {make_key(['read'], 'venue-reader')}"}
    body = _body(f"venue-read-{uuid.uuid4().hex[:8]}", venue="ccxt:binance", live=True)
    assert http.post("/api/v1/sessions", json=body, headers=reader).status_code == 403


@pytest.mark.slow
def test_a_dry_run_session_shows_its_venue(http: TestClient, make_key: KeyMaker) -> None:
    """A dry run reads the exchange's (the simulator's) markets and sends nothing; no
    credentials are needed, so none are given."""
    trader = {"Authorization": f"Bearer {make_key(['trade', 'read'], 'venue-trader')}"}
    sid = f"venue-dry-{uuid.uuid4().hex[:8]}"
    body = _body(sid, venue="dry-run")
    started = http.post("/api/v1/sessions", json=body, headers=trader)
    assert started.status_code == 201, started.text
    assert started.json()["venue"] == {
        "kind": "dry-run",
        "testnet": False,
        "live": False,
        "dry_run": True,
        "exchange": None,
        "reconciliation": None,
    }
    deadline = time.monotonic() + 180
    url = f"/api/v1/sessions/{sid}"
    try:
        while (status := http.get(url, headers=trader).json())["state"] in (
            "starting",
            "running",
        ):
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        assert status["state"] == "finished", status["error"]
        assert status["bars"] == 12  # 6 steps of two symbols
        venue = status["venue"]  # as the session's execution actor describes it
        assert (venue["kind"], venue["dry_run"], venue["live"]) == ("dry-run", True, False)
    finally:
        http.post(f"{url}/stop", headers=trader)
