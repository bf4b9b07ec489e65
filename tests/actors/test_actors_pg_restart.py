"""PostgreSQL stopped for 30 s and started again under a running paper session.

The session runs on a PostgreSQL server this test owns (the embedded server, on its own
data directory and unix socket), so stopping it is a real restart: the server closes
every connection (admin shutdown), new ones find no socket, and the restarted server
serves what it had committed. The shared server on 127.0.0.1:5432 is not touched.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import ray

from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.model import Side
from sigmax.proposals.config import ApprovalConfig
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.embedded_postgres import EmbeddedPostgres
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.trading.session import BarReport
from tests.actors.stored_books import stored

DOWN_S = 30.0  # the server stays down at least this long (issue 18: a 30 s outage)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test only, stopped afterwards."""
    embedded = EmbeddedPostgres(tmp_path / "pgdata")
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.owned = True  # the test stopped and started it again
        embedded.stop()


@pytest.mark.slow
def test_a_session_pauses_through_a_30s_server_restart_and_goes_on(
    ray_cluster: Any, server: EmbeddedPostgres, tmp_path: Path
) -> None:
    config = PostgresConfig(dsn=server.dsn, pool_size=2, max_overflow=2, pool_timeout=10.0)
    settings = Settings(
        postgres=config,
        clickhouse=ClickHouseConfig(data_dir=tmp_path / "ch"),
        trading=ApprovalConfig(database_outage_s=180.0),
    )
    request = PaperRequest(
        start=6_050,
        bars=24,
        session_id=f"pgrestart-{uuid.uuid4().hex[:8]}",
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )
    system = start_system(settings, request)
    stopped_at: list[float] = []
    seen: list[dict[str, Any]] = []
    done = threading.Event()
    restarter: list[threading.Thread] = []

    def restart_later() -> None:
        """Watch risk while the server is down; start it again DOWN_S after the session
        paused for it (the outage it records began before that pause)."""
        paused_at: float | None = None
        while not done.is_set():
            try:
                seen.append(ray.get(system.risk.status.remote(), timeout=5))
            except Exception as exc:  # a restarting actor: ask again
                seen.append({"error": repr(exc)})
            if paused_at is None and seen[-1].get("cause") == "database_unavailable":
                paused_at = time.monotonic()
            if paused_at is not None and time.monotonic() - paused_at >= DOWN_S:
                break
            time.sleep(0.5)
        server.start()

    def outage(report: BarReport, remaining: int | None) -> None:
        if not stopped_at and report.fills:  # mid-session, after the first fill
            server.stop()  # fast shutdown: every session connection is closed
            assert not server.is_running()
            stopped_at.append(time.monotonic())
            restarter.append(threading.Thread(target=restart_later, daemon=True))
            restarter[0].start()

    try:
        reports = run_paper(system, request, outage)
        status = ray.get(system.risk.status.remote())
        last = Decimal(repr(float(system.last_step["BTC/USD"].close[-1])))  # type: ignore[index]
        book = ray.get(system.portfolio.summary.remote({"BTC/USD": last}))
        controls = ray.get(system.risk.audit_records.remote("control"))
    finally:
        done.set()
        for thread in restarter:
            thread.join(timeout=120)
        system.shutdown()

    assert stopped_at, "no fill: the server was never stopped"
    paused = [s for s in seen if s.get("cause") == "database_unavailable"]
    assert paused and paused[0]["state"] == "paused", seen[:5]
    assert "database unavailable" in paused[0]["reason"]
    assert status["state"] == "running" and status["cause"] is None  # the pause was lifted

    # every bar traded once, in order, across the restart
    assert len(reports) == request.bars
    assert [r.ts for r in reports] == sorted({r.ts for r in reports})
    outages = [c for c in controls if c["payload"]["action"] == "database_outage"]
    assert len(outages) == 1 and outages[0]["payload"]["details"]["seconds"] >= DOWN_S

    # what the restarted server holds: every order sent, once; every fill booked, once
    orders, fills = stored(config, request.account)
    sent = [
        r.order.client_order_id
        for r in reports
        if r.order is not None and r.verdict is not None and r.verdict.approved
    ]
    assert len(sent) >= 2, "sma_cross should trade around the restart"
    ids = [o.client_order_id for o in orders]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sent)
    handed = [f.fill_id for r in reports for f in r.fills]
    assert len(handed) == len(set(handed)) and sorted(handed) == sorted(f.fill_id for f in fills)
    position = sum((f.qty if f.side is Side.BUY else -f.qty for f in fills), start=Decimal(0))
    assert Decimal(book["positions"].get("BTC/USD", "0")) == position
    assert book["fills"] == len(fills)
