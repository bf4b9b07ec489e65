"""Operator controls, auto-pause and probes against a real paper session: the actors run
on the test Ray cluster (``actors.system``), persisting into the test schema, and the
session advances bar by bar between the tests (``run_paper`` picks up where it stopped).

Tests run in file order on one session: the losing-streak trigger trips during the
first 10 bars (bar 9 of 6050+ closes a losing trade), then start, stop, panic and
the kill switch through /api/v1/control and the probes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import ray
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from actors.system import PaperRequest, TradingSystem, run_paper, start_system
from serve_app._private.probes import READY_CACHE_S
from serve_app.api import create_app
from sigmax.client import SigmaxAPIError, SigmaxClient
from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, client_for, unique_config

pytestmark = pytest.mark.slow

SYMBOL = "BTC/USD"
Session = tuple[TradingSystem, PaperRequest]


@pytest.fixture(scope="module")
def session(ray_cluster: Any, api_settings: Settings) -> Iterator[Session]:
    risk = api_settings.risk.model_copy(update={"max_consecutive_losses": 1})
    settings = api_settings.model_copy(update={"risk": risk})
    # A fast SMA cross buys at bar 6052 and sells at a loss at 6055 (checked in-process),
    # which this file's losing-streak test needs; the graph's turnover control holds longer.
    request = PaperRequest(
        start=6_050,
        bars=30,
        session_id=f"ctl-{uuid.uuid4().hex[:8]}",
        persist=True,
        strategy="sma_cross",
        params={"fast": "2", "slow": "4", "size": "0.01"},
    )
    trading = start_system(settings, request)
    try:
        assert len(advance((trading, request), 10)) == 10
        yield trading, request
    finally:
        trading.shutdown()


def advance(session: Session, bars: int) -> list[Any]:
    """Trade up to ``bars`` more bars of the replay through the actors."""
    done: list[int] = []

    def enough() -> bool:
        done.append(1)
        return len(done) >= bars

    return run_paper(session[0], session[1], should_stop=enough)


@pytest.fixture(scope="module")
def http(session: Session, api_settings: Settings) -> Iterator[TestClient]:
    config = unique_config(session_id=session[1].session_id, rate_trading=100)
    with TestClient(create_app(api_settings, config)) as client:
        yield client


@pytest.fixture(scope="module")
def trader(http: TestClient, make_key: KeyMaker) -> SigmaxClient:
    return client_for(http, make_key(["trade"], "ctl-trader"))


@pytest.fixture(scope="module")
def admin(http: TestClient, make_key: KeyMaker) -> SigmaxClient:
    return client_for(http, make_key(["admin"], "ctl-admin"))


def audit(session: Session, kind: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = ray.get(session[0].risk.audit_records.remote(kind))
    return records


def held(trader: SigmaxClient) -> Decimal:
    return Decimal(trader.portfolio()["positions"].get(SYMBOL, "0"))


def price(trader: SigmaxClient) -> Decimal:
    return Decimal(trader.portfolio()["prices"][SYMBOL])


def test_losing_streak_trips_in_the_session_and_shows_in_status(trader: SigmaxClient) -> None:
    risk = trader.status()["risk"]
    assert risk["state"] == "paused"
    assert risk["cause"] == "losing_streak"
    assert "1 consecutive losing trades >= limit 1" in risk["reason"]
    detail = trader.risk_status()
    assert detail["cause"] == "losing_streak"
    assert detail["triggers"]["losing_streak"] == {"limit": 1, "count": 1}
    assert detail["triggers"]["stale_data"]["interval_s"] == 3600.0
    ready = trader.ready()  # paused is still ready
    assert ready["status"] == "ready", ready
    assert set(ready["checks"]) == {"postgres", "redis", "actors", "trading"}


def test_start_resumes_and_is_audited(trader: SigmaxClient, session: Session) -> None:
    started = trader.control("start")
    assert (started["action"], started["state"], started["cause"]) == ("start", "running", None)
    record = audit(session, "control")[-1]["payload"]
    assert record["action"] == "start"
    assert record["operator"].endswith("(ctl-trader)")
    assert record["details"]["state"] == "running"


def test_stop_cancels_open_orders_and_holds_the_session(
    trader: SigmaxClient, session: Session
) -> None:
    limit = (price(trader) * Decimal("0.97")).quantize(Decimal("0.01"))
    assert trader.submit_order("ctl-rest", SYMBOL, "buy", "0.001", "limit", limit)["approved"]
    before = held(trader)
    decisions = len(trader.decisions(limit=1000))
    stopped = trader.control("stop", reason="maintenance")
    assert [o["client_order_id"] for o in stopped["cancelled"]] == ["op-ctl-rest"]
    assert stopped["cancelled"][0]["status"] == "cancelled"
    assert (stopped["state"], stopped["cause"]) == ("paused", "stopped")
    assert advance(session, 1) == []  # the loop holds: no bar traded, no decision
    assert len(trader.decisions(limit=1000)) == decisions
    assert held(trader) == before  # positions kept
    assert trader.control("start")["state"] == "running"
    assert len(advance(session, 1)) == 1
    assert len(trader.decisions(limit=1000)) == decisions + 1


def test_panic_cancels_every_order_and_flattens_to_the_exact_quantity(
    trader: SigmaxClient, admin: SigmaxClient, session: Session
) -> None:
    if trader.risk_status()["state"] != "running":
        trader.control("start")
    assert trader.submit_order("ctl-buy", SYMBOL, "buy", "0.01")["approved"]
    trader.control("pause", reason="hold the session's own trading")
    advance(session, 1)  # the market buy fills on this bar
    position = held(trader)
    assert position >= Decimal("0.01")
    above = (price(trader) * Decimal("1.03")).quantize(Decimal("0.01"))
    resting = trader.submit_order(
        "ctl-exit", SYMBOL, "sell", "0.005", "limit", above, reduce_only=True
    )
    assert resting["approved"], resting  # reduce-only passes while paused
    open_before = {o["client_order_id"] for o in trader.orders(status="open")}
    assert "op-ctl-exit" in open_before
    with pytest.raises(SigmaxAPIError) as forbidden:
        trader.control("panic")
    assert forbidden.value.status_code == 403

    result = admin.control("panic", reason="drill")
    assert {o["client_order_id"] for o in result["cancelled"]} == open_before
    assert [(o["side"], Decimal(o["qty"]), o["reduce_only"]) for o in result["sent"]] == [
        ("sell", position, True)
    ]
    assert (result["state"], result["cause"], result["refused"]) == ("paused", "panic", [])
    sent = result["sent"][0]["client_order_id"]
    assert {o["client_order_id"] for o in trader.orders(status="open")} == {sent}

    advance(session, 1)  # the flattening market order fills
    assert held(trader) == 0
    assert SYMBOL not in trader.portfolio()["positions"]
    assert trader.order(sent)["status"] == "filled"
    assert trader.order(sent)["filled_qty"] == result["sent"][0]["qty"]
    assert trader.risk_status()["state"] == "paused"

    emergency = [r["payload"] for r in audit(session, "emergency_order")]
    assert [(e["order"]["client_order_id"], e["approved"]) for e in emergency] == [(sent, True)]
    assert emergency[0]["operator"].endswith("(ctl-admin)")
    control = audit(session, "control")[-1]["payload"]
    assert control["action"] == "panic" and control["details"]["sent"][0]["qty"] == str(position)
    assert {r["payload"]["action"] for r in audit(session, "control")} >= {
        "start",
        "stop",
        "pause",
        "panic",
    }


def test_cli_drives_the_controls_through_the_api(
    http: TestClient, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sigmax.cli import app, control_command

    key = make_key(["trade"], "ctl-cli")
    monkeypatch.setattr(control_command, "make_client", lambda url: client_for(http, key))
    runner = CliRunner()
    paused = runner.invoke(app, ["control", "pause", "--reason", "from the cli"])
    assert paused.exit_code == 0, paused.output
    assert "pause: state paused (manual)" in paused.output
    refused = runner.invoke(app, ["control", "panic", "--yes"])
    assert refused.exit_code == 1
    assert "error: panic refused: HTTP 403" in refused.output


def test_kill_makes_the_session_not_ready_and_panic_keeps_it_killed(
    trader: SigmaxClient, admin: SigmaxClient, session: Session
) -> None:
    trader.control("start")  # after the panic drill
    limit = (price(trader) * Decimal("0.97")).quantize(Decimal("0.01"))
    assert trader.submit_order("ctl-kill-rest", SYMBOL, "buy", "0.001", "limit", limit)["approved"]
    trader.kill("incident")
    # the kill switch cancels what rests at the venue: nothing can fill after it
    assert trader.order("op-ctl-kill-rest")["status"] == "cancelled"
    assert trader.orders(status="open") == []
    killed = audit(session, "control")[-1]["payload"]
    assert killed["action"] == "kill" and killed["details"]["cancelled"] == ["op-ctl-kill-rest"]
    time.sleep(READY_CACHE_S)  # a readiness answer is reused for up to this long
    ready = trader.ready()
    assert trader.last_response is not None and trader.last_response.status_code == 503
    assert ready["failed"] == ["trading"]
    assert ready["checks"]["trading"]["detail"].startswith("killed")
    result = admin.control("panic")
    assert result["state"] == "killed"
    assert result["sent"] == [] and any("kill switch" in n for n in result["notes"])
    with pytest.raises(SigmaxAPIError) as refused:
        trader.control("start")
    assert refused.value.status_code == 409
    assert "kill switch" in refused.value.detail


def test_control_needs_its_scope(http: TestClient, make_key: KeyMaker) -> None:
    reader = client_for(http, make_key(["read"], "ctl-reader"))
    with pytest.raises(SigmaxAPIError) as forbidden:
        reader.control("pause", reason="x")
    assert forbidden.value.status_code == 403
    with pytest.raises(SigmaxAPIError) as anonymous:
        client_for(http, None).control("stop")
    assert anonymous.value.status_code == 401


def test_the_risk_actor_trips_stale_data_while_no_bar_and_no_call_arrives(
    ray_cluster: Any,
) -> None:
    """The actor's own periodic check pauses trading: the session sends nothing more."""
    from datetime import timedelta

    from actors.risk import RiskActor
    from sigmax.model import utc_now
    from sigmax.risk import RiskConfig, RiskStateError

    config = RiskConfig(stale_data_intervals=2).model_dump_json()
    actor = RiskActor.options(num_cpus=0).remote(config, "stale-test", None, 0.2)  # type: ignore[attr-defined]
    try:
        second_ns = 1_000_000_000
        ray.get(actor.on_market_data.remote(utc_now() - timedelta(seconds=1), 0, second_ns))
        status = ray.get(actor.status.remote())
        deadline = time.monotonic() + 60
        while status["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = ray.get(actor.status.remote())
        assert (status["state"], status["cause"]) == ("paused", "stale_data")
        assert "> 2 bar intervals (2s)" in status["reason"]
        with pytest.raises(RiskStateError, match="breaker still holds: stale_data: no bar"):
            ray.get(actor.resume.remote("ops"))
        assert ray.get(actor.resume.remote("ops", True)) == "running"
    finally:
        ray.kill(actor)
