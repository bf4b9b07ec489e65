"""Redis away under a running paper session: trading goes on, events fall back.

The session's events go to Redis through a TCP proxy (tests/actors/tcp_proxy.py) that
the test cuts for a few bars and restores; the shared Redis keeps running. Trading state
lives in PostgreSQL, so the session must not notice beyond its event bus's health.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import ray

from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.events import EventsConfig
from sigmax.events.bus import EventsHealth
from sigmax.model import Side
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.redis_config import RedisConfig
from sigmax.trading.session import BarReport
from tests.actors.stored_books import make_config, stored
from tests.actors.tcp_proxy import TcpProxy

DOWN_BARS = 6  # bars traded while Redis is away


@pytest.mark.slow
def test_a_session_trades_on_through_a_redis_outage(
    ray_cluster: Any, schema: str, tmp_path: Path
) -> None:
    proxy = TcpProxy(("127.0.0.1", 6379))
    redis = RedisConfig(
        url=f"redis://127.0.0.1:{proxy.port}/0",
        connect_timeout_s=0.5,
        socket_timeout_s=0.5,
        retry_redis_after_s=0.2,
    )
    settings = Settings(
        postgres=make_config(schema),
        clickhouse=ClickHouseConfig(data_dir=tmp_path / "ch"),
        redis=redis,
        events=EventsConfig(redis_channel_prefix=f"test-{uuid.uuid4().hex[:8]}"),
    )
    request = PaperRequest(
        start=6_050,
        bars=24,
        session_id=f"redisout-{uuid.uuid4().hex[:8]}",
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )
    system = start_system(settings, request)
    publisher = system.publisher
    assert publisher is not None
    cut_at: list[int] = []
    during: list[EventsHealth] = []
    bars: list[BarReport] = []

    def outage(report: BarReport, remaining: int | None) -> None:
        bars.append(report)
        if not cut_at and report.fills:  # mid-session, after the first fill
            assert publisher.flush(30)  # what was published so far reached Redis
            proxy.cut()
            cut_at.append(len(bars))
        elif cut_at and len(bars) == cut_at[0] + DOWN_BARS:
            assert publisher.flush(30)  # sent: to Redis or, while it is away, in-process
            during.append(publisher.health())
            proxy.restore()

    try:
        reports = run_paper(system, request, outage)
        status = ray.get(system.risk.status.remote())
        last = Decimal(repr(float(system.last_step["BTC/USD"].close[-1])))  # type: ignore[index]
        book = ray.get(system.portfolio.summary.remote({"BTC/USD": last}))
        after = _back_on_redis(publisher)
    finally:
        system.shutdown()
        proxy.cut()

    assert cut_at and during, "no fill: Redis was never cut"
    # while Redis was away: events delivered in this process, and health said so
    assert during[0].fallback_active and during[0].status == "degraded"
    assert during[0].reason is not None and "redis" in during[0].reason.lower()
    assert during[0].details["fallback_deliveries"] > 0 and during[0].failed == 0
    # back on Redis afterwards; no event failed to send
    assert not after.fallback_active and after.failed == 0
    assert proxy.accepted >= 2  # it reconnected through the restored proxy

    # trading went on: every bar once, not paused, every order and fill stored once
    assert status["state"] == "running" and status["cause"] is None
    assert len(reports) == request.bars
    assert [r.ts for r in reports] == sorted({r.ts for r in reports})
    orders, fills = stored(make_config(schema), request.account)
    sent = [
        r.order.client_order_id
        for r in reports
        if r.order is not None and r.verdict is not None and r.verdict.approved
    ]
    cut_ts = reports[cut_at[0] - 1].ts
    assert any(r.ts > cut_ts for r in reports if r.order is not None), "no order after the cut"
    ids = [o.client_order_id for o in orders]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sent)
    handed = [f.fill_id for r in reports for f in r.fills]
    assert len(handed) == len(set(handed)) and sorted(handed) == sorted(f.fill_id for f in fills)
    position = sum((f.qty if f.side is Side.BUY else -f.qty for f in fills), start=Decimal(0))
    assert Decimal(book["positions"].get("BTC/USD", "0")) == position


def _back_on_redis(publisher: Any, wait_s: float = 60.0) -> EventsHealth:
    """The publisher's health once an event went to Redis again (it retries Redis at
    most every retry_redis_after_s, on the next event): publishes a probe event until
    the fallback ends, or gives up after ``wait_s`` and returns the last health."""
    from sigmax.events.model import make_event

    deadline = time.monotonic() + wait_s
    while True:
        publisher.publish(make_event("status", "redis-probe", {"state": "probe"}))
        publisher.flush(30)
        health: EventsHealth = publisher.health()
        if not health.fallback_active or time.monotonic() > deadline:
            return health
        time.sleep(0.3)
