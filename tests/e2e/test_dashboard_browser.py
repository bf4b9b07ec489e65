"""The web dashboard end to end: Debian's Chromium, driven by Playwright (Node), against
the API on a real port. The script (dashboard.mjs) logs in with a real key, starts a paper
portfolio session of three symbols in approval mode from the Sessions screen (its loop runs
in its detached session actor, as ``POST /api/v1/sessions`` starts it), approves a
proposal and sees its fill arrive live, pauses and resumes trading, creates a key, revokes
it and sees it refused, reads the audit trail with its chain verified, visits every screen
and saves a screenshot of each to reports/e2e/."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import ray
from fastapi.testclient import TestClient

from actors import options
from actors.options import NAMESPACE
from actors.registry import SessionNotRunning, find
from actors.session import end_session
from serve_app._private import events as api_events
from serve_app._private.static import web_dist
from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.events import EventsConfig
from sigmax.proposals import ApprovalConfig
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.clickhouse_config import ClickHouseConfig
from tests.e2e.live_api import serving
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SCRIPT = Path(__file__).with_name("dashboard.mjs")
CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = ROOT / "reports" / "e2e"
SCREENS = (
    "overview",
    "portfolio",
    "symbol",
    "sessions",
    "approvals",
    "decisions",
    "agents",
    "orders",
    "risk",
    "backtests",
    "quantum",
    "keys",
    "audit",
    "limits",
)
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


@pytest.fixture
def session_settings(
    ray_cluster: Any, api_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[str, Settings]]:
    """The id the browser starts its session under and the settings the API (and so the
    session it starts) runs with: approval mode, every bar decided by every analyst with
    no hold time (its targets change often enough to propose while the browser watches),
    events on this test's own Redis channels, its curve in its own time-series store.
    The session's actors are ended when the test ends."""
    monkeypatch.setenv("SIGMAX_REDIS_URL", str(api_settings.redis.url))
    monkeypatch.setenv("SIGMAX_EVENTS_REDIS_CHANNEL_PREFIX", f"sigmax:test:{uuid.uuid4().hex}")
    monkeypatch.setattr(api_events, "_bus", None)
    graph = api_settings.graph
    free = graph.turnover.model_copy(update={"min_hold_hours": 0.0, "max_per_year": None})
    voting = graph.arbitrator.model_copy(update={"roles": {}})
    settings = api_settings.model_copy(
        update={
            "clickhouse": ClickHouseConfig(data_dir=tmp_path / "clickhouse"),
            "events": EventsConfig(),  # read now, with this test's channel prefix
            "graph": graph.model_copy(
                update={"turnover": free, "arbitrator": voting, "cadence": None}
            ),
            "trading": ApprovalConfig(mode="approval", proposal_ttl_s=3600),
            # exchange credentials the browser adds are encrypted with this test's key
            "vault": SecretsConfig(local_key_file=tmp_path / "credentials.key"),
        }
    )
    session_id = f"web-{uuid.uuid4().hex[:8]}"
    try:
        yield session_id, settings
    finally:
        with contextlib.suppress(SessionNotRunning):  # stopped from the browser already
            end_session(find(options.SESSION, session_id))


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


def _drive_browser(env: dict[str, str]) -> tuple[int, str]:
    """Run dashboard.mjs; its exit status and output."""
    try:
        done = subprocess.run(
            ["node", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=540, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode()
        return 124, out
    return done.returncode, done.stdout


def test_dashboard_drives_a_paper_portfolio_session(
    quantum_result: None,
    session_settings: tuple[str, Settings],
    make_key: KeyMaker,
) -> None:
    _require_tools()
    session_id, settings = session_settings
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    key = make_key(["admin"], "dashboard-e2e")
    # The browser polls several routes per screen (the default 100/min could throttle
    # it), and on 2 busy cores a first actor call (the job board) can take over 10 s.
    config = unique_config(
        session_id=session_id,
        rate_general=1000,
        rate_trading=100,
        actor_timeout_s=60,
        session_cache_s=1.0,
    )
    with serving(create_app(settings, config)) as base:
        assert "SIGMAX" in httpx.get(base, timeout=30).text
        env = {
            **os.environ,
            "DASHBOARD_URL": f"{base}/",
            "API_KEY": key,
            "SESSION_ID": session_id,
            "ARTEFACTS": str(ARTEFACTS),
            "CHROMIUM": str(CHROMIUM),
            "WEB_DIR": str(WEB),
        }
        code, output = _drive_browser(env)
        print(output)  # the script's step log, shown with -s or on failure
        headers = {"Authorization": f"Bearer {key}"}
        proposals = httpx.get(f"{base}/api/v1/proposals", headers=headers, timeout=60).json()
        audit = httpx.get(f"{base}/api/v1/audit", headers=headers, timeout=60).json()
    assert code == 0, f"browser script failed:\n{output[-6000:]}"
    for step in (
        "started from the Sessions screen",
        "proposal approved and executed",
        "revoked key refused",
        "credential added, secrets not shown, removed",
        "kill switch released, resumed",
        "audit chain verified",
    ):
        assert step in output, f"missing step {step!r}:\n{output[-3000:]}"
    for screen in SCREENS:
        picture = ARTEFACTS / f"{screen}.png"
        assert picture.is_file(), f"no screenshot of {screen}:\n{output[-3000:]}"
        data = picture.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 30_000, f"{picture} looks empty"
    assert {p["symbol"] for p in proposals} <= {"ETH/USD", "LTC/USD", "XRP/USD"}
    assert any(p["status"] == "executed" and p["decided_by"] for p in proposals), proposals
    assert audit["verified"] is True and audit["total"] > 0, audit
