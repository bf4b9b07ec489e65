"""Approval mode end to end: a paper session through the actors proposes orders, and
operators drive them through the API (real keys, real PostgreSQL, Redis and Ray).

The test steps the session's bars itself, so an approved order fills on the next bar
exactly as the session's own orders do. One module, one session, tests in file order:
proposals appear; approve → fill; reject → never executed; expired → 409; two operators
approving at once → one order; the WebSocket saw every step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import nats
import nats.js.errors
import pytest
import ray
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from actors.system import PaperRequest, TradingSystem, session_over, start_system
from serve_app._private import events as api_events
from serve_app.api import create_app
from sigmax.cli import app as cli
from sigmax.cli import proposals_command
from sigmax.client import SigmaxAPIError, SigmaxClient
from sigmax.config import Settings
from sigmax.events import EventsConfig
from sigmax.proposals import ApprovalConfig
from sigmax.risk.audit import verify_chain
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.repos.proposals import ProposalRepository
from sigmax.trading.session import TradingSession
from tests.serve.conftest import REDIS_URL, KeyMaker, client_for, unique_config

pytestmark = pytest.mark.slow

SYMBOL = "BTC/USD"
NATS_URL = "nats://127.0.0.1:4222"


class Session:
    """The approval-mode session under test, stepped bar by bar."""

    def __init__(self, system: TradingSystem, request: PaperRequest) -> None:
        self.system = system
        self.request = request
        self.first = ray.get(system.market_data.next.remote())
        self.trading: TradingSession = session_over(system, SYMBOL, request.session_id)

    def step(self) -> None:
        history, self.first = self.first or ray.get(self.system.market_data.next.remote()), None
        assert history is not None, "the replay ran out of bars"
        self.trading.on_bar(history)


@pytest.fixture(scope="module")
def events_config() -> Iterator[EventsConfig]:
    """This module's Redis channels and NATS stream (deleted afterwards), set in the
    environment the session's publishers and the API's WebSocket read."""
    tag = uuid.uuid4().hex[:12]
    config = EventsConfig(
        nats_url=NATS_URL,
        redis_channel_prefix=f"sigmax:test:{tag}:events",
        nats_stream=f"TEST_EVENTS_{tag}",
        nats_subject_prefix=f"test.{tag}.events",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SIGMAX_REDIS_URL", REDIS_URL)  # the API's WebSocket reads Redis
        patch.setenv("SIGMAX_NATS_URL", NATS_URL)
        patch.setenv("SIGMAX_EVENTS_REDIS_CHANNEL_PREFIX", config.redis_channel_prefix)
        patch.setenv("SIGMAX_EVENTS_NATS_STREAM", config.nats_stream)
        patch.setenv("SIGMAX_EVENTS_NATS_SUBJECT_PREFIX", config.nats_subject_prefix)
        patch.setattr(api_events, "_bus", None)  # this module's channels, not another's
        yield config
    asyncio.run(_drop_stream(config.nats_stream))


async def _drop_stream(stream: str) -> None:
    nc = await nats.connect(NATS_URL, allow_reconnect=False)
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


async def _stored_proposal_events(config: EventsConfig) -> set[tuple[str, str]]:
    """(kind, proposal id) of every event JetStream keeps on the proposals subject."""
    nc = await nats.connect(NATS_URL, allow_reconnect=False)
    found = set()
    try:
        js = nc.jetstream()
        state = (await js.stream_info(config.nats_stream)).state
        for seq in range(state.first_seq, state.last_seq + 1):
            msg = await js.get_msg(config.nats_stream, seq)
            if msg.subject == f"{config.nats_subject_prefix}.proposals" and msg.data:
                data = json.loads(msg.data)["data"]
                found.add((data["kind"], data["id"]))
    finally:
        await nc.close()
    return found


@pytest.fixture(scope="module")
def approval_settings(api_settings: Settings) -> Settings:
    # The graph as it was before roles and turnover control (every analyst votes, no
    # hold time, no budget): it changes its target often enough here for these tests.
    graph = api_settings.graph
    free = graph.turnover.model_copy(update={"min_hold_hours": 0.0, "max_per_year": None})
    voting = graph.arbitrator.model_copy(update={"roles": {}})
    old_graph = graph.model_copy(update={"turnover": free, "arbitrator": voting, "cadence": None})
    return api_settings.model_copy(
        update={
            "trading": ApprovalConfig(mode="approval", proposal_ttl_s=3600),
            "graph": old_graph,
        }
    )


@pytest.fixture(scope="module")
def session(
    ray_cluster: Any, approval_settings: Settings, events_config: EventsConfig
) -> Iterator[Session]:
    sid = f"appr-{uuid.uuid4().hex[:8]}"
    # From bar 18,350 the decision graph changes its target on bars 0, 4, 9, 12, 19...
    request = PaperRequest(start=18_350, bars=60, session_id=sid, persist=True)
    system = start_system(approval_settings.model_copy(update={"events": events_config}), request)
    try:
        yield Session(system, request)
    finally:
        system.shutdown()


@pytest.fixture(scope="module")
def http(session: Session, approval_settings: Settings) -> Iterator[TestClient]:
    config = unique_config(
        session_id=session.request.session_id, rate_general=10_000, rate_trading=200
    )
    with TestClient(create_app(approval_settings, config)) as client:
        yield client


@pytest.fixture(scope="module")
def ws(http: TestClient, make_key: KeyMaker) -> Iterator[Any]:
    key = make_key(["read"], "proposal-watcher")
    with http.websocket_connect(f"/api/v1/ws?token={key}&topics=proposals") as socket:
        assert socket.receive_json()["type"] == "welcome"
        yield socket


@pytest.fixture(scope="module")
def alice(http: TestClient, make_key: KeyMaker) -> SigmaxClient:
    return client_for(http, make_key(["trade"], "alice"))


@pytest.fixture(scope="module")
def bob(http: TestClient, make_key: KeyMaker) -> SigmaxClient:
    return client_for(http, make_key(["trade"], "bob"))


@pytest.fixture(scope="module")
def reader(http: TestClient, make_key: KeyMaker) -> SigmaxClient:
    return client_for(http, make_key(["read"], "reader"))


def _pending(api: SigmaxClient) -> list[dict[str, Any]]:
    return api.proposals(status="pending")


def _step_until(
    session: Session, found: Callable[[], list[Any]], count: int, bars: int = 40
) -> None:
    for _ in range(bars):
        if len(found()) >= count:
            return
        session.step()
    raise AssertionError(f"fewer than {count} proposals after {bars} bars")


def _held(api: SigmaxClient) -> Decimal:
    return Decimal(api.portfolio()["positions"].get(SYMBOL, "0"))


def _signed(order: dict[str, Any]) -> Decimal:
    qty = Decimal(order["qty"])
    return qty if order["side"] == "buy" else -qty


SEEN: dict[str, dict[str, Any]] = {}  # role in this module -> proposal


def test_without_a_session_reads_work_and_decisions_say_why(
    api: TestClient, make_key: KeyMaker
) -> None:
    trader = client_for(api, make_key(["trade"], "no-session-trader"))
    assert trader.proposals() == []
    with pytest.raises(SigmaxAPIError) as unknown:
        trader.proposal("p-1")
    assert unknown.value.status_code == 404 and "'p-1' not found" in unknown.value.detail
    with pytest.raises(SigmaxAPIError) as no_session:
        trader.approve_proposal("p-1")
    assert no_session.value.status_code == 503 and "sigmax up" in no_session.value.detail
    bad = trader.request("GET", "/proposals", params={"status": "done"}, ok=(422,))
    assert bad.status_code == 422
    long_reason = trader.request(
        "POST", "/proposals/p-1/reject", json={"reason": "x" * 501}, ok=(422,)
    )
    assert long_reason.status_code == 422


def test_proposals_appear_instead_of_orders(
    session: Session, ws: Any, reader: SigmaxClient
) -> None:
    session.trading.config.proposal_ttl_s = 0.001  # the first proposal is stale at once
    _step_until(session, reader.proposals, 1)
    SEEN["expired"] = reader.proposals()[0]
    session.trading.config.proposal_ttl_s = None  # the desk's 3600 s from now on
    _step_until(session, lambda: _pending(reader), 3)
    assert reader.orders() == [], "approval mode sends nothing before an operator approves"
    pending = _pending(reader)
    for p in pending:
        assert p["order"]["client_order_id"] == p["id"]
        assert {s["agent"] for s in p["decision"]["signals"]} >= {"momentum", "trend"}
        assert p["decision"]["rationale"]
        assert p["proposed_verdict"]["approved"] is True
        assert reader.proposal(p["id"]) == p
    SEEN["approve"], SEEN["reject"], SEEN["race"] = pending[:3]
    with pytest.raises(SigmaxAPIError) as unknown:
        reader.proposal("no-such-proposal")
    assert unknown.value.status_code == 404
    with pytest.raises(SigmaxAPIError) as read_only:
        reader.approve_proposal(pending[0]["id"])
    assert read_only.value.status_code == 403


def test_approved_proposal_is_rechecked_sent_and_fills(
    session: Session, alice: SigmaxClient
) -> None:
    proposal = SEEN["approve"]
    before = _held(alice)
    answer = alice.approve_proposal(proposal["id"], reason="looks right")
    assert answer["executed_now"] is True
    done = answer["proposal"]
    assert done["status"] == "executed"
    assert done["decided_by"].endswith("(alice)")
    assert done["result"]["verdict"]["approved"] is True
    assert done["result"]["order"]["client_order_id"] == proposal["id"]
    session.step()  # the market order fills at the next bar's open
    fills = alice.fills(client_order_id=proposal["id"])
    assert sum(Decimal(f["qty"]) for f in fills) == Decimal(proposal["order"]["qty"])
    assert alice.order(proposal["id"])["status"] == "filled"
    assert _held(alice) - before == _signed(proposal["order"])
    again = alice.approve_proposal(proposal["id"])  # the same operator twice: same outcome
    assert again["executed_now"] is False and again["proposal"]["status"] == "executed"
    assert len(alice.fills(client_order_id=proposal["id"])) == len(fills)


def test_rejected_proposal_is_never_executed(session: Session, bob: SigmaxClient) -> None:
    proposal = SEEN["reject"]
    rejected = bob.reject_proposal(proposal["id"], reason="too risky today")
    assert rejected["status"] == "rejected" and rejected["reason"] == "too risky today"
    assert rejected["decided_by"].endswith("(bob)")
    with pytest.raises(SigmaxAPIError) as late:
        bob.approve_proposal(proposal["id"])
    assert late.value.status_code == 409 and "rejected" in late.value.detail
    session.step()
    assert proposal["id"] not in {o["client_order_id"] for o in bob.orders()}


def test_expired_proposal_cannot_be_approved(session: Session, alice: SigmaxClient) -> None:
    proposal = SEEN["expired"]
    with pytest.raises(SigmaxAPIError) as expired:
        alice.approve_proposal(proposal["id"])
    assert expired.value.status_code == 409 and "expired" in expired.value.detail
    assert alice.proposal(proposal["id"])["status"] == "expired"
    assert proposal["id"] in {p["id"] for p in alice.proposals(status="expired")}
    assert proposal["id"] not in {o["client_order_id"] for o in alice.orders()}


def test_two_operators_approving_at_once_execute_once(
    session: Session, http: TestClient, make_key: KeyMaker
) -> None:
    proposal = SEEN["race"]
    keys = [make_key(["trade"], f"racer-{i}") for i in range(2)]
    start = threading.Barrier(len(keys))
    answers: list[tuple[int, dict[str, Any]]] = []

    def approve(key: str) -> None:
        api = client_for(http, key)
        start.wait()
        response = api.request("POST", f"/proposals/{proposal['id']}/approve", ok=(409,))
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=approve, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    executed = [a for code, a in answers if code == 200 and a["executed_now"]]
    assert len(executed) == 1, answers
    assert all(code == 409 or not a["executed_now"] for code, a in answers if a not in executed)
    session.step()
    api = client_for(http, keys[0])
    orders = [o for o in api.orders() if o["client_order_id"] == proposal["id"]]
    assert len(orders) == 1
    fills = api.fills(client_order_id=proposal["id"])
    assert sum(Decimal(f["qty"]) for f in fills) == Decimal(proposal["order"]["qty"])


def test_cli_lists_shows_and_rejects(
    session: Session, http: TestClient, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key(["trade"], "cli-operator")
    monkeypatch.setattr(proposals_command, "make_client", lambda url, k: client_for(http, k))
    runner = CliRunner()
    _step_until(session, lambda: _pending(client_for(http, key)), 1)
    pid = _pending(client_for(http, key))[0]["id"]
    listed = runner.invoke(cli, ["proposals", "list", "--status", "pending", "--key", key])
    assert listed.exit_code == 0, listed.output
    assert pid in listed.output
    shown = runner.invoke(cli, ["proposals", "show", pid, "--key", key])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == pid
    rejected = runner.invoke(cli, ["proposals", "reject", pid, "--reason", "cli", "--key", key])
    assert rejected.exit_code == 0 and f"{pid}: rejected: cli" in rejected.output
    refused = runner.invoke(cli, ["proposals", "approve", pid, "--key", key])
    assert refused.exit_code == 1 and "HTTP 409" in refused.output
    assert runner.invoke(cli, ["proposals", "list", "--status", "bogus", "--key", key]).exit_code
    no_key = runner.invoke(cli, ["proposals", "list"], env={"SIGMAX_API_KEY": ""})
    assert no_key.exit_code == 2 and "no API key" in no_key.output


def test_every_step_is_audited_with_the_operator(
    session: Session, approval_settings: Settings
) -> None:
    async def records() -> list[Any]:
        cfg = approval_settings.postgres.model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(cfg) as pool:
            return await ProposalRepository(pool).audit_records(session.request.account)

    found = asyncio.run(records())
    assert verify_chain(found) == len(found)
    by_kind: dict[str, set[str]] = {}
    for r in found:
        by_kind.setdefault(r.kind, set()).add(r.payload["proposal_id"])
    assert SEEN["approve"]["id"] in by_kind["proposal.executed"]
    assert SEEN["race"]["id"] in by_kind["proposal.executed"]
    assert SEEN["reject"]["id"] in by_kind["proposal.rejected"]
    assert SEEN["expired"]["id"] in by_kind["proposal.expired"]
    approvals = [r for r in found if r.kind == "proposal.approved"]
    assert sum(r.payload["proposal_id"] == SEEN["race"]["id"] for r in approvals) == 1
    assert any(r.payload["by"].endswith("(alice)") for r in approvals)


def test_websocket_and_nats_streamed_the_proposal_events(
    session: Session, ws: Any, events_config: EventsConfig
) -> None:
    ray.get(session.system.proposals.close.remote())  # flush its queued events
    wanted = {
        ("proposal.created", SEEN["approve"]["id"]),
        ("proposal.executed", SEEN["approve"]["id"]),
        ("proposal.rejected", SEEN["reject"]["id"]),
        ("proposal.expired", SEEN["expired"]["id"]),
        ("proposal.approved", SEEN["race"]["id"]),
    }
    seen: set[tuple[str, str]] = set()
    for _ in range(1000):  # every proposal event of the module, and keepalive pings
        if wanted <= seen:
            break
        message = ws.receive_json()
        if message["type"] != "event":
            continue
        assert message["topic"] == "proposals"
        assert message["session_id"] == session.request.session_id
        seen.add((message["data"]["kind"], message["data"]["id"]))
    assert wanted <= seen
    assert wanted <= asyncio.run(_stored_proposal_events(events_config))
