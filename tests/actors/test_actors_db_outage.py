"""A PostgreSQL outage longer than the configured limit ends a paper session; the
outage guard's parts (backoff, finding the database error, lifting only its own pause).

The session's actors reach the shared PostgreSQL through a TCP proxy (``tcp_proxy``);
cutting it is a real outage for them while the server, shared with other tests, keeps
running. An outage the session rides out is in ``test_actors_pg_restart.py`` (a server
the test owns, stopped 30 s) and ``test_actors_approval_outage.py`` (the proxy cut).
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
import ray

from actors.db_outage import Backoff, DatabaseOutageError, database_error
from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.proposals.config import ApprovalConfig
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.risk.state import DATABASE_UNAVAILABLE, TradingState
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.postgres import DatabaseUnavailableError
from sigmax.trading.session import BarReport
from tests.actors.stored_books import proxied
from tests.actors.tcp_proxy import TcpProxy

UPSTREAM = ("127.0.0.1", 5432)


def _settings(proxy: TcpProxy, schema: str, tmp_path: Path, outage_s: float) -> Settings:
    return Settings(
        postgres=proxied(schema, proxy.port),
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


@pytest.mark.slow
def test_outage_past_the_limit_ends_the_session(ray_cluster, schema: str, tmp_path: Path) -> None:
    proxy = TcpProxy(UPSTREAM)
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
