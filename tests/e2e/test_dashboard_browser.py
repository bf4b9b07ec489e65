"""The web dashboard end to end: Debian's Chromium, driven by Playwright (Node), against
the API on a real port serving a paper session that trades through the actors while the
browser watches. The script (dashboard.mjs) logs in with a real key, sees live fills
arrive, pauses and resumes trading, visits every screen and saves a screenshot of each to
reports/e2e/."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import ray
from fastapi.testclient import TestClient

from actors.options import NAMESPACE
from actors.system import PaperRequest, TradingSystem, run_paper, start_system
from serve_app._private import events as api_events
from serve_app._private.static import web_dist
from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.events import EventsConfig
from sigmax.storage.clickhouse_config import ClickHouseConfig
from tests.e2e.live_api import serving
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SCRIPT = Path(__file__).with_name("dashboard.mjs")
CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = ROOT / "reports" / "e2e"
SCREENS = ("overview", "decisions", "agents", "orders", "risk", "backtests", "quantum")
SETUP_HINT = "run `make setup` (it builds web/ and installs Debian's chromium)"


def _require_tools() -> None:
    """Fail (never skip) with how to fix it when the browser or the build is missing."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (Debian packages chromium, chromium-driver)")
    if not (web_dist() / "index.html").is_file():
        missing.append(f"{web_dist() / 'index.html'} (the dashboard build)")
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        missing.append(f"{WEB / 'node_modules' / 'playwright-core'}")
    if missing:
        pytest.fail(f"the browser test needs {', '.join(missing)}: {SETUP_HINT}")


@dataclass
class PaperSession:
    session_id: str
    go: threading.Event  # set: the replay starts (the actors are up before)


@pytest.fixture
def paper_session(
    ray_cluster: Any, api_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[PaperSession]:
    """A paper session's actors, replaying 6 bars/s once ``go`` is set (so fills happen
    while the browser watches), its events on this test's own Redis channels and its
    curve in its own embedded time-series store; stopped when the test ends."""
    monkeypatch.setenv("SIGMAX_REDIS_URL", str(api_settings.redis.url))
    monkeypatch.setenv("SIGMAX_EVENTS_REDIS_CHANNEL_PREFIX", f"sigmax:test:{uuid.uuid4().hex}")
    monkeypatch.setattr(api_events, "_bus", None)
    # the events section read now, with this test's channel prefix: the session
    # publishes where the API (which reads the environment) subscribes
    settings = api_settings.model_copy(
        update={
            "clickhouse": ClickHouseConfig(data_dir=tmp_path / "clickhouse"),
            "events": EventsConfig(),
            # deciding every bar: each decision shows every agent, fills come while the
            # browser watches (the 4h default would decide every fourth bar)
            "graph": api_settings.graph.model_copy(update={"cadence": None}),
        }
    )
    session = PaperSession(f"web-{uuid.uuid4().hex[:8]}", threading.Event())
    request = PaperRequest(
        start=16_100, bars=900, session_id=session.session_id, persist=True, speed=6.0
    )
    system = start_system(settings, request)
    stop = threading.Event()
    failures: list[BaseException] = []

    def trade(trading: TradingSystem) -> None:
        try:
            if session.go.wait(timeout=600) and not stop.is_set():
                run_paper(trading, request, should_stop=stop.is_set)
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    replay = threading.Thread(target=trade, args=(system,), name="e2e-paper")
    replay.start()
    try:
        yield session
    finally:
        stop.set()
        session.go.set()
        replay.join(timeout=120)
        system.shutdown()
    assert not failures, f"the paper session failed: {failures[0]!r}"


@pytest.fixture
def quantum_result(ray_cluster: Any, api_settings: Settings, make_key: KeyMaker) -> Iterator[None]:
    """A QAOA optimisation through the API, so the Quantum screen has a circuit. Run
    before the session starts: on 2 busy cores the job actors could take minutes."""
    headers = {"Authorization": f"Bearer {make_key(['trade'], 'e2e-optimiser')}"}
    body = {"assets": ["BTC", "ETH", "LTC", "XRP"], "budget": 2, "solver": "qaoa"}
    config = unique_config(actor_timeout_s=120)
    try:
        with TestClient(create_app(api_settings, config)) as http:
            job = http.post("/api/v1/jobs/optimize", json=body, headers=headers)
            assert job.status_code == 202, job.text
            url = f"/api/v1/jobs/{job.json()['job_id']}"
            deadline = time.monotonic() + 300
            while (status := http.get(url, headers=headers).json())["status"] == "running":
                assert time.monotonic() < deadline, "the optimisation did not finish in 300 s"
                time.sleep(1)
            assert status["status"] == "succeeded", status
        yield
    finally:
        # The optimiser actor is detached (it serves the API); remove this test's one.
        with contextlib.suppress(ValueError):
            ray.kill(ray.get_actor("optimiser", namespace=NAMESPACE))


def _drive_browser(env: dict[str, str], session: PaperSession) -> tuple[int, str]:
    """Run dashboard.mjs; start the replay when it reports the overview loaded. Returns
    its exit status and output."""
    browser = subprocess.Popen(
        ["node", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: list[str] = []

    def pump() -> None:
        assert browser.stdout is not None
        for line in browser.stdout:
            lines.append(line)
            if "overview loaded" in line:
                session.go.set()

    reader = threading.Thread(target=pump, name="e2e-browser-output")
    reader.start()
    try:
        code = browser.wait(timeout=540)
    except subprocess.TimeoutExpired:
        browser.kill()
        code = browser.wait()
    reader.join(timeout=10)
    return code, "".join(lines)


def test_dashboard_shows_a_live_paper_session(
    quantum_result: None, paper_session: PaperSession, api_settings: Settings, make_key: KeyMaker
) -> None:
    _require_tools()
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    key = make_key(["admin"], "dashboard-e2e")
    # The browser polls several routes per screen (the default 100/min could throttle
    # it), and on 2 busy cores a first actor call (the job board) can take over 10 s.
    config = unique_config(
        session_id=paper_session.session_id,
        rate_general=1000,
        rate_trading=100,
        actor_timeout_s=60,
    )
    with serving(create_app(api_settings, config)) as base:
        assert "SIGMAX" in httpx.get(base, timeout=30).text
        env = {
            **os.environ,
            "DASHBOARD_URL": f"{base}/",
            "API_KEY": key,
            "ARTEFACTS": str(ARTEFACTS),
            "CHROMIUM": str(CHROMIUM),
            "WEB_DIR": str(WEB),
        }
        code, output = _drive_browser(env, paper_session)
        print(output)  # the script's step log, shown with -s or on failure
        headers = {"Authorization": f"Bearer {key}"}
        curve = httpx.get(f"{base}/api/v1/dashboard/equity", headers=headers, timeout=60).json()
    assert code == 0, f"browser script failed:\n{output[-6000:]}"
    assert "kill switch released, resumed" in output
    for screen in SCREENS:
        picture = ARTEFACTS / f"{screen}.png"
        assert picture.is_file(), f"no screenshot of {screen}:\n{output[-3000:]}"
        data = picture.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 30_000, f"{picture} looks empty"
    # The store gets the curve in batches of 250 bars; the last point is the live mark.
    assert curve["points"][-1]["equity"] == curve["last"] > 0, curve
    assert curve["drawdown"] == pytest.approx(curve["last"] / curve["peak"] - 1), curve
