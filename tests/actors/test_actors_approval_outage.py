"""An approval-mode session through a PostgreSQL outage: the session pauses and resumes,
its proposals are stored once, and the proposal desk actor (not restarted by the outage
guard: it keeps no state, every proposal is in PostgreSQL) executes one approved after
the outage exactly once.

The session reaches the shared PostgreSQL through a TCP proxy (tests/actors/tcp_proxy.py)
that the test cuts: every connection closed, new ones refused, the server untouched.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import ray

from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.proposals import ProposalStatus
from sigmax.proposals.config import ApprovalConfig
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.trading.session import BarReport
from tests.actors.stored_books import make_config, proxied, stored_proposals
from tests.actors.tcp_proxy import TcpProxy

OUTAGE_S = 3.0  # after the session paused for it
MAX_OUTAGE_S = 60.0


@pytest.mark.slow
def test_approval_session_survives_an_outage_and_approves_after_it(
    ray_cluster: Any, schema: str, tmp_path: Path
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    settings = Settings(
        postgres=proxied(schema, proxy.port),
        clickhouse=ClickHouseConfig(data_dir=tmp_path / "ch"),
        trading=ApprovalConfig(mode="approval", database_outage_s=60.0),
    )
    request = PaperRequest(
        start=6_050,
        bars=16,
        session_id=f"apout-{uuid.uuid4().hex[:8]}",
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )
    system = start_system(settings, request)
    cut: list[BarReport] = []
    paused: list[dict[str, Any]] = []
    done = threading.Event()

    def restore_once_paused() -> None:
        """Keep the database away until the session has paused for it (a short timed
        outage can pass unseen while the actors are busy), then a few seconds more."""
        deadline = time.monotonic() + MAX_OUTAGE_S
        while not done.is_set() and time.monotonic() < deadline:
            try:
                status = ray.get(system.risk.status.remote(), timeout=5)
            except Exception:  # noqa: S112  (a restarting actor: ask again)
                continue
            if status.get("cause") == "database_unavailable":
                paused.append(status)
                break
            time.sleep(0.2)
        done.wait(OUTAGE_S)
        proxy.restore()

    def outage(report: BarReport, remaining: int | None) -> None:
        if not cut and report.order is not None:  # after the first proposal
            proxy.cut()
            cut.append(report)
            threading.Thread(target=restore_once_paused, daemon=True).start()

    try:
        reports = run_paper(system, request, outage)
        proposed = [r.order.client_order_id for r in reports if r.order is not None]
        assert cut and len(proposed) >= 2, "sma_cross should propose around the outage"
        # the desk answers after the outage: approve the last proposal, then again
        last = proposed[-1]
        first = ray.get(system.proposals.approve.remote(last, "ops"), timeout=120)
        again = ray.get(system.proposals.approve.remote(last, "ops"), timeout=120)
        controls = ray.get(system.risk.audit_records.remote("control"))
    finally:
        done.set()
        system.shutdown()
        proxy.cut()

    assert paused and paused[0]["state"] == "paused", "the session never paused for the outage"
    assert len(reports) == request.bars
    assert [c["payload"]["action"] for c in controls].count("database_outage") == 1
    assert first.executed_now and first.proposal.status is ProposalStatus.EXECUTED
    assert not again.executed_now and again.proposal.status is ProposalStatus.EXECUTED

    proposals, orders = stored_proposals(make_config(schema), request.account)
    ids = [p.id for p in proposals]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(proposed)  # none lost or doubled
    assert [o.client_order_id for o in orders] == [last]  # only the approved one was sent
