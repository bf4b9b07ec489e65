"""A PostgreSQL outage pauses a paper session; it resumes when the database is back.

The session's actors reach the shared PostgreSQL through a TCP proxy in this test;
cutting the proxy (every connection closed, new ones refused) is a real outage for
them while the server itself, shared with other tests, keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import ray

from actors.db_outage import Backoff, DatabaseOutageError, database_error
from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.model import Side
from sigmax.proposals.config import ApprovalConfig
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.risk.state import DATABASE_UNAVAILABLE, TradingState
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.postgres import DatabaseUnavailableError, close_pools, get_pool
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.repos.orders import FillRepository, OrderRepository
from sigmax.trading.session import BarReport

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage" / "pg"))
from pg_fixtures import ADMIN_DSN, drop_schema, make_config, new_schema  # noqa: E402

UPSTREAM = ("127.0.0.1", 5432)
OUTAGE_S = 10.0


class PostgresProxy:
    """A TCP proxy to PostgreSQL that can be cut: ``cut()`` closes every connection
    and stops listening (new ones are refused), ``restore()`` listens again."""

    def __init__(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def dsn(self) -> str:
        return ADMIN_DSN.replace("127.0.0.1:5432", f"127.0.0.1:{self.port}")

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        for conn in conns:
            _close(conn)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut: the listener closed
                return
            try:
                upstream = socket.create_connection(UPSTREAM, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(upstream)
                    continue
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    _close(src)
    _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    name = new_schema()
    try:
        yield name
    finally:
        drop_schema(name)


def _settings(proxy: PostgresProxy, schema: str, tmp_path: Path, outage_s: float) -> Settings:
    return Settings(
        postgres=make_config(schema, dsn=proxy.dsn),
        clickhouse=ClickHouseConfig(data_dir=tmp_path / "ch"),
        trading=ApprovalConfig(database_outage_s=outage_s),
    )


def _request(bars: int) -> PaperRequest:
    return PaperRequest(
        start=6_050,
        bars=bars,
        session_id=f"dbout-{uuid.uuid4().hex[:8]}",
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )


async def _stored(config: PostgresConfig, account: str) -> tuple[list[Any], list[Any]]:
    pool = await get_pool(config)
    try:
        orders = await OrderRepository(pool).for_account(account)
        fills = await FillRepository(pool).for_account(account)
        return orders, fills
    finally:
        await close_pools()


class _Watch:
    """Polls the risk actor's status in a thread while the proxy is cut."""

    def __init__(self, risk: Any) -> None:
        self.risk = risk
        self.seen: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self.done.is_set():
            try:
                self.seen.append(ray.get(self.risk.status.remote(), timeout=5))
            except Exception as exc:  # a restarting actor: keep polling
                self.seen.append({"error": repr(exc)})
            time.sleep(0.3)


@pytest.mark.slow
def test_outage_pauses_and_resumes(ray_cluster, schema: str, tmp_path: Path) -> None:
    proxy = PostgresProxy()
    request = _request(bars=24)
    system = start_system(_settings(proxy, schema, tmp_path, 60.0), request)
    watch = _Watch(system.risk)
    cut_at: list[float] = []
    restorer: list[threading.Timer] = []

    def outage(report: BarReport, remaining: int | None) -> None:
        if not cut_at and report.fills:  # mid-session, after the first fill
            proxy.cut()
            cut_at.append(time.monotonic())
            watch.thread.start()
            timer = threading.Timer(OUTAGE_S, proxy.restore)
            timer.start()
            restorer.append(timer)

    try:
        reports = run_paper(system, request, outage)
        watch.done.set()
        status = ray.get(system.risk.status.remote())
        last = Decimal(repr(float(system.last_step["BTC/USD"].close[-1])))  # type: ignore[index]
        book = ray.get(system.portfolio.summary.remote({"BTC/USD": last}))
        controls = ray.get(system.risk.audit_records.remote("control"))
    finally:
        watch.done.set()
        for timer in restorer:
            timer.cancel()
        system.shutdown()
        proxy.cut()

    assert cut_at, "no fill: the outage was never started"
    paused = [s for s in watch.seen if s.get("cause") == "database_unavailable"]
    assert paused, f"never paused for the outage: {watch.seen[:5]}"
    assert paused[0]["state"] == "paused" and "database unavailable" in paused[0]["reason"]
    assert status["state"] == "running" and status["cause"] is None  # the pause was lifted

    # every bar traded exactly once, in order, through the outage
    assert len(reports) == request.bars
    assert len({r.ts for r in reports}) == len(reports)
    assert [r.ts for r in reports] == sorted(r.ts for r in reports)
    outages = [c for c in controls if c["payload"]["action"] == "database_outage"]
    assert len(outages) == 1 and outages[0]["payload"]["details"]["seconds"] >= OUTAGE_S - 1

    orders, fills = asyncio.run(_stored(make_config(schema), request.account))
    sent = [
        r.order.client_order_id
        for r in reports
        if r.order is not None and r.verdict is not None and r.verdict.approved
    ]
    assert len(sent) >= 2, "sma_cross should trade around the outage"
    ids = [o.client_order_id for o in orders]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sent)  # none lost or doubled
    handed = [f.fill_id for r in reports for f in r.fills]
    assert len(handed) == len(set(handed)) and sorted(handed) == sorted(f.fill_id for f in fills)
    position = sum((f.qty if f.side is Side.BUY else -f.qty for f in fills), start=Decimal(0))
    assert Decimal(book["positions"].get("BTC/USD", "0")) == position
    assert book["fills"] == len(fills)


