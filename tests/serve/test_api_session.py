"""The session endpoints against a real paper session: actors started with
``actors.system.start_system`` on the test Ray cluster, persisting into the test schema.

Tests run in file order on one session: read endpoints first, then orders through
risk, limits, pause/resume and finally the kill switch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import ray
from fastapi.testclient import TestClient

from actors.options import NAMESPACE
from actors.system import PaperRequest, TradingSystem, run_paper, start_system
from serve_app.api import create_app
from sigmax.client import SigmaxAPIError, SigmaxClient
from sigmax.config import Settings
from sigmax.model import OrderStatus
from tests.serve.conftest import KeyMaker, client_for, unique_config

pytestmark = pytest.mark.slow

AGENTS = {"mean_reversion", "momentum", "sentiment", "trend", "volatility"}
BARS = 21


@pytest.fixture(scope="module")
def system(ray_cluster: Any, api_settings: Settings) -> Iterator[tuple[str, TradingSystem]]:
    sid = f"api-{uuid.uuid4().hex[:8]}"
    # 21 hourly bars: the last closes a 4h window, where the default graph decides (and
    # the API's views of the last bar and of `analyze` carry every agent's signal)
    request = PaperRequest(start=10_000, bars=BARS, session_id=sid, persist=True)
    trading = start_system(api_settings, request)
    try:
        reports = run_paper(trading, request)
        assert len(reports) == BARS
        yield sid, trading
    finally:
        trading.shutdown()


@pytest.fixture(scope="module")
def http(system: tuple[str, TradingSystem], api_settings: Settings) -> Iterator[TestClient]:
    config = unique_config(session_id=system[0], rate_trading=100, rate_analysis=100)
    with TestClient(create_app(api_settings, config)) as client:
        yield client


@pytest.fixture(scope="module")
def trader(http: TestClient, make_key: KeyMaker) -> SigmaxClient:
    return client_for(http, make_key(["trade"], "session-trader"))


def test_status_and_health_see_the_session(trader: SigmaxClient, system: Any) -> None:
    status = trader.status()
    assert status["session_running"] is True
    assert status["account"] == f"paper:{system[0]}"
    assert status["risk"]["state"] == "running"
    assert status["remaining_bars"] == 0
    assert {a["status"] for a in trader.health()["actors"].values()} == {"up"}
    details = trader.health_details()
    assert {a["status"] for a in details["actors"].values()} == {"ok"}
    assert all(a["latency_ms"] is not None for a in details["actors"].values())


def test_decisions_carry_every_agent_signal(trader: SigmaxClient) -> None:
    decisions = trader.decisions(limit=1000)
    assert len(decisions) == BARS
    last = decisions[-1]
    assert {s["agent"] for s in last["signals"]} == AGENTS
    assert all(s["rationale"] for s in last["signals"])
    assert last["rationale"]
    assert trader.decision(last["id"]) == last
    assert len(trader.decisions(limit=5)) == 5


def test_orders_fills_positions_portfolio(trader: SigmaxClient) -> None:
    orders = trader.orders()
    fills = trader.fills()
    assert orders, "the session traded (bars 0 and 20 of 10000+)"
    assert trader.order(orders[0]["client_order_id"]) == orders[0]
    assert {f["client_order_id"] for f in fills} <= {o["client_order_id"] for o in orders}
    book = trader.portfolio()
    assert Decimal(book["equity"]) > 0
    assert book["fills"] == len(fills)
    held = Decimal(book["positions"].get("BTC/USD", "0"))
    price = Decimal(book["prices"]["BTC/USD"])
    assert Decimal(book["exposure"]) == abs(held * price)
    positions = {p["symbol"]: p for p in trader.positions()}
    if held:
        assert Decimal(positions["BTC/USD"]["qty"]) == held


def test_analyze_runs_the_decision_graph_now(trader: SigmaxClient) -> None:
    decision = trader.analyze("BTC/USD")
    assert decision["symbol"] == "BTC/USD"
    assert {s["agent"] for s in decision["signals"]} == AGENTS
    assert decision["id"] is None  # returned, not stored
    assert decision["ts"] == trader.decisions(limit=1)[-1]["ts"]
    with pytest.raises(SigmaxAPIError) as other:
        trader.analyze("ETH-USD")
    assert other.value.status_code == 404


def _price(trader: SigmaxClient) -> Decimal:
    return Decimal(trader.portfolio()["prices"]["BTC/USD"])


def test_order_passes_risk_then_venue_and_is_idempotent(trader: SigmaxClient) -> None:
    limit = (_price(trader) * Decimal("0.97")).quantize(Decimal("0.01"))
    placed = trader.submit_order("op-limit-1", "BTC/USD", "buy", "0.001", "limit", limit)
    assert trader.last_response is not None and trader.last_response.status_code == 201
    assert placed["approved"] is True
    assert {c["rule"] for c in placed["checks"]} >= {"price_band", "max_order_notional"}
    assert placed["order"]["status"] in ("new", "accepted")
    again = trader.submit_order("op-limit-1", "BTC/USD", "buy", "0.001", "limit", limit)
    assert again["order"]["created_ts"] == placed["order"]["created_ts"]
    stored = trader.order("op-limit-1")  # the execution actor persisted it
    assert stored["status"] == placed["order"]["status"]
    assert "op-limit-1" in {o["client_order_id"] for o in trader.orders(status="open")}
    with pytest.raises(SigmaxAPIError) as conflict:
        trader.submit_order("op-limit-1", "BTC/USD", "buy", "0.002", "limit", limit)
    assert conflict.value.status_code == 409


def test_cancel_order(trader: SigmaxClient) -> None:
    cancelled = trader.cancel_order("op-limit-1")
    assert cancelled["status"] == "cancelled"


def test_an_operators_order_is_found_before_risk_and_named_apart(
    trader: SigmaxClient, system: Any
) -> None:
    """Issue 18 items 1 and 4: the API places ``x`` as ``op-x`` (never a session's id);
    the same request again returns the live order even while risk is paused; the same
    id for the other side is 409."""
    session_id = system[0]
    limit = (_price(trader) * Decimal("0.97")).quantize(Decimal("0.01"))
    forged = f"{session_id}-1700000000000000000"
    placed = trader.submit_order(forged, "BTC/USD", "buy", "0.001", "limit", limit)
    assert placed["order"]["client_order_id"] == f"op-{forged}"
    assert trader.pause("resubmit test")["state"] == "paused"
    try:
        again = trader.submit_order(forged, "BTC/USD", "buy", "0.001", "limit", limit)
        assert trader.last_response is not None and trader.last_response.status_code == 201
        assert again["approved"] is True and again["order"] == placed["order"]
        with pytest.raises(SigmaxAPIError) as conflict:
            trader.submit_order(forged, "BTC/USD", "sell", "0.001", "limit", limit)
        assert conflict.value.status_code == 409
    finally:
        trader.resume()
    assert trader.cancel_order(f"op-{forged}")["status"] == "cancelled"
    with pytest.raises(SigmaxAPIError) as twice:
        trader.cancel_order("op-limit-1")
    assert twice.value.status_code == 409
    with pytest.raises(SigmaxAPIError) as unknown:
        trader.cancel_order("never-placed")
    assert unknown.value.status_code == 404
    assert "never-placed" in unknown.value.detail
    for internal in ("Traceback", "ray::", "RayTaskError", ".py", "pid="):
        assert internal not in unknown.value.detail  # the cause's message, no remote trace


def test_risk_rejects_outside_the_band_and_bad_input(trader: SigmaxClient) -> None:
    far = (_price(trader) * Decimal("0.5")).quantize(Decimal("0.01"))
    refused = trader.submit_order("op-far", "BTC/USD", "buy", "0.001", "limit", far)
    assert trader.last_response is not None and trader.last_response.status_code == 200
    assert refused["approved"] is False
    assert refused["order"] is None
    assert "price_band" in refused["reason"]
    with pytest.raises(SigmaxAPIError) as wrong_symbol:
        trader.submit_order("op-eth", "ETH/USD", "buy", "1")
    assert wrong_symbol.value.status_code == 422
    with pytest.raises(SigmaxAPIError) as bad_qty:
        trader.submit_order("op-neg", "BTC/USD", "buy", "-1")
    assert bad_qty.value.status_code == 422


def test_limits_update_goes_to_the_risk_actor(trader: SigmaxClient) -> None:
    before = trader.risk_limits()
    updated = trader.update_limits(max_order_notional="5")
    assert Decimal(updated["max_order_notional"]) == 5
    assert trader.risk_limits()["max_order_notional"] == updated["max_order_notional"]
    refused = trader.submit_order("op-big", "BTC/USD", "buy", "0.01")
    assert refused["approved"] is False
    assert "max_order_notional" in refused["reason"]
    trader.update_limits(max_order_notional=before["max_order_notional"])
    with pytest.raises(SigmaxAPIError) as empty:
        trader.update_limits()
    assert empty.value.status_code == 422


def test_pause_resume_and_risk_events(trader: SigmaxClient) -> None:
    assert trader.pause("api test")["state"] == "paused"
    paused = trader.submit_order("op-paused", "BTC/USD", "buy", "0.001")
    assert paused["approved"] is False
    assert trader.resume()["state"] == "running"
    assert trader.resume(force=True)["state"] == "running"
    events = trader.risk_events()
    kinds = [e["kind"] for e in events]
    assert "limits_change" in kinds
    assert kinds.count("state_change") >= 2
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)


def test_kill_switch_and_deprecated_alias(trader: SigmaxClient) -> None:
    response = trader.request("POST", "/risk/emergency-stop", json={"reason": "alias"})
    assert response.json()["state"] == "killed"
    assert response.headers["Deprecation"].startswith("@")
    assert response.headers["Link"] == '</api/v1/risk/kill>; rel="successor-version"'
    assert "Sunset" in response.headers
    assert trader.kill("api test")["state"] == "killed"
    refused = trader.submit_order("op-killed", "BTC/USD", "sell", "0.001")
    assert refused["approved"] is False
    with pytest.raises(SigmaxAPIError) as no_resume:
        trader.resume()
    assert no_resume.value.status_code == 409
    assert "kill switch" in no_resume.value.detail


def test_metrics_show_trading_gauges(trader: SigmaxClient) -> None:
    text = trader.metrics()
    assert "sigmax_trading_session_up 1.0" in text
    assert 'sigmax_trading_risk_state{state="killed"} 1.0' in text
    assert _sample(text, "sigmax_trading_equity") > 0
    # by now the killed session refused "op-killed" on the trading_state rule
    assert _sample(text, 'sigmax_trading_risk_rejections{rule="trading_state"}') >= 1
    assert _sample(text, "sigmax_trading_risk_approved") >= 1
    assert _sample(text, "sigmax_trading_fills") >= 1
    orders = [line for line in text.splitlines() if line.startswith("sigmax_trading_orders{")]
    assert sum(float(line.split()[1]) for line in orders) >= 1
    assert len(orders) == len(OrderStatus)  # a status with no orders reads 0, not stale


def _sample(text: str, name: str) -> float:
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith(name + " "))


def test_backtest_job_runs_on_ray(trader: SigmaxClient) -> None:
    job = trader.submit_backtest(data="bundled:BTC-USD-1d", strategy="sma_cross")
    assert trader.last_response is not None and trader.last_response.status_code == 202
    done = trader.wait_for_job(job["job_id"], timeout_s=300)
    assert done["status"] == "succeeded", done
    result = trader.job_result(job["job_id"])
    assert result["meta"]["strategy"] == "sma_cross"
    assert "<html" in trader.job_report(job["job_id"]).lower()
    assert job["job_id"] in {j["job_id"] for j in trader.jobs()}
    with pytest.raises(SigmaxAPIError) as bad:
        trader.submit_backtest(strategy="nope")
    assert bad.value.status_code == 422
    with pytest.raises(SigmaxAPIError) as user_file:  # the API imports no file a request names
        trader.submit_backtest(strategy="examples/strategies/donchian_breakout.py:DonchianBreakout")
    assert user_file.value.status_code == 422
    assert "run from the command line only" in user_file.value.detail


def test_optimisation_and_training_jobs_and_the_quantum_circuit(trader: SigmaxClient) -> None:
    job = trader.submit_optimisation(assets=["BTC", "ETH", "LTC", "XRP"], budget=2, solver="qaoa")
    done = trader.wait_for_job(job["job_id"], timeout_s=300)
    assert done["status"] == "succeeded", done
    result = trader.job_result(job["job_id"])
    assert len(result["selection"]) == 2 and abs(sum(result["weights"].values()) - 1) < 1e-9
    assert trader.quantum_last()["selection"] == result["selection"]
    assert "OPENQASM 3" in trader.quantum_circuit("qasm")
    assert "q_0" in trader.quantum_circuit("drawing") or "q0" in trader.quantum_circuit()
    # The optimiser actor is detached (it serves the API); remove this test's one.
    ray.kill(ray.get_actor("optimiser", namespace=NAMESPACE))

    training = trader.submit_training(iterations=1, env_runners=0)
    trained = trader.wait_for_job(training["job_id"], timeout_s=600)
    assert trained["status"] == "succeeded", trained
    document = trader.job_result(training["job_id"])
    assert document["iterations"] == 1 and document["checkpoints"]


def test_only_an_admin_releases_the_kill_switch(
    trader: SigmaxClient, http: TestClient, make_key: KeyMaker
) -> None:
    assert trader.kill("before release")["state"] == "killed"
    with pytest.raises(SigmaxAPIError) as forbidden:
        trader.release_kill()
    assert forbidden.value.status_code == 403
    admin = client_for(http, make_key(["admin"], "session-admin"))
    assert admin.release_kill()["state"] == "paused"  # released, but not trading yet
    assert admin.resume()["state"] == "running"
    accepted = trader.submit_order("op-after-release", "BTC/USD", "buy", "0.001")
    assert accepted["approved"] is True
