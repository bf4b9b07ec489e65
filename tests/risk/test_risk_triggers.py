"""Auto-pause triggers (losing streak, venue error burst, stale data), the emergency
path, operator controls (stop, panic) and the snapshot that carries them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.execution import PaperExchange
from sigmax.execution.errors import VenueNetworkError
from sigmax.graph import DecisionGraph
from sigmax.ledger import Ledger
from sigmax.model import (
    Bar,
    BarSeries,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from sigmax.risk import RiskConfig, RiskEngine, RiskStateError, TradingState
from sigmax.risk.triggers import LosingStreak
from sigmax.trading.adapters import GraphDecider, PaperVenue
from sigmax.trading.controls import panic, stop_trading
from sigmax.trading.manual import ManualTrading, MarketView
from sigmax.trading.session import SessionConfig, TradingSession

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
HOUR_NS = 3_600_000_000_000
T0_NS = int(T0.timestamp()) * 1_000_000_000


def fill(cid: str, side: str, qty: str, price: str, fee: str = "0", n: int = 1) -> Fill:
    return Fill(
        fill_id=f"{cid}-{n}",
        client_order_id=cid,
        symbol="BTC/USD",
        side=Side(side),
        qty=Decimal(qty),
        price=Decimal(price),
        fee=Decimal(fee),
        ts=T0,
        liquidity=Liquidity.TAKER,
    )


def round_trip(engine: RiskEngine, n: int, entry: str, exit_: str, fee: str = "0") -> None:
    engine.on_fill(fill(f"open{n}", "buy", "1", entry, fee))
    engine.on_fill(fill(f"close{n}", "sell", "1", exit_, fee))


# ---- losing streak ----------------------------------------------------------------------


def test_losing_streak_trips_after_n_losing_trades() -> None:
    engine = RiskEngine(RiskConfig(max_consecutive_losses=3))
    round_trip(engine, 1, "100", "99")
    round_trip(engine, 2, "100", "98")
    assert engine.state is TradingState.RUNNING
    round_trip(engine, 3, "100", "97")
    assert engine.state is TradingState.PAUSED
    assert engine.pause_cause == "losing_streak"
    assert "3 consecutive losing trades >= limit 3" in engine.state_reason
    assert "close3" in engine.state_reason
    change = engine.audit.records("state_change")[-1].payload
    assert change["cause"] == "losing_streak" and change["operator"] == "system"


def test_a_winning_trade_ends_the_streak_and_fees_count() -> None:
    engine = RiskEngine(RiskConfig(max_consecutive_losses=2))
    round_trip(engine, 1, "100", "99")
    round_trip(engine, 2, "100", "101")  # a win: the streak ends
    round_trip(engine, 3, "100", "99")
    assert engine.state is TradingState.RUNNING
    round_trip(engine, 4, "100", "100.5", fee="0.6")  # +0.5 gross, -0.1 after the exit fee
    assert engine.pause_cause == "losing_streak"


def test_partial_fills_of_one_order_are_one_trade_and_shorts_count() -> None:
    streak = LosingStreak()
    streak.on_fill(fill("open", "buy", "2", "100"))
    streak.on_fill(fill("close", "sell", "1", "99", n=1))
    streak.on_fill(fill("close", "sell", "1", "99", n=2))
    assert streak.count == 1  # one order, two fills
    streak.on_fill(fill("short", "sell", "1", "100"))  # opens a short: no trade
    assert streak.count == 1
    streak.on_fill(fill("cover", "buy", "1", "101"))  # the short lost 1
    assert streak.count == 2
    streak.on_fill(fill("long", "buy", "1", "100"))
    streak.on_fill(fill("flip", "sell", "2", "100.4", fee="0.4"))  # closes 1 at +0.4 - 0.2
    assert streak.count == 0


def test_resume_after_a_losing_streak_needs_no_force_and_starts_over() -> None:
    engine = RiskEngine(RiskConfig(max_consecutive_losses=1))
    round_trip(engine, 1, "100", "90")
    assert engine.pause_cause == "losing_streak"
    engine.resume("ops", ts=T0)
    assert engine.state is TradingState.RUNNING
    assert engine.triggers_status(T0)["losing_streak"] == {"limit": 1, "count": 0}
    round_trip(engine, 2, "100", "90")
    assert engine.pause_cause == "losing_streak"


def test_the_streak_is_off_by_default() -> None:
    engine = RiskEngine(RiskConfig())
    for n in range(20):
        round_trip(engine, n, "100", "90")
    assert engine.state is TradingState.RUNNING


# ---- venue error burst ------------------------------------------------------------------


def test_error_burst_trips_within_60_seconds_only() -> None:
    engine = RiskEngine(RiskConfig(max_venue_errors_per_minute=3))
    for k in range(4):  # 61 s apart: never 3 in one window
        engine.on_venue_error(T0 + timedelta(seconds=61 * k), "VenueNetworkError: timeout")
    assert engine.state is TradingState.RUNNING
    later = T0 + timedelta(minutes=10)
    for k in range(3):
        engine.on_venue_error(later + timedelta(seconds=20 * k), "VenueError: 502")
    assert engine.state is TradingState.PAUSED
    assert engine.pause_cause == "venue_errors"
    assert "3 exchange errors in the last 60s >= limit 3 (last: VenueError: 502)" in (
        engine.state_reason
    )
    assert len(engine.audit.records("venue_error")) == 7


def test_resume_refused_while_the_burst_is_in_the_window_unless_forced() -> None:
    engine = RiskEngine(RiskConfig(max_venue_errors_per_minute=2))
    engine.on_venue_error(T0, "VenueError: a")
    engine.on_venue_error(T0 + timedelta(seconds=1), "VenueError: b")
    with pytest.raises(RiskStateError, match="breaker still holds: venue_errors: 2 exchange"):
        engine.resume("ops", ts=T0 + timedelta(seconds=30))
    assert engine.state is TradingState.PAUSED
    engine.resume("ops", ts=T0 + timedelta(seconds=62))  # the burst left the window
    assert engine.state is TradingState.RUNNING

    engine.on_venue_error(T0 + timedelta(seconds=70), "VenueError: c")
    engine.on_venue_error(T0 + timedelta(seconds=71), "VenueError: d")
    engine.resume("ops", force=True, ts=T0 + timedelta(seconds=72))
    assert engine.state is TradingState.RUNNING
    engine.on_venue_error(T0 + timedelta(seconds=73), "VenueError: e")  # errors forgotten
    assert engine.state is TradingState.RUNNING


# ---- stale market data ------------------------------------------------------------------


def test_stale_data_trips_on_the_periodic_check_without_any_bar() -> None:
    engine = RiskEngine(RiskConfig(stale_data_intervals=3))
    assert engine.check_staleness(T0 + timedelta(days=1)) is False  # no bar seen yet
    engine.on_market_data(T0, T0_NS - HOUR_NS, HOUR_NS)
    assert engine.check_staleness(T0 + timedelta(hours=3)) is False  # exactly 3 intervals
    assert engine.check_staleness(T0 + timedelta(hours=3, seconds=1)) is True
    assert engine.pause_cause == "stale_data"
    assert "no bar for 10,801s > 3 bar intervals (10,800s)" in engine.state_reason
    assert engine.check_staleness(T0 + timedelta(hours=4)) is False  # already paused


def test_resume_refused_while_stale_until_a_bar_or_force() -> None:
    engine = RiskEngine(RiskConfig(stale_data_intervals=2))
    engine.on_market_data(T0, T0_NS, HOUR_NS)
    engine.check_staleness(T0 + timedelta(hours=3))
    with pytest.raises(RiskStateError, match="stale_data: no bar for"):
        engine.resume("ops", ts=T0 + timedelta(hours=3))
    engine.on_market_data(T0 + timedelta(hours=3, minutes=5), T0_NS + 3 * HOUR_NS, HOUR_NS)
    engine.resume("ops", ts=T0 + timedelta(hours=3, minutes=6))
    assert engine.state is TradingState.RUNNING

    engine.check_staleness(T0 + timedelta(hours=6))
    assert engine.pause_cause == "stale_data"
    engine.resume("ops", force=True, ts=T0 + timedelta(hours=6))  # silence counted from now
    assert engine.check_staleness(T0 + timedelta(hours=7)) is False
    assert engine.check_staleness(T0 + timedelta(hours=8, seconds=1)) is True


def test_a_stopped_session_resumes_without_stale_data() -> None:
    engine = RiskEngine(RiskConfig(stale_data_intervals=1))
    engine.on_market_data(T0, T0_NS, HOUR_NS)
    engine.pause("stop", operator="ops", ts=T0, cause="stopped")
    assert engine.pause_cause == "stopped"
    engine.resume("ops", ts=T0 + timedelta(hours=5))  # no bars while stopped, on purpose
    assert engine.state is TradingState.RUNNING
    with pytest.raises(ValueError, match="cause 'breaker' is not one of manual, panic"):
        engine.pause("x", cause="breaker")


def test_triggers_status_shows_each_trigger() -> None:
    engine = RiskEngine(RiskConfig(max_consecutive_losses=4))
    engine.on_market_data(T0, T0_NS, HOUR_NS)
    engine.on_venue_error(T0, "VenueError: x")
    status = engine.triggers_status(T0 + timedelta(seconds=30))
    assert status["losing_streak"] == {"limit": 4, "count": 0}
    assert status["venue_errors"] == {"limit": 10, "last_60s": 1}
    assert status["stale_data"] == {
        "limit_intervals": 3,
        "interval_s": 3600.0,
        "seconds_since_last_bar": 30.0,
    }


# ---- emergency path ---------------------------------------------------------------------


def reduce(side: str, qty: str, reduce_only: bool = True) -> OrderRequest:
    return OrderRequest("panic-1", "BTC/USD", Side(side), Decimal(qty), reduce_only=reduce_only)


def test_emergency_path_passes_only_shrinking_reduce_only_orders_even_when_killed(ctx) -> None:
    engine = RiskEngine(RiskConfig(restricted_symbols=frozenset({"BTC/USD"})))
    engine.kill("incident", operator="ops")
    held = ctx(position="2")
    assert not engine.check(reduce("sell", "2"), held).approved  # normal path: killed
    verdict = engine.emergency_check(reduce("sell", "2"), held, "api-key:1 (ops)")
    assert verdict.approved and verdict.checks[0].rule == "emergency_reduce_only"
    assert not engine.emergency_check(reduce("sell", "3"), held, "ops").approved  # flips
    assert not engine.emergency_check(reduce("buy", "1"), held, "ops").approved  # grows
    assert not engine.emergency_check(reduce("sell", "1", False), held, "ops").approved
    records = engine.audit.records("emergency_order")
    assert len(records) == 4
    assert records[0].payload["operator"] == "api-key:1 (ops)"
    assert records[0].payload["state"] == "killed" and records[0].payload["approved"] is True
    assert engine.state is TradingState.KILLED
    engine.audit.verify()


# ---- stop and panic through the paper exchange --------------------------------------


def bar(ts: datetime, price: str) -> Bar:
    p = float(price)
    return Bar("BTC/USD", "1h", ts, p, p, p, p, 10.0)


def test_panic_cancels_flattens_to_the_exact_quantity_and_pauses() -> None:
    engine = RiskEngine(RiskConfig())
    exchange = PaperExchange()
    ts = T0 + timedelta(hours=1)
    working = OrderRequest(
        "w1", "BTC/USD", Side.BUY, Decimal("1"), OrderType.LIMIT, limit_price=Decimal("90")
    )
    exchange.submit(working, T0)
    held = Decimal("1.23456789")
    result = panic(
        engine,
        exchange,
        {"BTC/USD": held, "ETH/USD": Decimal(0)},
        {"BTC/USD": Decimal("100")},
        Decimal("10000"),
        ts,
        "ops",
        "panic-7",
    )
    assert [o.client_order_id for o in result.cancelled] == ["w1"]
    assert exchange.order("w1").status is OrderStatus.CANCELLED
    assert [(o.client_order_id, o.request.side, o.request.qty) for o in result.sent] == [
        ("panic-7-1", Side.SELL, held)
    ]
    assert engine.state is TradingState.PAUSED and engine.pause_cause == "panic"
    fills = exchange.on_bar(bar(ts, "100"))
    assert sum(f.qty for f in fills) == held  # flat to the exact quantity
    assert result.audit_details()["sent"][0]["qty"] == str(held)


def test_panic_while_killed_stays_killed_and_refuses_what_it_cannot_price() -> None:
    engine = RiskEngine(RiskConfig())
    engine.kill("incident", operator="ops")
    exchange = PaperExchange()
    result = panic(
        engine,
        exchange,
        {"BTC/USD": Decimal("-2"), "ETH/USD": Decimal("1")},
        {"BTC/USD": Decimal("100")},
        Decimal("10000"),
        T0,
        "ops",
        "p",
    )
    assert engine.state is TradingState.KILLED
    assert result.notes and "kill switch engaged" in result.notes[0]
    assert [o.request.side for o in result.sent] == [Side.BUY]  # covers the short
    assert [(r.symbol, r.reason) for r in result.refused] == [
        ("ETH/USD", "no market price to close it at")
    ]


def test_stop_cancels_open_orders_keeps_positions_and_pauses_as_stopped() -> None:
    engine = RiskEngine(RiskConfig())
    exchange = PaperExchange()
    exchange.submit(
        OrderRequest(
            "w1", "BTC/USD", Side.BUY, Decimal("1"), OrderType.LIMIT, limit_price=Decimal("90")
        ),
        T0,
    )
    result = stop_trading(engine, exchange, T0, "ops", "maintenance")
    assert [o.client_order_id for o in result.cancelled] == ["w1"]
    assert result.sent == []
    assert engine.pause_cause == "stopped"
    assert engine.state_reason == "session stopped by ops: maintenance"


# ---- snapshot ---------------------------------------------------------------------------


def test_snapshot_carries_the_triggers_and_reads_version_1() -> None:
    engine = RiskEngine(RiskConfig(max_consecutive_losses=2))
    round_trip(engine, 1, "100", "90")
    engine.on_fill(fill("open2", "buy", "1", "100"))
    engine.on_venue_error(T0, "VenueError: x")
    engine.on_market_data(T0, T0_NS, HOUR_NS)
    snap = engine.snapshot()
    assert snap["version"] == 3
    rebuilt = RiskEngine(RiskConfig())
    rebuilt.restore(snap)
    assert rebuilt.snapshot() == snap
    rebuilt.on_fill(fill("close2", "sell", "1", "95"))  # the restored position and streak
    assert rebuilt.pause_cause == "losing_streak"

    old = {k: v for k, v in snap.items() if k != "triggers"}
    old["version"] = 1
    old["limits"] = {
        k: v
        for k, v in snap["limits"].items()
        if k not in ("max_consecutive_losses", "stale_data_intervals")
    }
    from_v1 = RiskEngine(RiskConfig())
    from_v1.restore(old)
    assert from_v1.triggers_status(T0)["losing_streak"] == {"limit": None, "count": 0}
    assert from_v1.config.stale_data_intervals == 3
    with pytest.raises(ValueError, match="risk snapshot invalid"):
        from_v1.restore({**snap, "triggers": {"losing_streak": {}}})


# ---- a session reports venue errors and bar arrivals ----------------------------------


class DownExchange(PaperVenue):
    """Test double of a live exchange that is down (a live venue cannot run here): every
    fetch of fills fails with the error the ccxt adapter raises for a timeout."""

    def fills_for_bar(self, history: BarSeries) -> list[Fill]:
        raise VenueNetworkError("binance fetch_my_trades: RequestTimeout")


def test_a_session_counts_venue_errors_until_a_burst_pauses_it() -> None:
    settings = Settings()
    graph = DecisionGraph(settings.graph)
    bars = load_bars("bundled:BTC-USD-1h")[6_050 - graph.warmup : 6_050 + 4]
    risk = RiskEngine(RiskConfig(max_venue_errors_per_minute=3, stale_data_intervals=2))
    session = TradingSession(
        SessionConfig(symbol=bars.symbol, session_id="venue-down"),
        GraphDecider(graph),
        risk,
        DownExchange(PaperExchange(settings.paper)),
        Ledger(Decimal(10_000)),
    )
    clock = iter(T0 + timedelta(seconds=10 * k) for k in range(100))
    session.clock = lambda: next(clock)
    for i in range(graph.warmup, graph.warmup + 3):
        session.on_bar(bars[: i + 1])  # goes on after each error
    graph.close()
    assert risk.pause_cause == "venue_errors"
    assert "(last: fetch fills: VenueNetworkError: binance fetch_my_trades" in risk.state_reason
    stale = risk.triggers_status(T0 + timedelta(seconds=45))["stale_data"]  # last bar at 40 s
    assert stale == {"limit_intervals": 2, "interval_s": 3600.0, "seconds_since_last_bar": 5.0}


def test_a_restored_engine_counts_the_data_silence_from_its_restart() -> None:
    engine = RiskEngine(RiskConfig(stale_data_intervals=1))
    engine.on_market_data(T0, T0_NS, HOUR_NS)
    rebuilt = RiskEngine(RiskConfig())
    rebuilt.restore(engine.snapshot())
    restarted = T0 + timedelta(days=1)
    rebuilt.restart_data_clock(restarted)
    assert rebuilt.check_staleness(restarted + timedelta(minutes=59)) is False
    assert rebuilt.check_staleness(restarted + timedelta(hours=1, seconds=1)) is True


class RejectingGateway(PaperExchange):
    """Test double of a live exchange whose order gateway times out (no live venue can
    run here): submit and cancel fail with the ccxt adapter's network error."""

    def submit(
        self, request: OrderRequest, ts: datetime, reference_price: Decimal | None = None
    ) -> Order:
        raise VenueNetworkError("binance create_order: RequestTimeout")

    def cancel(self, client_order_id: str, ts: datetime) -> Order:
        raise VenueNetworkError("binance cancel_order: RequestTimeout")


def test_operator_order_venue_errors_count_towards_the_burst() -> None:
    risk = RiskEngine(RiskConfig(max_venue_errors_per_minute=2))
    trading = ManualTrading(risk, RejectingGateway(), Ledger(Decimal(10_000)))
    market = MarketView("BTC/USD", T0, Decimal("50000"))
    order = OrderRequest("op-1", "BTC/USD", Side.BUY, Decimal("0.01"))
    with pytest.raises(VenueNetworkError):
        trading.submit(order, market)
    assert risk.state is TradingState.RUNNING
    with pytest.raises(VenueNetworkError):
        trading.cancel("op-1", market)
    assert risk.pause_cause == "venue_errors"
    assert "operator cancel: VenueNetworkError: binance cancel_order" in risk.state_reason
