"""Sessions on a live venue: the actors trading on the Binance spot simulator (a test
double: real Binance REST over local HTTP, driven by the real ccxt client through the
venue's base URL), on real PostgreSQL and the session's Ray cluster.

The market-data actor replays the same bundled bars the simulator fills against; the
test moves the simulator on one bar after each step of the session, so the venue fills
a step's market orders at that step's close, by its own bars.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors.ports import ExecutionPort, RiskPort
from actors.system import PaperRequest, TradingSystem, run_paper, start_system
from sigmax.config import Settings
from sigmax.execution import VenueConfig, VenueRefusedError
from sigmax.execution.errors import VenueMismatchError
from sigmax.model import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from sigmax.storage.postgres import close_pools, get_pool
from sigmax.storage.repos.orders import FillRepository, OrderRepository
from sigmax.trading.controls import panic
from tests.doubles.binance_spot_simulator import (
    API_KEY,
    CREDENTIALS_NAME,
    SECRET,
    BinanceSpotSimulatorDouble,
)
from tests.execution.conftest import SIM_OPTIONS

D = Decimal
START, BARS = 2_000, 30
SYMBOLS = ("ETH/USD", "LTC/USD")
LEGS = (("bundled:ETH-USD-30m", "ETH/USD"), ("bundled:LTC-USD-30m", "LTC/USD"))
PARAMS = {"fast": "2", "slow": "5", "size": "1"}


@pytest.fixture
def sim() -> Iterator[BinanceSpotSimulatorDouble]:
    with BinanceSpotSimulatorDouble(
        "bundled:ETH-USD-30m",
        more_sources=("bundled:LTC-USD-30m",),
        quote="USD",
        start_bar=START,
        bars=200,
        balances={"USD": D(10_000)},
    ) as simulator:
        yield simulator


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # the driver's and (set before the test cluster started, see tests/conftest.py) the
    # workers' environment: nothing hands them to the actors
    monkeypatch.setenv(f"SIGMAX_EXCHANGE_{CREDENTIALS_NAME.upper()}_API_KEY", API_KEY)
    monkeypatch.setenv(f"SIGMAX_EXCHANGE_{CREDENTIALS_NAME.upper()}_SECRET", SECRET)


def venue(sim: BinanceSpotSimulatorDouble, kind: str = "ccxt:binance") -> VenueConfig:
    live = {"live": True} if kind.startswith("ccxt:") else {}
    return VenueConfig(
        kind=kind,
        credentials=CREDENTIALS_NAME,
        base_url=sim.base_url,
        options=SIM_OPTIONS,
        timeout_ms=10_000,
        network_retries=1,
        backoff_s=0.2,
        **live,
    )


def request(session_id: str, bars: int = BARS, adopt: bool = False) -> PaperRequest:
    return PaperRequest(
        legs=LEGS,
        timeframe="30m",
        start=START,
        bars=bars,
        cash=D(10_000),
        session_id=session_id,
        strategy="sma_cross",
        params=PARAMS,
        adopt_venue_state=adopt,
    )


def run_in_step(system: TradingSystem, req: PaperRequest, sim: BinanceSpotSimulatorDouble) -> int:
    """Run the session, moving the simulator on one bar after each step."""
    seen: set[datetime] = set()

    def step(report: Any, _: int | None) -> None:
        if report.ts not in seen:
            seen.add(report.ts)
            sim.advance()

    reports = run_paper(system, req, step)
    return len(reports)


def stored(settings: Settings, account: str) -> tuple[list[Order], list[Fill]]:
    async def load() -> tuple[list[Order], list[Fill]]:
        pool = await get_pool(settings.postgres)
        try:
            orders = await OrderRepository(pool).for_account(account)
            return orders, await FillRepository(pool).for_account(account)
        finally:
            await close_pools()

    return asyncio.run(load())


def book_new_fills(ray: Any, system: TradingSystem) -> list[Fill]:
    """What the venue filled since the last step, booked as a step would book it."""
    fills: list[Fill] = ray.get(system.execution.on_bars.remote([]))
    for fill in fills:
        ray.get(system.portfolio.apply.remote(fill))
    return fills


def assert_books_match_venue(
    ray: Any, system: TradingSystem, sim: BinanceSpotSimulatorDouble
) -> None:
    marks = {s: sim.price_of(s) for s in SYMBOLS}
    book = ray.get(system.portfolio.summary.remote(marks))
    total = {a: sim.free.get(a, D(0)) + sim.locked.get(a, D(0)) for a in ("USD", "ETH", "LTC")}
    assert abs(D(book["cash"]) - total["USD"]) < D("0.000001"), (book, total)
    for symbol in SYMBOLS:
        assert D(book["positions"].get(symbol, "0")) == total[symbol.split("/")[0]]


def wait_for_venue_error(ray: Any, system: TradingSystem, text: str) -> bool:
    """Whether risk audits a venue error naming ``text`` within a few seconds (the
    execution actor reports it without waiting)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = ray.get(system.risk.audit_records.remote("venue_error"))
        if any(text in r["payload"]["error"] for r in records):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_portfolio_session_on_the_simulator_restarts_reconciles_and_panics(
    ray_cluster: Any, settings: Settings, sim: BinanceSpotSimulatorDouble, credentials: None
) -> None:
    ray = ray_cluster
    settings = settings.model_copy(update={"venue": venue(sim)})
    sid = f"live-{uuid.uuid4().hex[:6]}"
    req = request(sid)
    account = req.account

    # 1. a brand-new account: books start from the venue's balances; the session trades
    system = start_system(settings, req)
    try:
        assert system.venue is not None and system.venue["kind"] == "ccxt:binance"
        assert system.venue["reconciliation"]["outcome"] == "started from the venue"
        assert run_in_step(system, req, sim) == 2 * BARS
        book_new_fills(ray, system)
        orders, fills = stored(settings, account)
        sent = [o for o in orders if o.venue_order_id is not None]
        assert sent, "sma_cross traded on 30 bars"
        assert {o.request.symbol for o in sent} == set(SYMBOLS)  # both legs traded
        assert len(sim.orders) == len(sent)  # one exchange order per decision
        assert len(sim.trades) == len(fills)  # every venue trade stored as a fill
        assert_books_match_venue(ray, system, sim)

        # 2. a resting order placed through the execution actor fills while SIGMAX is down
        price = sim.price_of("ETH/USD")
        resting = OrderRequest(
            f"{sid}-rest",
            "ETH/USD",
            Side.BUY,
            D("0.1"),
            OrderType.LIMIT,
            (price * D("0.99")).quantize(D("0.01")),
        )
        placed = ray.get(system.execution.submit.remote(resting, datetime.now(UTC), price))
        assert placed.status is OrderStatus.ACCEPTED
    finally:
        system.shutdown()
    while sim.orders_with_client_id(resting.client_order_id)[0].status != "FILLED":
        sim.advance()

    system = start_system(settings, request(sid, bars=0))
    try:
        assert system.venue["reconciliation"]["outcome"] == "matched"
        orders, fills = stored(settings, account)
        assert any(f.client_order_id == resting.client_order_id for f in fills)
        assert_books_match_venue(ray, system, sim)  # the fill made while down is booked

        # 3. the execution actor killed between submit and acknowledgement, restarted
        cid = f"{sid}-kill"
        sim.lose_next_order_reply(delay_s=5.0)
        order = OrderRequest(cid, "LTC/USD", Side.BUY, D("1"))
        ref = system.execution.submit.remote(order, datetime.now(UTC), sim.price_of("LTC/USD"))
        deadline = time.monotonic() + 30
        while not sim.orders_with_client_id(cid) and time.monotonic() < deadline:
            time.sleep(0.05)
        ray.kill(system.execution, no_restart=False)  # the reply is still on its way
        answered = ray.get(ref, timeout=120)  # Ray retries the call on the new actor
        assert answered.status is OrderStatus.FILLED
        assert len(sim.orders_with_client_id(cid)) == 1  # looked up, never sent twice
        book_new_fills(ray, system)
        assert_books_match_venue(ray, system, sim)

        # an exchange refusal: a REJECTED order with the reason, counted by risk
        sim.reject_next_order(-2010, "Account has insufficient balance for requested action.")
        poor = OrderRequest(f"{sid}-poor", "LTC/USD", Side.BUY, D("1"))
        price = sim.price_of("LTC/USD")
        rejected = ray.get(system.execution.submit.remote(poor, datetime.now(UTC), price))
        assert rejected.status is OrderStatus.REJECTED
        assert "insufficient balance" in (rejected.reason or "")
        assert wait_for_venue_error(ray, system, poor.client_order_id)
    finally:
        system.shutdown()

    # 4. an order placed by hand on the venue: the session refuses, adopting starts it
    sim.place_by_hand(
        "BUY",
        D("0.5"),
        (sim.price_of("ETH/USD") * D("0.9")).quantize(D("0.01")),
        "by-hand-1",
        "ETHUSD",
    )
    with pytest.raises(VenueMismatchError, match="unknown open order on the venue") as refused:
        start_system(settings, request(sid, bars=0))
    assert "by-hand-1" in str(refused.value)
    system = start_system(settings, request(sid, bars=0, adopt=True))
    try:
        assert system.venue["reconciliation"]["outcome"] == "adopted"
        lines = [
            r["payload"]["details"]["line"]
            for r in ray.get(system.risk.audit_records.remote("control"))
            if r["payload"]["action"] == "venue-reconcile"
        ]
        assert any("adopted venue order" in line and "by-hand-1" in line for line in lines)

        # 5. panic: open orders cancelled on the venue, every position closed through it
        marks = {s: sim.price_of(s) for s in SYMBOLS}
        held = ray.get(system.portfolio.holdings.remote(list(SYMBOLS)))
        assert any(q != 0 for q in held.values())
        equity = ray.get(system.portfolio.equity.remote(marks))
        result = panic(
            RiskPort(system.risk),
            ExecutionPort(system.execution),
            held,
            marks,
            equity,
            datetime.now(UTC),
            "tester",
            f"{sid}-panic",
        )
        assert [o.client_order_id for o in result.cancelled] == ["by-hand-1"]
        assert all(o.status is OrderStatus.FILLED for o in result.sent)
        assert not [o for o in sim.orders.values() if o.status in ("NEW", "PARTIALLY_FILLED")]
        assert sim.free["ETH"] + sim.locked["ETH"] == 0
        assert sim.free["LTC"] + sim.locked["LTC"] == 0
        book_new_fills(ray, system)
        assert_books_match_venue(ray, system, sim)
    finally:
        system.shutdown()

    # the keys reached the actors through their node's environment, not in any Ray log
    logs = Path(ray._private.worker._global_node.get_logs_dir_path())
    leaked = [str(p) for p in logs.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not leaked, f"the exchange secret is in Ray's logs: {leaked}"


@pytest.mark.slow
def test_a_dry_run_session_records_orders_and_sends_nothing(
    ray_cluster: Any, settings: Settings, sim: BinanceSpotSimulatorDouble, credentials: None
) -> None:
    settings = settings.model_copy(update={"venue": venue(sim, "dry-run")})
    req = request(f"dry-{uuid.uuid4().hex[:6]}", bars=20)
    system = start_system(settings, req)
    try:
        assert system.venue is not None and system.venue["dry_run"] is True
        run_in_step(system, req, sim)
    finally:
        system.shutdown()
    orders, fills = stored(settings, req.account)
    assert orders and fills  # would-be orders recorded, filled paper-style on the bars
    assert all(o.venue_order_id is None or o.venue_order_id.startswith("dry-run:") for o in orders)
    assert sim.order_requests() == []  # nothing reached the exchange
    assert sim.orders == {}


def test_a_venue_that_cannot_be_built_stops_the_start_before_any_actor(
    settings: Settings, sim: BinanceSpotSimulatorDouble
) -> None:
    real_money = venue(sim).model_copy(update={"live": False})
    with pytest.raises(VenueRefusedError, match="trades real money: set live=true"):
        start_system(settings.model_copy(update={"venue": real_money}), request("refused"))
    assert sim.requests == []  # refused before anything reached the exchange
