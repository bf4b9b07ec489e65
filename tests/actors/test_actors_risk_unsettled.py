"""The calls a step sends the risk actor without waiting (equity marks, decisions,
market-data notes) fail the step when their save fails: a PostgreSQL outage short
enough to hit only them must not pass unnoticed, leaving the risk actor's memory
(and the decisions table) behind what the session acknowledged.

The risk actor reaches the shared PostgreSQL through a TCP proxy the test cuts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import ray

from actors.db_outage import database_error, trade_step
from actors.market_data import MarketDataActor
from actors.ports import RiskPort
from actors.risk import RiskActor
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.ledger import Ledger
from sigmax.risk import RiskConfig
from sigmax.strategies import make_strategy
from sigmax.trading.adapters import PaperVenue, StrategyDecider
from sigmax.trading.session import SessionConfig, TradingSession
from tests.actors.stored_books import proxied
from tests.actors.tcp_proxy import TcpProxy

DATA = "bundled:BTC-USD-1h"  # the module's PostgreSQL schema: tests/actors/conftest.py


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(("127.0.0.1", 5432))
    try:
        yield proxy
    finally:
        proxy.cut()


def _risk_actor(proxy: TcpProxy, schema: str) -> tuple[object, RiskPort]:
    pg = proxied(schema, proxy.port).model_copy(update={"pool_timeout": 2.0}).model_dump_json()
    account = f"unsettled-{uuid.uuid4().hex[:8]}"
    handle = RiskActor.remote(RiskConfig().model_dump_json(), account, pg)  # type: ignore[attr-defined]
    ray.get(handle.status.remote())  # restored (nothing yet) and its first snapshot stored
    return handle, RiskPort(handle, timeout_s=60)


def test_a_failed_save_in_a_call_sent_without_waiting_is_raised_by_settle(
    ray_cluster, schema: str, proxy: TcpProxy
) -> None:
    handle, port = _risk_actor(proxy, schema)
    try:
        proxy.cut()
        port.on_equity(1_700_000_000_000_000_000, 10_000.0)  # sent; its save fails
        with pytest.raises(Exception) as raised:
            port.settle()
        assert database_error(raised.value) is not None, raised.value
        proxy.restore()
        port.settle()  # settled: the failed call is not raised twice
        port.on_equity(1_700_000_003_600_000_000, 10_001.0)
        port.settle()  # the database is back: the next save goes through
    finally:
        ray.kill(handle)


def test_a_step_whose_risk_save_failed_fails_before_its_progress_is_stored(
    ray_cluster, schema: str, proxy: TcpProxy
) -> None:
    handle, port = _risk_actor(proxy, schema)
    market = MarketDataActor.remote([(DATA, "BTC/USD")], "1h", 6_030, 6_040, 30)  # type: ignore[attr-defined]
    # its slow average needs more bars than the step has: flat, so the step sends no
    # order and its only risk calls are the ones sent without waiting
    strategy = make_strategy("sma_cross", {"fast": "2", "slow": "100", "size": "0.05"})
    session = TradingSession(
        SessionConfig(symbol="BTC/USD", unit=strategy.unit),
        StrategyDecider(strategy),
        port,
        PaperVenue(PaperExchange(PaperExchangeConfig())),
        Ledger(Decimal(10_000)),
    )
    try:
        step = ray.get(market.next_step.remote())
        proxy.cut()  # the step's equity mark and decision cannot be stored
        with pytest.raises(Exception) as raised:
            trade_step(session, market, step)
        assert database_error(raised.value) is not None, raised.value
        assert ray.get(market.resumed.remote()) is None  # its progress was not stored
        proxy.restore()
        done, remaining = trade_step(session, market, step)  # run again: it goes through
        assert len(done) == 1 and done[0].order is None and remaining == 9
        assert ray.get(market.resumed.remote()) is not None
    finally:
        ray.kill(handle)
        ray.kill(market)
