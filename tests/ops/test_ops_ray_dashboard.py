"""The Ray dashboard of a local `sigmax up` session: its actors by name, SIGMAX's metrics
through Ray's metrics agent, and a clear stop when the dashboard's port is taken."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from sigmax.cli.paper_command import _require_free_port

SESSION_ACTORS = {"risk:up", "execution:up", "portfolio:up", "decision-graph:up", "market-data:up"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return str(response.read().decode())


def _until(what: str, probe: Callable[[], Any], timeout_s: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except OSError as exc:  # not serving yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: not seen in {timeout_s}s (last: {str(last)[:2000]})")


def _find_key(doc: Any, key: str) -> Any:
    """The first value of ``key`` anywhere in a JSON document."""
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        doc = list(doc.values())
    if isinstance(doc, list):
        for item in doc:
            found = _find_key(item, key)
            if found is not None:
                return found
    return None


@pytest.fixture
def up_session(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """`sigmax up` (no API) in its own process and local Ray, dashboard on a free port."""
    port = _free_port()
    env = {
        **os.environ,
        "SIGMAX_HOME": str(tmp_path / "home"),
        "RAY_AUTH_MODE": "disabled",
        "RAY_ADDRESS": "",
        # Ray's metrics agent exports what the workers report every 10 s by default:
        # every 2 s here, so the SIGMAX series show up sooner (the same series either way)
        "RAY_metrics_report_interval_ms": "2000",
    }
    env.pop("SIGMAX_POSTGRES_DSN", None)  # the session's own embedded PostgreSQL
    sigmax = Path(sys.executable).parent / "sigmax"
    command = [str(sigmax), "up", "--no-api", "--speed", "5", "--num-cpus", "2"]
    process = subprocess.Popen(
        [*command, "--dashboard-port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield port, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _alive_actor_names(port: int) -> set[str]:
    doc = json.loads(_get(f"http://127.0.0.1:{port}/api/v0/actors?limit=1000"))
    return {a["name"] for a in doc["data"]["result"]["result"] if a["state"] == "ALIVE"}


# What the session's actor processes export through Ray: series and the actor label.
EXPECTED_SERIES = {
    ("ray_sigmax_pool_size", "risk:up"),  # each actor's PostgreSQL pool
    ("ray_sigmax_pool_size", "execution:up"),
    ("ray_sigmax_trading_orders", "execution:up"),
    ("ray_sigmax_trading_fills", "execution:up"),
    ("ray_sigmax_decision_seconds_count", "decision-graph:up"),
}


def _sigmax_series(metrics_port: int) -> set[tuple[str, str]] | None:
    """(series, actor label) of the SIGMAX series on Ray's metrics port, once all the
    expected ones are there."""
    text = _get(f"http://127.0.0.1:{metrics_port}/metrics")
    found = {
        (line.split("{")[0], line.split('actor="')[1].split('"')[0])
        for line in text.splitlines()
        if line.startswith("ray_sigmax_") and 'actor="' in line
    }
    return found if found >= EXPECTED_SERIES else None


@pytest.mark.slow
def test_the_dashboard_shows_the_sessions_actors_and_sigmax_metrics(
    up_session: tuple[int, subprocess.Popen[str]],
) -> None:
    port, process = up_session

    def session_actors() -> set[str] | None:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        names = _alive_actor_names(port)
        return names if names >= SESSION_ACTORS else None

    started = time.monotonic()
    names = _until("the session's actors in /api/v0/actors", session_actors)
    actors_s = time.monotonic() - started
    assert any(n.startswith("agent:up:") for n in names), names
    nodes = json.loads(_get(f"http://127.0.0.1:{port}/nodes?view=summary"))
    metrics_port = _find_key(nodes, "metricsExportPort")
    assert metrics_port, nodes
    _until("SIGMAX metrics on Ray's metrics port", lambda: _sigmax_series(metrics_port))
    print(f"actors up {actors_s:.1f}s, metrics {time.monotonic() - started - actors_s:.1f}s later")


def test_a_taken_dashboard_port_stops_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(typer.Exit):
            _require_free_port(port)
    said = " ".join(capsys.readouterr().out.split())
    assert f"port {port}" in said and "--dashboard-port" in said and "--no-dashboard" in said


def test_every_sigmax_panel_reads_the_api_or_rays_metrics_agent() -> None:
    """A panel of SIGMAX's metrics charts them scraped from the API (sigmax_*) or from
    Ray's metrics agent (ray_sigmax_*), whichever Prometheus has."""
    root = Path(__file__).resolve().parents[2] / "cluster" / "grafana" / "dashboards"
    exprs = [
        target["expr"]
        for path in root.glob("*.json")
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]
    for expr in (e for e in exprs if "sigmax_" in e):
        direct, _, through_ray = expr.partition(" or ")
        assert through_ray == direct.replace("sigmax_", "ray_sigmax_"), expr


def test_an_api_jobs_task_is_named_by_kind_id_and_what_it_runs_on() -> None:
    from actors.jobs import task_name

    params = {"strategy": "sma_cross", "data": "bundled:BTC-USD-1h", "fast": 5}
    assert task_name("backtest", "ab12", params) == (
        "backtest:ab12 strategy=sma_cross data=bundled:BTC-USD-1h"
    )
    assert task_name("train", "cd34", {}) == "train:cd34"
