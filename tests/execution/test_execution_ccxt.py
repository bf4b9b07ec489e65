"""CcxtVenue against ccxt's real binance client fed with recorded Binance REST responses.

``RecordedBinance`` is a test double: a ``ccxt.binance`` whose HTTP session answers from
the files in tests/fixtures/execution/binance instead of the network, so ccxt's own
request building, signing, error mapping and response parsing all run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import ccxt
import pytest
import requests
from requests.cookies import RequestsCookieJar

from sigmax.execution import (
    CcxtVenue,
    CcxtVenueConfig,
    CredentialsError,
    EnvCredentialsProvider,
    ExchangeCredentials,
    ExecutionError,
    ExecutionVenue,
    IllegalTransitionError,
    VenueAuthError,
    VenueNetworkError,
)
from sigmax.model import Liquidity, OrderRequest, OrderStatus, OrderType, Side

FIXTURES = Path(__file__).parents[1] / "fixtures" / "execution" / "binance"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
D = Decimal


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, list[str]]
    headers: dict[str, str]
    host: str


@dataclass
class RecordedSession:
    """Stands in for requests.Session: answers each request with the next scripted reply."""

    script: list[tuple[str, str, Any, int]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    cookies: RequestsCookieJar = field(default_factory=RequestsCookieJar)
    headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        url: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        **_: Any,
    ) -> requests.Response:
        parts = urlsplit(url)
        body = parse_qs(data.decode()) if data else {}
        self.sent.append(
            Sent(method, parts.path, parse_qs(parts.query), body, dict(headers or {}), parts.netloc)
        )
        assert self.script, f"unexpected request {method} {parts.path}"
        want_method, want_path, reply, status = self.script.pop(0)
        assert (method, parts.path) == (want_method, want_path), f"got {method} {parts.path}"
        if isinstance(reply, Exception):
            raise reply
        response = requests.Response()
        response.status_code = status
        response.reason = "OK" if status == 200 else "Bad Request"
        response._content = (FIXTURES / reply).read_bytes()
        response.headers["Content-Type"] = "application/json;charset=UTF-8"
        response.url = url
        return response


class RecordedBinance(ccxt.binance):
    """Test double: ccxt.binance answering from recorded responses."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.session = RecordedSession()


class StaticCredentials:
    def get_exchange_credentials(self, exchange_id: str) -> ExchangeCredentials:
        assert exchange_id == "binance"
        return ExchangeCredentials(API_KEY, SECRET)


