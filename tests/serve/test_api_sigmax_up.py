"""`sigmax up` end to end: actors trading, the API deployed on Serve beside them, a key
from `sigmax keys create` working against it, and a clean stop on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, up: subprocess.Popen[str], timeout_s: float = 240) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert up.poll() is None, f"sigmax up exited early: {up.returncode}"
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code in (200, 503):
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


@pytest.mark.slow
def test_sigmax_up_serves_the_api_for_its_session(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SIGMAX_HOME": str(tmp_path / "home"), "RAY_AUTH_MODE": "disabled"}
    # the stop only: Serve's replicas and proxies drain 30 s by default before they end
    # (serve.shutdown then gives up waiting on its controller after 30 s)
    env["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] = "1"
    env["RAY_SERVE_PROXY_MIN_DRAINING_PERIOD_S"] = "1"
    for var in ("SIGMAX_POSTGRES_DSN", "RAY_ADDRESS", "SIGMAX_REDIS_URL"):
        env.pop(var, None)
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [str(BIN / "sigmax"), "up", "--start", "6050", "--speed", "20", "--num-cpus", "2",
         "--api-port", str(port), "--no-dashboard"],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        health = _wait_for(f"{base}/health", up)
        assert health.json()["stores"]["postgres"]["status"] == "up", health.text
        made = subprocess.run(
            [str(BIN / "sigmax"), "keys", "create", "--scope", "read,trade", "--name", "up-e2e"],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        key = next(line.split()[1] for line in made.stdout.splitlines() if line.startswith("key:"))
        headers = {"Authorization": f"Bearer {key}"}
        deadline = time.monotonic() + 120
        status: dict = {}
        while time.monotonic() < deadline and not status.get("session_running"):
            status = httpx.get(f"{base}/status", headers=headers, timeout=10).json()
            time.sleep(0.5)
        assert status["session_running"] and status["session_id"] == "up", status
        assert httpx.get(f"{base}/status").status_code == 401
        decisions: list = []
        decided: list = []  # the graph decides where a 4h window closes, holds in between
        while time.monotonic() < deadline and not decided:
            decisions = httpx.get(f"{base}/decisions", headers=headers, timeout=10).json()
            decided = [d for d in decisions if d["signals"]]
            time.sleep(0.5)
        assert decided and len(decided[0]["signals"]) == 5, decisions
    finally:
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(timeout=120)
        except subprocess.TimeoutExpired:
            up.kill()
            code = up.wait()
        log.close()
    output = (tmp_path / "up.log").read_text()
    assert code == 0, output[-3000:]
