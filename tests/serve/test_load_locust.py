"""The load test's short version: locust (its own process, headless) runs
tests/load/locustfile.py against the API on Ray Serve serving a real paper session.

Asserted: no 5xx and no failure locust saw (unexpected statuses, malformed 429s), and
the trading limit exact per key: each trader key, sending orders faster than the
limit for less than one window, had exactly ``limit`` accepted and every other one
refused with 429. Timings are not asserted (docs/PERFORMANCE.md has them)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from actors.system import PaperRequest, TradingSystem, run_paper, start_system
from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LOCUST = Path(sys.executable).with_name("locust")
RATE_TRADING = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def session(ray_cluster: Any, api_settings: Settings) -> Iterator[PaperRequest]:
    request = PaperRequest(  # sma_cross: the API reads the same books, with 4 actors not 10
        start=6_050,
        bars=30,
        session_id=f"load-{uuid.uuid4().hex[:8]}",
        persist=True,
        strategy="sma_cross",
        params={"fast": "2", "slow": "5", "size": "0.05"},
    )
    trading: TradingSystem = start_system(api_settings, request)
    try:
        done: list[int] = []

        def enough() -> bool:
            done.append(1)
            return len(done) >= 5

        assert len(run_paper(trading, request, should_stop=enough)) == 5
        yield request
    finally:
        trading.shutdown()


@pytest.fixture(scope="module")
def served(session: PaperRequest, api_settings: Settings) -> Iterator[str]:
    from ray import serve

    from serve_app.api import SigmaxAPI

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    config = unique_config(session_id=session.session_id, rate_trading=RATE_TRADING)
    deployment = SigmaxAPI.options(  # type: ignore[attr-defined]
        num_replicas=1, autoscaling_config=None, graceful_shutdown_wait_loop_s=0.5
    )  # its replica ends 0.5 s, not 2 s, after its last request at the teardown
    app = deployment.bind(api_settings.model_dump_json(), config.model_dump_json())
    try:
        serve.run(app, name="sigmax-load-test", route_prefix="/", blocking=False)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/versions", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Serve did not come up within 120 s"
            time.sleep(0.5)
        yield url
    finally:
        serve.shutdown()  # the next module starts Serve on a port of its own


def test_locust_mix_has_no_server_errors_and_exact_trading_limits(
    served: str, make_key: KeyMaker, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "SIGMAX_LOAD_ADMIN_KEY": make_key(["admin"], "load-admin"),
        "SIGMAX_LOAD_REPORT": str(report),
        "SIGMAX_LOAD_RATE_TRADING": str(RATE_TRADING),
        "SIGMAX_LOAD_ORDER_EVERY_S": "0.5",  # faster than the limit: 429s must come
        "SIGMAX_LOAD_KEY_PREFIX": f"ci-{uuid.uuid4().hex[:6]}",
    }
    argv = [str(LOCUST), "-f", str(ROOT / "tests/load/locustfile.py"), "--host", served]
    argv += ["--headless", "--users", "10", "--spawn-rate", "10", "--run-time", "8s"]
    argv += ["--only-summary", "--stop-timeout", "2", "--loglevel", "WARNING"]
    done = subprocess.run(  # noqa: S603 - fixed argv
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, output  # locust exits 1 on any failure it counted
    seen = json.loads(report.read_text())
    statuses = {(endpoint, code) for endpoint, codes in seen["statuses"].items() for code in codes}
    assert statuses, output
    assert not [s for s in statuses if s[1].startswith("5")], seen["statuses"]
    assert {"status", "order"} <= {endpoint for endpoint, _ in statuses}, seen["statuses"]
    traders = [k for k in seen["keys"].values() if k["class"] == "trading"]
    assert traders, seen
    for counts in traders:
        assert counts["last"] - counts["first"] < 60  # all inside one window
        assert counts["accepted"] == min(counts["sent"], RATE_TRADING), counts
        assert counts["refused"] == counts["sent"] - counts["accepted"], counts
    assert any(k["refused"] > 0 for k in traders), traders
    assert seen["websocket"].get("welcome", 0) >= 1, seen["websocket"]  # subscribers got in