CONFIG = CcxtVenueConfig(
    exchange_id="binance",
    sandbox=True,
    options={"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
)
MARKETS = ("GET", "/api/v3/exchangeInfo", "exchange_info.json", 200)


def make_venue(*script: tuple[str, str, Any, int]) -> tuple[CcxtVenue, RecordedSession]:
    venue = CcxtVenue(CONFIG, StaticCredentials(), exchange_class=RecordedBinance)
    session: RecordedSession = venue._exchange.session
    session.script.extend(script)
    return venue, session


def market_buy(cid: str = "sigmax-m-1") -> OrderRequest:
    return OrderRequest(cid, "BTC/USDT", Side.BUY, D("0.002"))


def limit_buy() -> OrderRequest:
    return OrderRequest(
        "sigmax-l-1", "BTC/USDT", Side.BUY, D("0.01"), OrderType.LIMIT, limit_price=D("41000")
    )


def test_ccxt_venue_is_an_execution_venue() -> None:
    venue, _ = make_venue()
    assert isinstance(venue, ExecutionVenue)


def test_market_order_fills_with_exact_fills_and_quote_fees() -> None:
    venue, session = make_venue(MARKETS, ("POST", "/api/v3/order", "order_market_filled.json", 200))
    order = venue.submit(market_buy(), T0, reference_price=D("41990"))
    sent = session.sent[-1]
    assert sent.host == "testnet.binance.vision"
    assert sent.body["newClientOrderId"] == ["sigmax-m-1"]
    assert sent.body["type"] == ["MARKET"] and sent.body["quantity"] == ["0.002"]
    assert sent.headers["X-MBX-APIKEY"] == API_KEY and "signature" in sent.body
    assert order.status is OrderStatus.FILLED and order.venue_order_id == "1001"
    assert order.avg_fill_price == D("42000.2")  # (0.0015 x 42000.1 + 0.0005 x 42000.5) / 0.002
    # 0.0000015 BTC at 42000.1 plus 0.02100025 USDT
    assert order.fees == D("0.0000015") * D("42000.1") + D("0.02100025")
    fills = venue.sync(T0)
    assert [(f.fill_id, f.qty, f.reference_price) for f in fills] == [
        ("sigmax-m-1-5001", D("0.0015"), D("41990")),
        ("sigmax-m-1-5002", D("0.0005"), D("41990")),
    ]
    assert venue.sync(T0) == []  # nothing open, nothing new


def test_resubmitting_a_known_order_sends_nothing() -> None:
    venue, session = make_venue(MARKETS, ("POST", "/api/v3/order", "order_market_filled.json", 200))
    first = venue.submit(market_buy(), T0)
    again = venue.submit(market_buy(), T0 + timedelta(seconds=1))
    assert first == again and len(session.sent) == 2


def test_limit_order_is_accepted_then_cancelled() -> None:
    venue, session = make_venue(
        MARKETS,
        ("POST", "/api/v3/order", "order_limit_new.json", 200),
        ("DELETE", "/api/v3/order", "order_limit_cancelled.json", 200),
    )
    order = venue.submit(limit_buy(), T0)
    assert order.status is OrderStatus.ACCEPTED and order.venue_order_id == "1002"
    assert session.sent[-1].body["price"] == ["41000"]
    assert [o.client_order_id for o in venue.open_orders("BTC/USDT")] == ["sigmax-l-1"]
    cancelled = venue.cancel("sigmax-l-1", T0 + timedelta(hours=1))
    assert session.sent[-1].query["orderId"] == ["1002"]
    assert cancelled.status is OrderStatus.CANCELLED
    assert venue.open_orders() == []
    with pytest.raises(IllegalTransitionError):
        venue.cancel("sigmax-l-1", T0 + timedelta(hours=2))
    assert len(session.sent) == 3


def test_exchange_rejection_becomes_rejected_with_its_reason() -> None:
    rejected = ("POST", "/api/v3/order", "error_insufficient_balance.json", 400)
    venue, _ = make_venue(MARKETS, rejected)
    order = venue.submit(market_buy(), T0)
    assert order.status is OrderStatus.REJECTED
    assert "InsufficientFunds" in (order.reason or "")
    assert "insufficient balance" in (order.reason or "")


def test_qty_off_the_market_precision_is_rejected_before_sending() -> None:
    venue, session = make_venue(MARKETS)
    order = venue.submit(OrderRequest("q", "BTC/USDT", Side.BUY, D("0.000015")), T0)
    assert order.status is OrderStatus.REJECTED and "precision" in (order.reason or "")
    assert [s.path for s in session.sent] == ["/api/v3/exchangeInfo"]


def test_network_error_keeps_the_order_new_and_a_retry_reconciles_by_client_id() -> None:
    venue, session = make_venue(
        MARKETS,
        ("POST", "/api/v3/order", requests.ConnectionError("connection reset"), 0),
        ("GET", "/api/v3/order", "order_limit_query_new.json", 200),
    )
    with pytest.raises(VenueNetworkError, match="NetworkError"):
        venue.submit(limit_buy(), T0)
    assert venue.order("sigmax-l-1").status is OrderStatus.NEW
    with pytest.raises(ExecutionError, match="not acknowledged"):
        venue.cancel("sigmax-l-1", T0)
    order = venue.submit(limit_buy(), T0 + timedelta(seconds=5))
    assert session.sent[-1].query["origClientOrderId"] == ["sigmax-l-1"]
    assert order.status is OrderStatus.ACCEPTED and order.venue_order_id == "1002"


def test_retry_sends_again_when_the_exchange_never_saw_the_order() -> None:
    venue, session = make_venue(
        MARKETS,
        ("POST", "/api/v3/order", requests.ConnectionError("connection reset"), 0),
        ("GET", "/api/v3/order", "error_order_does_not_exist.json", 400),
        ("POST", "/api/v3/order", "order_limit_new.json", 200),
    )
    with pytest.raises(VenueNetworkError):
        venue.submit(limit_buy(), T0)
    assert venue.submit(limit_buy(), T0).status is OrderStatus.ACCEPTED
    assert not session.script


def test_sync_brings_partial_then_final_fills_once_each() -> None:
    venue, session = make_venue(
        MARKETS,
        ("POST", "/api/v3/order", "order_limit_new.json", 200),
        ("GET", "/api/v3/myTrades", "my_trades_partial.json", 200),
        ("GET", "/api/v3/openOrders", "open_orders_one.json", 200),
        ("GET", "/api/v3/myTrades", "my_trades_full.json", 200),
        ("GET", "/api/v3/openOrders", "open_orders_none.json", 200),
        ("GET", "/api/v3/order", "order_limit_query_filled.json", 200),
    )
    venue.submit(limit_buy(), T0)
    (first,) = venue.sync(T0 + timedelta(hours=1))
    assert (first.fill_id, first.qty, first.liquidity) == (
        "sigmax-l-1-6001",
        D("0.004"),
        Liquidity.MAKER,
    )
    assert first.fee == D("0.0164") and first.ts == datetime(2024, 1, 1, 2, tzinfo=UTC)
    assert venue.order("sigmax-l-1").status is OrderStatus.PARTIALLY_FILLED
    (second,) = venue.sync(T0 + timedelta(hours=2))
    assert second.fill_id == "sigmax-l-1-6002"
    order = venue.order("sigmax-l-1")
    assert order.status is OrderStatus.FILLED and order.avg_fill_price == D(41000)
    assert order.fees == D("0.041")
    assert not session.script


def test_cancel_of_an_order_the_exchange_already_closed_takes_its_final_state() -> None:
    venue, _ = make_venue(
        MARKETS,
        ("POST", "/api/v3/order", "order_limit_new.json", 200),
        ("DELETE", "/api/v3/order", "error_unknown_order.json", 400),
        ("GET", "/api/v3/order", "order_limit_query_filled.json", 200),
        ("GET", "/api/v3/myTrades", "my_trades_full.json", 200),
    )
    venue.submit(limit_buy(), T0)
    order = venue.cancel("sigmax-l-1", T0 + timedelta(hours=3))
    assert order.status is OrderStatus.FILLED and order.filled_qty == D("0.01")
    assert len(venue.sync(T0 + timedelta(hours=3))) == 2


def test_credentials_stay_out_of_reprs_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    venue, _ = make_venue(MARKETS, ("POST", "/api/v3/order", "error_invalid_api_key.json", 401))
    creds = StaticCredentials().get_exchange_credentials("binance")
    for text in (repr(creds), str(creds), repr(venue)):
        assert API_KEY not in text and SECRET not in text
    with caplog.at_level(logging.DEBUG), pytest.raises(VenueAuthError) as info:
        venue.submit(market_buy(), T0)
    assert "Invalid API-key" in str(info.value)
    assert "X-MBX-APIKEY" in caplog.text  # the request headers were logged, redacted
    for text in (caplog.text, str(info.value)):
        assert API_KEY not in text and SECRET not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no ccxt chain


def test_env_credentials_provider_reads_and_names_missing_variables() -> None:
    env = {
        "SIGMAX_EXCHANGE_BINANCE_API_KEY": API_KEY,
        "SIGMAX_EXCHANGE_BINANCE_SECRET": SECRET,
        "SIGMAX_EXCHANGE_KRAKEN_API_KEY": "k",
    }
    provider = EnvCredentialsProvider(env)
    creds = provider.get_exchange_credentials("binance")
    assert (creds.api_key, creds.secret, creds.password) == (API_KEY, SECRET, None)
    with pytest.raises(CredentialsError, match="SIGMAX_EXCHANGE_KRAKEN_SECRET") as info:
        provider.get_exchange_credentials("kraken")
    assert "'k'" not in str(info.value)


def test_unknown_exchange_id_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no exchange with id 'nosuchexchange'"):
        CcxtVenue(CcxtVenueConfig(exchange_id="nosuchexchange"))
