"""The session endpoints against a paper session of two symbols: the book is marked at
every symbol's last close, an operator's order is placed in its own symbol's market,
analysis finds the symbol asked for (and says sma_cross has no decision graph to run),
and panic flattens every symbol."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from actors.system import PaperRequest, TradingSystem, run_paper, start_system
from serve_app.api import create_app
from sigmax.client import SigmaxAPIError, SigmaxClient
from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, client_for, unique_config

pytestmark = pytest.mark.slow

LEGS = (("bundled:ETH-USD-30m", "ETH/USD"), ("bundled:LTC-USD-30m", "LTC/USD"))


@pytest.fixture(scope="module")
def system(ray_cluster: Any, api_settings: Settings) -> Iterator[tuple[str, TradingSystem]]:
    sid = f"api-pf-{uuid.uuid4().hex[:8]}"
    request = PaperRequest(
        legs=LEGS,
        timeframe="1h",
        start=3_000,
        bars=15,
        session_id=sid,
        persist=True,
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.5"},
    )
    trading = start_system(api_settings, request)
    try:
        reports = run_paper(trading, request)
        assert len(reports) == 30
        yield sid, trading
    finally:
        trading.shutdown()


@pytest.fixture(scope="module")
def trader(
    system: tuple[str, TradingSystem], api_settings: Settings, make_key: KeyMaker
) -> Iterator[SigmaxClient]:
    config = unique_config(session_id=system[0], rate_trading=100, rate_analysis=100)
    with TestClient(create_app(api_settings, config)) as http:
        yield client_for(http, make_key(["trade", "admin"], "portfolio-trader"))


def test_the_book_is_marked_at_every_symbols_last_close(trader: SigmaxClient) -> None:
    book = trader.portfolio()
    assert set(book["prices"]) == {"ETH/USD", "LTC/USD"}
    held = {s: Decimal(q) for s, q in book["positions"].items() if Decimal(q) != 0}
    assert held, "the strategy held nothing: a weak test"
    marked = sum((q * Decimal(book["prices"][s]) for s, q in held.items()), Decimal(0))
    assert Decimal(book["equity"]) == Decimal(book["cash"]) + marked


def test_an_operators_order_trades_in_its_own_symbols_market(trader: SigmaxClient) -> None:
    cid = f"op-{uuid.uuid4().hex[:8]}"
    result = trader.submit_order(cid, "LTC/USD", "buy", "0.1")
    assert result["approved"], result
    assert trader.order(cid)["symbol"] == "LTC/USD"


def test_analysis_finds_the_symbol_asked_for_and_needs_the_agent_graph(
    trader: SigmaxClient,
) -> None:
    with pytest.raises(SigmaxAPIError) as unknown:
        trader.analyze("BTC-USD")
    assert unknown.value.status_code == 404
    assert "ETH/USD, LTC/USD" in unknown.value.detail
    # LTC/USD is found, but sma_cross runs no decision graph to analyze with
    with pytest.raises(SigmaxAPIError) as no_graph:
        trader.analyze("LTC-USD")
    assert no_graph.value.status_code == 409
    assert "runs no decision graph" in no_graph.value.detail


def test_panic_flattens_every_symbol(trader: SigmaxClient) -> None:
    held = {s for s, q in trader.portfolio()["positions"].items() if Decimal(q) != 0}
    result = trader.control("panic", reason="portfolio test")
    assert {o["symbol"] for o in result["sent"]} == held  # one close for each
