"""The dry-run venue and the venue builder, against the Binance spot simulator (a test
double) through the real ccxt client, and the venue settings read from the environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from sigmax.config import Settings
from sigmax.execution import (
    CcxtVenue,
    DryRunVenue,
    EnvCredentialsProvider,
    KeyPermissions,
    OrderCheck,
    PaperExchange,
    PaperExchangeConfig,
    VenueConfig,
    VenueError,
    VenueRefusedError,
    build_venue,
)
from sigmax.model import Bar, OrderRequest, OrderStatus, Side
from tests.doubles.binance_spot_simulator import API_KEY, SECRET, BinanceSpotSimulatorDouble
from tests.execution.conftest import SIM_OPTIONS, SimCredentials, sim_config

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def venue_config(sim: BinanceSpotSimulatorDouble, kind: str, **fields: object) -> VenueConfig:
    return VenueConfig(
        kind=kind, base_url=sim.base_url, options=SIM_OPTIONS, timeout_ms=1_000, **fields
    )


def test_dry_run_checks_real_markets_fills_on_the_next_bar_and_sends_nothing(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue = build_venue(
        venue_config(sim, "dry-run"), credentials=SimCredentials(), paper=PaperExchangeConfig()
    )
    assert isinstance(venue, DryRunVenue)
    assert venue.balances() == {"BTC": D(1), "USDT": D(100_000)}
    order = venue.submit(OrderRequest("d-1", "BTC/USDT", Side.BUY, D("0.01")), T0, sim.price)
    assert order.status is OrderStatus.ACCEPTED
    assert (order.venue_order_id or "").startswith("dry-run:")
    bar = Bar("BTC/USDT", "1h", T0 + timedelta(hours=1), 2500.0, 2510.0, 2490.0, 2505.0, 10.0)
    [fill] = venue.on_bar(bar)  # paper's rules: the next bar's open, no costs here
    assert fill.price == D("2500.0") and fill.qty == D("0.01")
    assert venue.order("d-1").status is OrderStatus.FILLED
    off = venue.submit(OrderRequest("d-2", "BTC/USDT", Side.BUY, D("0.0123456")), T0, sim.price)
    assert off.status is OrderStatus.REJECTED and "rounded down" in (off.reason or "")
    tiny = venue.submit(OrderRequest("d-3", "BTC/USDT", Side.BUY, D("0.00001")), T0, sim.price)
    assert tiny.status is OrderStatus.REJECTED and "minimum notional" in (tiny.reason or "")
    assert sim.order_requests() == [] and sim.orders == {}
    with pytest.raises(VenueError, match="dry run: create_order is disabled"):
        venue._reader._exchange.create_order("BTC/USDT", "market", "buy", 0.01)
    assert sim.order_requests() == []


def test_dry_run_without_credentials_still_reads_markets(sim: BinanceSpotSimulatorDouble) -> None:
    venue = build_venue(venue_config(sim, "dry-run"), credentials=EnvCredentialsProvider({}))
    assert isinstance(venue, DryRunVenue)
    check = venue.prepare(OrderRequest("d-1", "BTC/USDT", Side.BUY, D("0.01")), sim.price)
    assert isinstance(check, OrderCheck) and check.ok


def test_paper_is_the_default() -> None:
    assert Settings().venue.kind == "paper"
    venue = build_venue(VenueConfig(), paper=PaperExchangeConfig(taker_fee_bps=D(5)))
    assert isinstance(venue, PaperExchange) and venue.config.taker_fee_bps == D(5)


def test_real_money_needs_the_explicit_live_switch(sim: BinanceSpotSimulatorDouble) -> None:
    with pytest.raises(VenueRefusedError, match="trades real money: set live=true"):
        build_venue(venue_config(sim, "ccxt:binance"), credentials=SimCredentials())
    with pytest.raises(VenueRefusedError, match="contradict"):
        build_venue(
            venue_config(sim, "ccxt:binance", live=True, testnet=True),
            credentials=SimCredentials(),
        )
    assert sim.requests == []  # refused before any request


def test_live_without_credentials_names_what_is_missing(sim: BinanceSpotSimulatorDouble) -> None:
    config = venue_config(sim, "ccxt:binance", live=True)
    with pytest.raises(VenueRefusedError, match="SIGMAX_EXCHANGE_BINANCE_API_KEY"):
        build_venue(config)
    with pytest.raises(VenueRefusedError, match="environment variables unset"):
        build_venue(config, credentials=EnvCredentialsProvider({}))


def test_a_key_that_may_withdraw_is_refused() -> None:
    with BinanceSpotSimulatorDouble(can_withdraw=True) as sim:
        config = venue_config(sim, "ccxt:binance", live=True)
        with pytest.raises(VenueRefusedError, match="may withdraw funds"):
            build_venue(config, credentials=SimCredentials())
        assert ("GET", "/sapi/v1/account/apiRestrictions") in sim.requests


def test_a_key_that_may_not_trade_or_is_refused_stops_the_build(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    config = venue_config(sim, "ccxt:binance", testnet=True)
    with pytest.raises(VenueRefusedError, match="may not trade"):
        build_venue(
            config, credentials=SimCredentials(), probe=lambda v: KeyPermissions(True, False)
        )
    with pytest.raises(VenueRefusedError, match="could not check the key's permissions"):
        build_venue(config, credentials=SimCredentials(secret="wrong"))


def test_live_with_a_trading_key_trades_through_the_base_url(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    venue = build_venue(
        venue_config(sim, "ccxt:binance", live=True),
        credentials=EnvCredentialsProvider(
            {"SIGMAX_EXCHANGE_BINANCE_API_KEY": API_KEY, "SIGMAX_EXCHANGE_BINANCE_SECRET": SECRET}
        ),
    )
    assert isinstance(venue, CcxtVenue)
    order = venue.submit(OrderRequest("live-1", "BTC/USDT", Side.BUY, D("0.01")), T0)
    assert order.status is OrderStatus.FILLED
    assert len(sim.orders_with_client_id("live-1")) == 1


def test_testnet_with_a_base_url_goes_to_the_base_url(sim: BinanceSpotSimulatorDouble) -> None:
    venue = build_venue(
        venue_config(sim, "ccxt:binance", testnet=True), credentials=SimCredentials()
    )
    assert isinstance(venue, CcxtVenue)
    assert venue._exchange.urls["api"]["public"] == f"{sim.base_url}/api/v3"
    assert ("GET", "/api/v3/account") in sim.requests  # the credentials were tried


def test_base_url_override_keeps_every_path(sim: BinanceSpotSimulatorDouble) -> None:
    venue = CcxtVenue(sim_config(sim), SimCredentials())
    urls = venue._exchange.urls["api"]
    assert urls["sapi"] == f"{sim.base_url}/sapi/v1"
    assert all(u.startswith(sim.base_url) for u in urls.values() if isinstance(u, str))


def test_venue_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_VENUE__KIND", "ccxt:kraken")
    monkeypatch.setenv("SIGMAX_VENUE__TESTNET", "true")
    monkeypatch.setenv("SIGMAX_VENUE__BASE_URL", "http://127.0.0.1:9999")
    venue = Settings().venue
    assert venue.ccxt_exchange_id == "kraken" and venue.testnet and not venue.real_money
    assert venue.ccxt_config().base_url == "http://127.0.0.1:9999"
    assert venue.ccxt_config().sandbox is True
    monkeypatch.setenv("SIGMAX_VENUE__KIND", "binance")
    with pytest.raises(ValidationError, match="kind"):
        Settings()
    with pytest.raises(ValidationError, match="base_url"):
        VenueConfig(kind="ccxt:binance", base_url="ftp://x/y")


def test_the_keys_are_looked_up_under_the_credentials_name(
    sim: BinanceSpotSimulatorDouble,
) -> None:
    config = venue_config(sim, "ccxt:binance", live=True).model_copy(
        update={"credentials": "desk_two"}
    )
    binance_keys = {
        "SIGMAX_EXCHANGE_BINANCE_API_KEY": API_KEY,
        "SIGMAX_EXCHANGE_BINANCE_SECRET": SECRET,
    }
    with pytest.raises(VenueRefusedError, match="SIGMAX_EXCHANGE_DESK_TWO_API_KEY"):
        build_venue(config, credentials=EnvCredentialsProvider(binance_keys))
    desk_two = {
        "SIGMAX_EXCHANGE_DESK_TWO_API_KEY": API_KEY,
        "SIGMAX_EXCHANGE_DESK_TWO_SECRET": SECRET,
    }
    venue = build_venue(config, credentials=EnvCredentialsProvider(desk_two))
    order = venue.submit(OrderRequest("desk-1", "BTC/USDT", Side.BUY, D("0.01")), T0)
    assert order.status is OrderStatus.FILLED


def test_testnet_on_an_exchange_without_one_is_refused_by_name() -> None:
    config = VenueConfig(kind="dry-run", exchange_id="kraken", testnet=True)
    with pytest.raises(VenueRefusedError, match="exchange kraken has no testnet in ccxt"):
        build_venue(config, paper=PaperExchangeConfig())