@pytest.mark.slow
def test_outage_past_the_limit_ends_the_session(ray_cluster, schema: str, tmp_path: Path) -> None:
    proxy = PostgresProxy()
    request = _request(bars=12)
    system = start_system(_settings(proxy, schema, tmp_path, 3.0), request)
    cut: list[float] = []

    def outage(report: BarReport, remaining: int | None) -> None:
        if not cut:
            proxy.cut()  # and never restored
            cut.append(time.monotonic())

    try:
        with pytest.raises(DatabaseOutageError) as raised:
            run_paper(system, request, outage)
        waited = time.monotonic() - cut[0]
        status = ray.get(system.risk.status.remote())
    finally:
        system.shutdown()
        proxy.cut()
    message = str(raised.value)
    assert "PostgreSQL unavailable" in message and "database_outage_s=3s" in message
    assert request.session_id in message
    # waited the limit, not the default 300 s (loose: a loaded machine is slow)
    assert 3.0 <= waited < 120, waited
    assert status["state"] == "paused" and status["cause"] == "database_unavailable"


def test_backoff_doubles_up_to_its_cap_and_refuses_bad_settings() -> None:
    delays = Backoff(first_s=0.5, factor=2.0, cap_s=3.0).delays()
    assert [next(delays) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    with pytest.raises(ValueError, match="first_s"):
        Backoff(first_s=5.0, cap_s=1.0)


def test_a_database_error_is_found_behind_the_error_that_carries_it() -> None:
    error = DatabaseUnavailableError("postgres at x unavailable")
    try:
        try:
            raise error
        except DatabaseUnavailableError as exc:
            raise RuntimeError("an actor call failed") from exc
    except RuntimeError as wrapped:
        assert database_error(wrapped) is error
    assert database_error(ValueError("not the database")) is None


def test_the_outage_pause_is_lifted_only_when_it_is_the_one_holding() -> None:
    engine = RiskEngine(RiskConfig())
    assert engine.database_unavailable("database unavailable since now")
    assert engine.pause_cause == DATABASE_UNAVAILABLE
    assert engine.database_back() and engine.state is TradingState.RUNNING

    engine.pause("operator pause", operator="ops")  # an operator's pause stays
    assert not engine.database_unavailable("database unavailable")
    assert engine.pause_cause == "manual" and not engine.database_back()
    assert engine.state is TradingState.PAUSED
    with pytest.raises(ValueError, match="reason"):
        RiskEngine(RiskConfig()).database_unavailable("")


def test_every_test_named_in_the_fault_list_exists() -> None:
    """docs/FAULTS.md names tests as `path::name`; each must exist under tests/."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "FAULTS.md").read_text(encoding="utf-8")
    named = 0
    for line in text.splitlines():
        path = None
        for ref in re.findall(r"`([\w/]*\.py)?::(\w+)`", line):
            path = ref[0] or path
            assert path is not None, f"docs/FAULTS.md: {ref[1]} without a file: {line}"
            source = (root / "tests" / path).read_text(encoding="utf-8")
            assert re.search(rf"def {ref[1]}\(", source), f"{path}::{ref[1]} not found"
            named += 1
    assert named >= 15
